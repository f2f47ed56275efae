package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/export"
	"github.com/connvault/connvault/retention"
	"github.com/connvault/connvault/settings"
	"github.com/connvault/connvault/storage"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "back up a tenant's connectors into a .tar.zst archive",
		ArgsUsage: " ",
		Description: "Lists the tenant's connectors (RELEASED ones: the API lists no others; name the rest with\n" +
			"--script-name), fetches each one's detail, XML documents and translations, and writes them to an\n" +
			"archive atomically: a failed or interrupted run leaves no file behind.",
		Flags: withGlobals(
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the archive to `FILE` (.tar.zst) or object URL (s3://bucket/prefix/NAME.tar.zst, gs://, azblob://)"},
			&cli.StringFlag{Name: "output-dir", Aliases: []string{"d"}, Usage: "write the archive into `DIR` or bucket URL (s3://bucket/prefix, gs://, azblob://) as <tenant>-connectors-<UTC time>.tar.zst (default: the current directory)"},
			&cli.StringFlag{Name: "filters", Usage: "the API's filter expression for the list, e.g. 'type sw \"custom \"'"},
			&cli.StringSliceFlag{Name: "script-name", Usage: "also export this connector by scriptName (repeatable): the list hides DEVELOPMENT and DEMO ones"},
			&cli.BoolFlag{Name: "no-list", Usage: "export only the --script-name connectors, without listing"},
			&cli.StringFlag{Name: "locales", Usage: "comma-separated locales to fetch translations for, or 'all' (default: the locales each connector has)"},
			&cli.BoolFlag{Name: "keep-going", Usage: "on a failed connector, record it and go on; the archive is marked partial and the exit code is 3"},
			&cli.BoolFlag{Name: "if-changed", Usage: "with --output-dir: write nothing when the content equals the newest archive of this tenant there"},
			&cli.BoolFlag{Name: "wait", Usage: "with --output-dir: wait for another run holding the directory lock instead of failing"},
			&cli.BoolFlag{Name: "json", Usage: "print the summary as JSON on stdout"},
			&cli.BoolFlag{Name: "from-detail", Usage: "fetch each connector's detail and source template only, and take source-config, correlation-config and translations from the detail (about 2 requests per connector instead of 7; `connvault doctor` tells whether that is equivalent on your tenant)"},
			&cli.BoolFlag{Name: "force", Usage: "with --output FILE: replace FILE if it exists (only a regular file, never a link, device or pipe)"},
		),
		Action: runExport,
	}
}

// exportSummary is the one-line summary on stderr and the --json document.
type exportSummary struct {
	Archive       string            `json:"archive,omitempty"`
	Written       bool              `json:"written"`
	Unchanged     bool              `json:"unchanged,omitempty"`
	Tenant        string            `json:"tenant"`
	Connectors    int               `json:"connectors"`
	Documents     int               `json:"documents"`
	Bytes         int64             `json:"bytes"`
	ArchiveSize   int64             `json:"archiveSize"`
	ContentDigest string            `json:"contentDigest"`
	APIVersion    string            `json:"apiVersion"`
	Fetch         string            `json:"fetch"`
	OtherSources  int               `json:"otherSources,omitempty"` // documents not from their own route in apiVersion (manifest documentSources)
	Seconds       float64           `json:"seconds"`
	Requests      int64             `json:"requests"`
	Retries       int64             `json:"retries"`
	RateLimited   int64             `json:"rateLimited"`
	Partial       bool              `json:"partial"`
	Skipped       []archive.Skipped `json:"skipped,omitempty"`
	// Settings says where each setting came from (never a secret's value).
	Settings []settings.Setting `json:"settings,omitempty"`
}

