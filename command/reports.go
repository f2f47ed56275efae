package command

import (
	"errors"
	"io"

	"github.com/connvault/connvault/diff"
	"github.com/urfave/cli/v2"
)

// checkReportFormat checks diff's and restore's --format and the flags that
// shape one format only.
func checkReportFormat(c *cli.Context, format string) error {
	switch format {
	case "text", "json", "markdown", "html":
	default:
		return usagef("--format %q: use text, json, markdown or html", format)
	}
	switch {
	case c.Int("max-bytes") < 0:
		return usagef("--max-bytes %d: give a positive size in bytes", c.Int("max-bytes"))
	case c.IsSet("max-bytes") && format != "markdown":
		return usagef("--max-bytes bounds the markdown format, not --format %s", format)
	case (c.Bool("stat") || c.Bool("name-only")) && format != "text":
		return usagef("--stat and --name-only shape the text format, not --format %s", format)
	}
	return nil
}

// writeReport writes a diff or plan report as markdown or html.
func writeReport(w io.Writer, format string, rep *diff.Report, maxBytes int) error {
	if format == "html" {
		return rep.WriteHTML(w)
	}
	rep.MaxBytes = maxBytes
	if err := rep.WriteMarkdown(w); errors.Is(err, diff.ErrMaxBytesTooSmall) {
		return usageError(err)
	} else if err != nil {
		return err
	}
	return nil
}
