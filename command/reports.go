package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/storage"
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

// provenance says where a report's side came from: for an archive its path,
// when and by which connvault it was made, from which tenant, and its
// content digest; for a snapshot directory its path and digest; for a live
// tenant its name and base URL.
func provenance(ctx context.Context, s *session, op string) string {
	if name, ok := strings.CutPrefix(op, tenantOperand); ok {
		if name != "" {
			if tn, err := s.settings.Lookup(name); err == nil {
				return fmt.Sprintf("tenant %s (%s), read live", name, tn.BaseURL)
			}
			return "tenant " + name + ", read live"
		}
		switch {
		case s.settings.Sandbox:
			return "the built-in sandbox tenant, read live"
		case s.settings.Named != nil:
			return fmt.Sprintf("tenant %s (%s), read live", s.settings.Named.Name, s.settings.BaseURL.Value)
		default:
			return fmt.Sprintf("tenant %s, read live", s.settings.BaseURL.Value)
		}
	}
	m, err := archivestore.ReadManifest(ctx, op)
	if err != nil {
		return op
	}
	what := "archive " + op
	if p, ok := storage.Local(op); ok && archive.IsDir(p) {
		what = "snapshot directory " + op
	}
	var parts []string
	if !m.CreatedAt.IsZero() {
		parts = append(parts, "made "+m.CreatedAt.UTC().Format(time.RFC3339))
	}
	if m.ToolVersion != "" {
		parts = append(parts, "by connvault "+m.ToolVersion)
	}
	if m.Source.BaseURL != "" {
		parts = append(parts, "from "+m.Source.BaseURL)
	}
	parts = append(parts, fmt.Sprintf("%d connectors", m.ConnectorCount), "digest "+m.ContentDigest)
	return what + " (" + strings.Join(parts, ", ") + ")"
}

// madeLine says when and by which connvault a report was made.
func madeLine() string {
	return fmt.Sprintf("Made %s by connvault %s.", utcNow().Format(time.RFC3339), toolVersion())
}
