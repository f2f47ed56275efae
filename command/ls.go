package command

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/connvault/connvault/archivestore"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/internal/termtext"
)

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ls",
		Usage:     "show an archive's manifest and connectors",
		ArgsUsage: "ARCHIVE|DIR",
		Description: "Reads the archive's (or snapshot directory's) manifest and lists its connectors with their documents\n" +
			"and locales. Exit codes: 0 shown, 1 error (not an archive, unreadable), 2 usage (no such archive or directory).",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the manifest and connector list as JSON"},
		},
		Action: runLs,
	}
}

// lsConnector is one row of `ls`.
type lsConnector struct {
	ScriptName   string   `json:"scriptName"`
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	Status       string   `json:"status,omitempty"`
	Documents    []string `json:"documents"`
	Translations []string `json:"translations"`
	Bytes        int64    `json:"bytes"`
}

func runLs(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("ls needs exactly one archive file or snapshot directory")
	}
	path := c.Args().First()
	if err := mustExist(c.Context, path); err != nil {
		return err
	}
	r, size, done, err := archivestore.Open(c.Context, path)
	if err != nil {
		return err
	}
	defer done()
	m := r.Manifest()
	var rows []lsConnector
	for {
		conn, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		rows = append(rows, lsRow(conn))
	}
	out := c.App.Writer
	if c.Bool("json") {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Archive    string            `json:"archive"`
			Manifest   *archive.Manifest `json:"manifest"`
			Connectors []lsConnector     `json:"connectors"`
		}{path, m, rows})
	}
	// Everything below comes from the archive: escaped, so a name holding
	// ESC, CR or NUL prints as text instead of acting on the terminal.
	esc := termtext.Escape
	fmt.Fprintf(out, "archive:     %s (%s)\n", esc(path), humanBytes(size))
	if m.ToolVersion != "" {
		fmt.Fprintf(out, "format:      %s version %d, written by connvault %s\n", esc(m.Format), m.FormatVersion, esc(m.ToolVersion))
	} else { // a snapshot directory records neither the tool nor the time
		fmt.Fprintf(out, "format:      %s version %d, snapshot directory\n", esc(m.Format), m.FormatVersion)
	}
	if !m.CreatedAt.IsZero() {
		fmt.Fprintf(out, "created:     %s\n", m.CreatedAt.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(out, "source:      %s (API %s)\n", esc(m.Source.BaseURL), esc(m.Source.APIVersion))
	if sel := describeSelection(m.Selection); sel != "" {
		fmt.Fprintf(out, "selection:   %s\n", esc(sel))
	}
	fmt.Fprintf(out, "connectors:  %d\n", m.ConnectorCount)
	fmt.Fprintf(out, "digest:      %s\n", esc(m.ContentDigest))
	if m.Partial {
		fmt.Fprintf(out, "PARTIAL:     some connectors failed during export\n")
	}
	for _, s := range m.Skipped {
		fmt.Fprintf(out, "not saved:   %s (%s)\n", esc(s.ScriptName), esc(s.Reason))
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCRIPT NAME\tNAME\tTYPE\tSTATUS\tDOCUMENTS\tTRANSLATIONS\tSIZE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", esc(r.ScriptName), esc(r.Name), esc(r.Type), esc(r.Status),
			orDash(strings.Join(r.Documents, ",")), esc(orDash(strings.Join(r.Translations, ","))), humanBytes(r.Bytes))
	}
	return tw.Flush()
}

func lsRow(c *archive.Connector) lsConnector {
	var d struct {
		Name, Type, Status string
	}
	_ = json.Unmarshal(c.Detail, &d)
	row := lsConnector{ScriptName: c.ScriptName, Name: d.Name, Type: d.Type, Status: d.Status, Documents: []string{}, Translations: []string{}}
	row.Bytes = int64(len(c.Detail))
	for _, doc := range []struct {
		name string
		b    []byte
	}{{"source-config", c.SourceConfig}, {"source-template", c.SourceTemplate}, {"correlation-config", c.CorrelationConfig}} {
		if doc.b != nil {
			row.Documents = append(row.Documents, doc.name)
			row.Bytes += int64(len(doc.b))
		}
	}
	for loc, b := range c.Translations {
		row.Translations = append(row.Translations, loc)
		row.Bytes += int64(len(b))
	}
	slices.Sort(row.Translations)
	return row
}

func describeSelection(s archive.Selection) string {
	var parts []string
	if s.Filters != "" {
		parts = append(parts, "filters "+s.Filters)
	}
	if len(s.ScriptNames) > 0 {
		parts = append(parts, "script names "+strings.Join(s.ScriptNames, ","))
	}
	if len(s.Locales) > 0 {
		parts = append(parts, "locales "+strings.Join(s.Locales, ","))
	}
	return strings.Join(parts, "; ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
