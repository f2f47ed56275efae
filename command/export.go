package command

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/storage"
	"github.com/connvault/connvault/workflow"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "back up a tenant's connectors into a .tar.zst archive",
		ArgsUsage: " ",
		Description: "Lists the tenant's connectors (RELEASED ones: the API lists no others; name the rest with\n" +
			"--script-name), fetches each one's detail, XML documents and translations, and writes them to an\n" +
			"archive atomically: a failed or interrupted run leaves no file behind.\n" +
			"Exit codes: 0 written (or unchanged with --if-changed), 1 error (no archive written; a --script-name\n" +
			"the tenant lacks included), 2 usage, 3 partial (--keep-going: some connectors failed, the archive\n" +
			"is marked partial), 130 interrupted.",
		Flags: withGlobals(
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the archive to `FILE` (.tar.zst; a new file unless --force), object URL (s3://bucket/prefix/NAME.tar.zst, gs://, azblob://), or - for stdout"},
			&cli.StringFlag{Name: "output-dir", Aliases: []string{"d"}, Usage: "write the archive into `DIR` (which must exist) or bucket URL (s3://bucket/prefix, gs://, azblob://) as <tenant>-connectors-<UTC time>.tar.zst (default: the current directory)"},
			&cli.StringFlag{Name: "filters", Usage: "the API's filter expression for the list, e.g. 'type sw \"custom \" or type sw \"custom_\"' (the custom connectors)"},
			&cli.StringSliceFlag{Name: "script-name", Usage: "also export this connector by scriptName (repeatable): the list hides DEVELOPMENT and DEMO ones"},
			&cli.BoolFlag{Name: "no-list", Usage: "export only the --script-name connectors, without listing"},
			&cli.StringFlag{Name: "locales", Usage: "comma-separated locales to fetch translations for, or 'all' (default: the locales each connector has)"},
			&cli.BoolFlag{Name: "keep-going", Usage: "on a failed connector, record it and go on; the archive is marked partial and the exit code is 3"},
			&cli.BoolFlag{Name: "if-changed", Usage: "with --output-dir: write nothing when the content equals the newest archive of this tenant there"},
			&cli.BoolFlag{Name: "wait", Usage: "with --output-dir: wait for another run holding the directory lock instead of failing"},
			&cli.BoolFlag{Name: "json", Usage: "print the summary as JSON on stdout"},
			&cli.StringSliceFlag{Name: "tenants", Usage: "export these named tenants in one run, concurrently, each with its own rate budget (`NAME,...`, repeatable)"},
			&cli.BoolFlag{Name: "all-tenants", Usage: "export every tenant of the tenants file in one run (see --tenants-matching)"},
			&cli.StringFlag{Name: "tenants-matching", Usage: "with --all-tenants: only the tenants whose name matches `GLOB` (e.g. 'acme-*')"},
			&cli.IntFlag{Name: "max-tenants", Usage: "export at most `N` tenants at once (default 32 per CPU, at least 16)"},
			&cli.BoolFlag{Name: "allow-empty", Usage: "write an export of no connectors even where the newest snapshot at the destination had some (otherwise an error: a token that lost its rights lists nothing)"},
			&cli.BoolFlag{Name: "from-detail", Usage: "fetch each connector's detail and source template only, and take source-config, correlation-config and translations from the detail (about 2 requests per connector instead of 7; connvault doctor tells whether that is equivalent on your tenant)"},
			&cli.BoolFlag{Name: "force", Usage: "with --output FILE: replace FILE if it exists (only a regular file, never a link, device or pipe)"},
			&cli.StringFlag{Name: "format", Value: "archive", Usage: "archive (a .tar.zst) or dir (a snapshot directory for Git, with -o DIR: docs/gitops.md)"},
		),
		Action: runExport,
	}
}

