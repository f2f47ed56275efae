package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/storage"
	"github.com/connvault/connvault/workflow"
)

// The directory form of a snapshot on the command line (docs/gitops.md):
// export --format dir, pack, unpack, and verify's view of a directory.

// runExportDir is `export --format dir -o DIR`.
func runExportDir(c *cli.Context, s *session) error {
	if f := c.String("format"); f != "dir" {
		return usagef("--format %q: use archive or dir", f)
	}
	o := workflow.ExportDirOptions{
		Dir: c.String("output"), Wait: c.Bool("wait"), NoList: c.Bool("no-list"), KeepGoing: c.Bool("keep-going"), FromDetail: c.Bool("from-detail"),
		Selection: archive.Selection{Filters: c.String("filters"), ScriptNames: c.StringSlice("script-name")},
	}
	switch {
	case o.Dir == "" || o.Dir == "-":
		return usagef("--format dir needs -o DIR, the snapshot directory (created when missing)")
	case c.IsSet("output-dir") || c.Bool("if-changed") || c.Bool("force"):
		return usagef("--format dir writes the one directory -o names; --output-dir, --if-changed and --force are for archives " +
			"(an unchanged tenant changes no file in the directory anyway)")
	case o.NoList && len(o.Selection.ScriptNames) == 0:
		return usagef("--no-list needs at least one --script-name")
	}
	if l := strings.TrimSpace(c.String("locales")); l != "" {
		for _, x := range strings.Split(l, ",") {
			if x = strings.TrimSpace(x); x != "" {
				o.Selection.Locales = append(o.Selection.Locales, x)
			}
		}
	}
	ctx := c.Context
	t, err := connect(ctx, c, s)
	if err != nil {
		return err
	}
	defer t.close()
	o.Tenant = t.Tenant
	sum, err := workflow.ExportDir(ctx, s.env(), o)
	if err != nil {
		return restoreError(s, err) // an interruption's one line says what was and was not done
	}
	for _, sk := range sum.Skipped {
		s.log.Warn("not in the directory", "scriptName", sk.ScriptName, "reason", sk.Reason)
	}
	s.log.Info(fmt.Sprintf("wrote %s: %d connectors, %d documents, %s, digest %s, %.1fs, %d requests, %d retries, %d rate-limited",
		sum.Archive, sum.Connectors, sum.Documents, humanBytes(sum.Bytes), short(sum.ContentDigest), sum.Seconds, sum.Requests, sum.Retries, sum.RateLimited))
	if c.Bool("json") {
		if err := writeJSONWithOrigins(s.stdout, jsonOf(sum), settingsOf(t.settings)); err != nil {
			return err
		}
	}
	if sum.Partial {
		s.log.Warn(fmt.Sprintf("partial export: %d connectors failed (see above; their folders were left as they were); exit code 3", sum.Failed))
		return &quietError{code: exitPartial}
	}
	return nil
}

func packCommand() *cli.Command {
	return &cli.Command{
		Name:      "pack",
		Usage:     "turn a snapshot directory into an archive",
		ArgsUsage: "DIR ARCHIVE",
		Description: "Writes the directory's connectors as they are (edited or not) into a new .tar.zst archive (a file\n" +
			"or an object URL), with the directory's source, selection and skipped connectors. An unedited\n" +
			"directory gives the content digest of the archive it was exported or unpacked from.\n" +
			"Exit codes: 0 written, 1 error (not a snapshot directory, a damaged layout), 2 usage.",
		Action: runPack,
	}
}

func unpackCommand() *cli.Command {
	return &cli.Command{
		Name:      "unpack",
		Usage:     "turn an archive into a snapshot directory",
		ArgsUsage: "ARCHIVE DIR",
		Description: "Checks the archive and writes its connectors into DIR as export --format dir does: only files whose\n" +
			"content differs are written, connectors not in the archive are removed from DIR/connectors, and\n" +
			"nothing outside DIR/connectors and DIR/manifest.json is touched.\n" +
			"Exit codes: 0 written, 1 error (a damaged archive: DIR is left as it was), 2 usage.",
		Action: runUnpack,
	}
}

func runPack(c *cli.Context) error {
	if c.NArg() != 2 {
		return usagef("pack needs a snapshot directory and an archive to write, got %d arguments", c.NArg())
	}
	s, err := newSession(c)
	if err != nil {
		return err
	}
	dir, out := c.Args().Get(0), c.Args().Get(1)
	if p, ok := storage.Local(out); ok {
		if _, err := os.Lstat(p); err == nil {
			return usagef("pack: %s exists; connvault does not replace it: choose a new path", p)
		}
	}
	m, err := workflow.Pack(c.Context, s.env(), dir, out)
	if err != nil {
		return restoreError(s, err)
	}
	s.log.Info(fmt.Sprintf("wrote %s: %d connectors, digest %s", out, m.ConnectorCount, m.ContentDigest))
	return nil
}

func runUnpack(c *cli.Context) error {
	if c.NArg() != 2 {
		return usagef("unpack needs an archive and a directory to write, got %d arguments", c.NArg())
	}
	s, err := newSession(c)
	if err != nil {
		return err
	}
	arg, dir := c.Args().Get(0), c.Args().Get(1)
	if err := archivestore.Exists(c.Context, arg); err != nil {
		return fmt.Errorf("archive %s: %w", arg, err)
	}
	m, err := workflow.Unpack(c.Context, s.env(), arg, dir)
	if err != nil {
		return restoreError(s, err)
	}
	s.log.Info(fmt.Sprintf("wrote %s: %d connectors, digest %s", dir, m.ConnectorCount, m.ContentDigest))
	return nil
}

// verifyDirArg verifies a snapshot directory when arg names one (ok false
// otherwise): a damaged layout is a problem; files changed since the export
// are listed as changes, since editing the directory is what it is for.
func verifyDirArg(arg string) (verifyResult, bool) {
	if !archivestore.IsSnapshotDir(arg) {
		return verifyResult{}, false
	}
	st := archivestore.VerifyDir(arg)
	res := verifyResult{Archive: arg, Changes: st.Changes}
	for _, pr := range st.Problems {
		res.Problems = append(res.Problems, pr.Error())
	}
	res.OK = len(res.Problems) == 0
	if st.Manifest != nil {
		res.Connectors, res.ContentDigest = st.Manifest.ConnectorCount, st.Manifest.ContentDigest
		res.Partial, res.Skipped = st.Manifest.Partial, st.Manifest.Skipped
	}
	return res, true
}

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
	return rep.WriteMarkdown(w)
}
