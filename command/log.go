package command

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/internal/termtext"
	"github.com/connvault/connvault/storage"
	"github.com/connvault/connvault/workflow"
)

func logCommand() *cli.Command {
	return &cli.Command{
		Name:      "log",
		Usage:     "show when each connector or document changed, across a directory or bucket of archives",
		ArgsUsage: "DIR  (a directory of archives or a bucket prefix, as for export -d and prune)",
		Description: "Reads only the manifest of each archive (its first entry: a chunk or two, range reads on a\n" +
			"bucket) and compares each tenant's archives night after night by their entries' SHA-256; prints,\n" +
			"newest first, the archives in which a connector or document changed, appeared or went.\n" +
			"--patch also prints each changed document's diff, reading only the two archives concerned.\n" +
			"Exit codes: 0 shown, 1 error (an archive could not be read), 2 usage.",
		Flags: withGlobals(
			&cli.StringFlag{Name: "connector", Usage: "only the changes of the connector with this `SCRIPTNAME`"},
			&cli.StringFlag{Name: "since", Usage: "only archives made at or after `TIME` (2026-11-01 or 2026-11-01T03:00:00Z)"},
			&cli.BoolFlag{Name: "patch", Aliases: []string{"p"}, Usage: "print the diff of each changed document"},
			&cli.BoolFlag{Name: "json", Usage: "print the history as JSON"},
		),
		Action: runLog,
	}
}

func runLog(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("log needs one directory of archives or bucket prefix, got %d arguments", c.NArg())
	}
	s, err := newSession(c)
	if err != nil {
		return err
	}
	dir := c.Args().First()
	if p, ok := storage.Local(dir); ok {
		if err := mustExist(c.Context, p); err != nil {
			return err
		}
	}
	o := workflow.HistoryOptions{Location: dir, Connector: c.String("connector"), Tenant: s.settings.Tenant.Value}
	if v := c.String("since"); v != "" {
		t, err := parseSince(v)
		if err != nil {
			return usageError(err)
		}
		o.Since = t
	}
	h, err := workflow.ReadHistory(c.Context, o)
	if err != nil {
		return err
	}
	s.log.Debug(fmt.Sprintf("read %d manifests: %d bytes, at most %d per archive", h.Archives, h.BytesRead, h.MaxPerArchive))
	if c.Bool("json") {
		return writeJSON(s.stdout, h)
	}
	return printHistory(c, s.stdout, h, c.Bool("patch"))
}

// parseSince takes a date or an RFC 3339 time, UTC unless it says.
func parseSince(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: give a date (2026-11-01) or a time (2026-11-01T03:00:00Z)", v)
}

func printHistory(c *cli.Context, w io.Writer, h *workflow.History, patch bool) error {
	var b strings.Builder
	for _, th := range h.Tenants {
		if len(th.Changes) == 0 {
			fmt.Fprintf(&b, "%s: no changes\n", th.Tenant)
			continue
		}
		for _, d := range th.Changes {
			fmt.Fprintf(&b, "%s  %s\n", d.Time.UTC().Format("2006-01-02 15:04 UTC"), storage.BaseName(d.Archive))
			var docs map[string][2]string
			if patch {
				var err error
				if docs, err = workflow.DocumentPairs(c.Context, d); err != nil {
					return err
				}
			}
			for _, it := range d.Items {
				what := it.Document
				if what == "" {
					what = "(the connector)"
				}
				fmt.Fprintf(&b, "  %-8s %s  %s\n", it.Change, termtext.Escape(it.Connector), what)
				if pair, ok := docs[it.Connector+"/"+it.Document]; ok {
					p := "connectors/" + it.Connector + "/" + it.Document
					b.WriteString(termtext.EscapeLines(diff.Unified("a/"+p, "b/"+p, pair[0], pair[1])))
				}
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