// exportOptions turns export's flags into the workflow's Options.
func exportOptions(c *cli.Context) (workflow.ExportOptions, error) {
	o := workflow.ExportOptions{
		Output: c.String("output"), Dir: c.String("output-dir"), Wait: c.Bool("wait"), Force: c.Bool("force"),
		NoList: c.Bool("no-list"), KeepGoing: c.Bool("keep-going"), IfChanged: c.Bool("if-changed"), FromDetail: c.Bool("from-detail"), AllowEmpty: c.Bool("allow-empty"),
		Selection: archive.Selection{Filters: c.String("filters"), ScriptNames: c.StringSlice("script-name")},
	}
	if o.Output != "" && o.Dir != "" {
		return o, usagef("--output and --output-dir exclude each other: give one")
	}
	if o.IfChanged && o.Output != "" {
		return o, usagef("--if-changed needs --output-dir: it compares with the newest archive in that directory")
	}
	if o.Output == "" && o.Dir == "" {
		o.Dir = "."
	}
	if p, ok := storage.Local(o.Output); ok && o.Output != "-" && o.Output != "" {
		if err := archivestore.MustExist("the directory of --output", filepath.Dir(p)); err != nil {
			return o, usageError(err)
		}
	}
	if l := strings.TrimSpace(c.String("locales")); l != "" {
		for _, x := range strings.Split(l, ",") {
			if x = strings.TrimSpace(x); x != "" {
				o.Selection.Locales = append(o.Selection.Locales, x)
			}
		}
	}
	if o.NoList && len(o.Selection.ScriptNames) == 0 {
		return o, usagef("--no-list needs at least one --script-name")
	}
	if o.Output == "-" && c.Bool("json") {
		return o, usagef("--output - and --json both want stdout: write the archive to a file, or drop --json")
	}
	if c.IsSet("output-dir") {
		if err := archivestore.MustExist("--output-dir", o.Dir); err != nil {
			return o, usageError(err)
		}
	}
	return o, checkOutputFile(o.Output, c.Bool("force"))
}

func runExport(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("export takes no arguments (got %q): use --output FILE or --output-dir DIR", c.Args().First())
	}
	s, err := newSession(c)
	if err != nil {
		return err
	}
	if c.String("format") != "archive" {
		return runExportDir(c, s)
	}
	opts, err := exportOptions(c)
	if err != nil {
		return err
	}
	if c.Bool("all-tenants") || len(c.StringSlice("tenants")) > 0 {
		return runFleetExport(c, s, opts)
	}
	ctx := c.Context
	t, err := connect(ctx, c, s)
	if err != nil {
		return err
	}
	defer t.close()
	opts.Tenant, opts.Stdout = t.Tenant, s.stdout

	sum, err := workflow.Export(ctx, s.env(), opts)
	if err != nil {
		return err // an interruption's one line says what was and was not done
	}
	for _, sk := range sum.Skipped {
		s.log.Warn("not in the archive", "scriptName", sk.ScriptName, "reason", sk.Reason)
	}
	if sum.Unchanged {
		s.log.Info(fmt.Sprintf("unchanged since %s: no archive written (%d connectors, digest %s)", sum.Previous.CreatedAt.Format(time.RFC3339), sum.Connectors, short(sum.ContentDigest)))
	} else {
		where := sum.Archive
		if where == "-" {
			where = "the archive to stdout"
		}
		s.log.Info(fmt.Sprintf("wrote %s: %d connectors, %d documents, %s in %s archive, digest %s, %.1fs, %d requests, %d retries, %d rate-limited",
			where, sum.Connectors, sum.Documents, humanBytes(sum.Bytes), humanBytes(sum.ArchiveSize), short(sum.ContentDigest),
			sum.Seconds, sum.Requests, sum.Retries, sum.RateLimited))
	}
	if c.Bool("json") {
		if err := writeJSONWithOrigins(s.stdout, jsonOf(sum), settingsOf(t.settings)); err != nil {
			return err
		}
	}
	if sum.Partial {
		msg := fmt.Sprintf("partial archive: %d connectors failed (see above); exit code 3", sum.Failed)
		s.log.Warn(msg)
		return &quietError{code: exitPartial, msg: msg}
	}
	return nil
}

func short(digest string) string {
	if i := strings.IndexByte(digest, ':'); i >= 0 && len(digest) > i+13 {
		return digest[:i+13]
	}
	return digest
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// checkOutputFile refuses to replace a file by surprise: an --output FILE
// that exists needs --force, and even then only a regular file is replaced,
// never a symlink (its target would be the file replaced), a device or a
// pipe. Buckets and "-" (stdout) are not files here.
func checkOutputFile(out string, force bool) error {
	p, ok := storage.Local(out)
	if !ok || out == "" || out == "-" {
		return nil
	}
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return usagef("--output %s: %w", p, err)
	case !fi.Mode().IsRegular():
		return usagef("--output %s exists and is not a regular file (%s): connvault never replaces it; choose another path", p, fileKind(fi.Mode()))
	case !force:
		return usagef("--output %s exists: choose a new path, use --output-dir for dated names, or add --force to replace it", p)
	}
	return nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}

// runExportDir is `export --format dir -o DIR`.
func runExportDir(c *cli.Context, s *session) error {
	if f := c.String("format"); f != "dir" {
		return usagef("--format %q: use archive or dir", f)
	}
	o := workflow.ExportDirOptions{
		Dir: c.String("output"), Wait: c.Bool("wait"), NoList: c.Bool("no-list"), KeepGoing: c.Bool("keep-going"), FromDetail: c.Bool("from-detail"), AllowEmpty: c.Bool("allow-empty"),
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