func runExport(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("export takes no arguments (got %q): use --output FILE or --output-dir DIR", c.Args().First())
	}
	s, err := newSession(c)
	if err != nil {
		return err
	}
	out, dir := c.String("output"), c.String("output-dir")
	if out != "" && dir != "" {
		return usagef("--output and --output-dir exclude each other: give one")
	}
	if c.Bool("if-changed") && out != "" {
		return usagef("--if-changed needs --output-dir: it compares with the newest archive in that directory")
	}
	if out == "" && dir == "" {
		dir = "."
	}
	var locales []string
	if l := strings.TrimSpace(c.String("locales")); l != "" {
		for _, x := range strings.Split(l, ",") {
			if x = strings.TrimSpace(x); x != "" {
				locales = append(locales, x)
			}
		}
	}
	if c.Bool("no-list") && len(c.StringSlice("script-name")) == 0 {
		return usagef("--no-list needs at least one --script-name")
	}
	if err := checkOutputFile(out, c.Bool("force")); err != nil {
		return err
	}

	ctx := c.Context
	t, err := connect(ctx, c, s)
	if err != nil {
		return err
	}
	defer t.close()

	start := time.Now()
	now := utcNow()
	if p, ok := storage.Local(out); ok {
		out = p // a file:// URL's path
	}
	// dst is nil for a plain --output file; otherwise it names the object
	// or the free name in the (locked) directory.
	var dst *archiveDest
	switch {
	case storage.IsBucket(out):
		if dst, err = objectDest(ctx, out); err != nil {
			return fmt.Errorf("--output: %w", err)
		}
	case dir != "":
		if dst, err = openDirDest(ctx, "--output-dir", dir, t.name, now, c.Bool("wait")); err != nil {
			return err
		}
	}
	var bucket *storage.Location
	var objName string
	if dst != nil {
		defer dst.release()
		out, bucket, objName = dst.path, dst.bucket, dst.name
	}

	meta := archive.Meta{
		ToolVersion: version,
		CreatedAt:   now,
		Source:      archive.Source{BaseURL: t.client.BaseURL(), APIVersion: t.client.APIVersion()},
		Selection: archive.Selection{
			Filters:     c.String("filters"),
			ScriptNames: c.StringSlice("script-name"),
			Locales:     locales,
		},
	}
	if t.name == "sandbox" {
		// The in-process sandbox listens on a new port each run; a stable
		// source keeps archives of it comparable.
		meta.Source.BaseURL = "sandbox"
	}

	var previous *archive.Manifest
	if c.Bool("if-changed") {
		previous, err = newestManifestAt(ctx, dir, t.name)
		if err != nil {
			return err
		}
	}

	w, err := createArchive(ctx, bucket, out, meta)
	if err != nil {
		return err
	}
	defer w.Abort() // no-op after a successful Close

	bar := newProgress(s, "exporting", t.client.Stats)
	res, err := export.Run(ctx, t.client, export.Options{
		Filters:      c.String("filters"),
		ScriptNames:  c.StringSlice("script-name"),
		ListDisabled: c.Bool("no-list"),
		Locales:      locales,
		Concurrency:  s.concurrency,
		KeepGoing:    c.Bool("keep-going"),
		FromDetail:   c.Bool("from-detail"),
		Logger:       s.log,
		Progress:     bar.update,
	}, func(conn *archive.Connector) error { return w.Add(ctx, conn) })
	bar.finish()
	if err != nil {
		_ = w.Abort()
		if ctx.Err() != nil {
			s.log.Warn("interrupted: no archive written")
			return ctx.Err()
		}
		return fmt.Errorf("export failed, no archive written: %w", err)
	}
	if res.Partial() {
		w.SetPartial(res.Skipped)
	} else {
		w.SetSkipped(res.Skipped)
	}
	// Under --api-version auto the layout is known once a request went out.
	meta.Source.APIVersion = t.client.APIVersion()
	w.SetSource(meta.Source)
	w.SetFetch(res.Fetch, res.Sources)

	sum := exportSummary{
		Tenant:     t.name,
		Connectors: res.Connectors,
		Documents:  res.Documents,
		Bytes:      res.Bytes,
		Partial:    res.Partial(),
		Skipped:    res.Skipped,
		Settings:   t.settings.Public(),
		APIVersion: meta.Source.APIVersion,
		Fetch:      res.Fetch,

		OtherSources: len(res.Sources),
	}
	var m *archive.Manifest
	if previous != nil && !res.Partial() && w.Digest() == previous.ContentDigest {
		err = w.Abort()
		sum.Unchanged = true
		sum.ContentDigest = previous.ContentDigest
	} else {
		m, err = closeArchive(ctx, w, bucket, objName)
	}
	switch {
	case sum.Unchanged:
	case err != nil:
		if ctx.Err() != nil {
			s.log.Warn("interrupted: no archive written")
			return ctx.Err()
		}
		return fmt.Errorf("writing %s: %w", out, err)
	default:
		sum.Archive = out
		sum.Written = true
		sum.ContentDigest = m.ContentDigest
		sum.ArchiveSize = w.Size()
	}
	st := t.client.Stats()
	sum.Seconds = time.Since(start).Seconds()
	sum.Requests, sum.Retries, sum.RateLimited = st.Requests, st.Retries, st.RateLimited

	for _, sk := range res.Skipped {
		s.log.Warn("not in the archive", "scriptName", sk.ScriptName, "reason", sk.Reason)
	}
	if sum.Unchanged {
		s.log.Info(fmt.Sprintf("unchanged since %s: no archive written (%d connectors, digest %s)", previous.CreatedAt.Format(time.RFC3339), sum.Connectors, short(sum.ContentDigest)))
	} else {
		s.log.Info(fmt.Sprintf("wrote %s: %d connectors, %d documents, %s in %s archive, digest %s, %.1fs, %d requests, %d retries, %d rate-limited",
			out, sum.Connectors, sum.Documents, humanBytes(sum.Bytes), humanBytes(sum.ArchiveSize), short(sum.ContentDigest),
			sum.Seconds, sum.Requests, sum.Retries, sum.RateLimited))
	}
	if c.Bool("json") {
		enc := json.NewEncoder(s.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return err
		}
	}
	if sum.Partial {
		s.log.Warn(fmt.Sprintf("partial archive: %d connectors failed (see above); exit code 3", len(res.Failed)))
		return &quietError{code: exitPartial}
	}
	return nil
}

// freeName picks the archive name for now, moving a second on while the name
// is taken, so two runs in the same second still give two archives.
func freeName(dir, tenant string, now time.Time) string {
	for i := 0; ; i++ {
		p := filepath.Join(dir, retention.FileName(tenant, now.Add(time.Duration(i)*time.Second)))
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			return p
		}
	}
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
