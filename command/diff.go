package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/internal/termtext"
)

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "compare two archives, or an archive with the live tenant; or any number of them side by side",
		ArgsUsage: "A B [C...]   (each an archive file, a snapshot directory, tenant: for the configured tenant, or tenant:NAME for a named one)",
		Description: "Shows what would change to turn A into B: connectors added, removed and changed, with unified\n" +
			"diffs of the changed documents. With three or more operands (connvault diff tenant:dev tenant:test\n" +
			"tenant:prod), a matrix: per connector and document, which operands agree and which differ, read\n" +
			"concurrently; --details adds the diffs against the first operand.\n" +
			"Exit code: 0 same (all equal), 1 different, 2 error (like diff(1)).",
		Flags: withGlobals(
			&cli.StringFlag{Name: "match", Value: diff.MatchName, Usage: "pair connectors by name or scriptName"},
			&cli.StringSliceFlag{Name: "map", Usage: "pair A's connector OLD with B's NEW (repeatable): `OLD=NEW`"},
			&cli.StringFlag{Name: "map-file", Usage: "read OLD=NEW pairs from `FILE` (one per line, # comments)"},
			&cli.StringSliceFlag{Name: "ignore", Usage: "also ignore this detail `FIELD` (repeatable)"},
			&cli.BoolFlag{Name: "ignore-whitespace", Usage: "compare XML with whitespace runs normalised"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, json, markdown (a pull-request comment) or html (one self-contained page)"},
			&cli.IntFlag{Name: "max-bytes", Usage: "with --format markdown: keep the report under `N` bytes, leaving out diffs that do not fit (a GitHub comment holds 65536)"},
			&cli.BoolFlag{Name: "stat", Usage: "print the summary table only"},
			&cli.BoolFlag{Name: "name-only", Usage: "print only the names of the connectors that differ"},
			&cli.StringFlag{Name: "color", Value: "auto", Usage: "auto (on a terminal), always or never"},
			&cli.BoolFlag{Name: "details", Usage: "with three or more operands: add each operand's diff against the first"},
		),
		Action: func(c *cli.Context) error {
			err := runDiff(c)
			var q *quietError
			if err == nil || errors.As(err, &q) || c.Context.Err() != nil {
				return err
			}
			// diff(1) convention: trouble is 2, whatever the kind.
			return &exitErr{code: 2, err: err}
		},
	}
}

// mappingFromFlags reads --map and --map-file (shared with restore).
func mappingFromFlags(c *cli.Context) (map[string]string, error) {
	m, err := diff.ParseMapFlags(c.StringSlice("map"))
	if err != nil {
		return nil, usageError(err)
	}
	if path := c.String("map-file"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usagef("--map-file: %w", err)
		}
		defer f.Close()
		fm, err := diff.ParseMappingFile(f, path)
		if err != nil {
			return nil, usageError(err)
		}
		for k, v := range fm {
			if old, ok := m[k]; ok && old != v {
				return nil, usagef("connector %q is mapped to %q by --map and to %q by %s: keep one", k, old, v, path)
			}
			m[k] = v
		}
	}
	return m, nil
}

func diffOptions(c *cli.Context) (diff.Options, error) {
	match := c.String("match")
	if match != diff.MatchName && match != diff.MatchScriptName {
		return diff.Options{}, usagef("--match %q: use %s or %s", match, diff.MatchName, diff.MatchScriptName)
	}
	m, err := mappingFromFlags(c)
	if err != nil {
		return diff.Options{}, err
	}
	return diff.Options{Match: match, Mapping: m, Ignore: c.StringSlice("ignore"), IgnoreWhitespace: c.Bool("ignore-whitespace")}, nil
}

func runDiff(c *cli.Context) error {
	if c.NArg() > 2 {
		return runMatrix(c)
	}
	if c.NArg() != 2 {
		return usagef("diff needs two operands, A and B (archive files or %q), got %d", tenantOperand, c.NArg())
	}
	s, err := newSession(c)
	if err != nil {
		return err
	}
	opts, err := diffOptions(c)
	if err != nil {
		return err
	}
	format := c.String("format")
	if err := checkReportFormat(c, format); err != nil {
		return err
	}
	if c.Bool("stat") && c.Bool("name-only") {
		return usagef("--stat and --name-only exclude each other")
	}
	color, err := diffColor(c, s)
	if err != nil {
		return err
	}
	ctx := c.Context
	a0, b0 := c.Args().Get(0), c.Args().Get(1)
	srcs, done, err := diffSources(ctx, c, s, a0, b0)
	defer done()
	if err != nil {
		return err
	}
	// The table and the names need no unified diffs: not making them keeps a
	// diff of huge documents small.
	opts.ChangesOnly = format == "text" && (c.Bool("stat") || c.Bool("name-only"))
	res, err := diff.CompareSources(ctx, srcs[0], srcs[1], opts)
	if err != nil {
		return err
	}
	for _, u := range res.UnmatchedMappings {
		s.log.Warn(fmt.Sprintf("mapping %s=%s matched nothing: %s", u.A, u.B, u.Reason))
	}
	switch {
	case format == "json":
		err = diff.WriteJSON(s.stdout, res)
	case format == "markdown" || format == "html":
		// A report is written even without differences: a pull-request
		// comment or an approval page saying so is the point.
		rep := diff.NewReport(res, diff.ReportOptions{A: provenance(ctx, s, a0), B: provenance(ctx, s, b0)})
		rep.Context = append(rep.Context, madeLine())
		err = writeReport(s.stdout, format, rep, c.Int("max-bytes"))
	case res.Equal():
		// Like diff(1): no differences, nothing on stdout; exit code 0.
		s.log.Debug("no differences")
	default:
		err = diff.WriteText(s.stdout, res, diff.TextOptions{Color: color, Stat: c.Bool("stat"), NameOnly: c.Bool("name-only")})
	}
	if err != nil {
		return err
	}
	if !res.Equal() {
		return &quietError{code: 1}
	}
	return nil
}

// diffColor is --color: auto colours a terminal without NO_COLOR.
func diffColor(c *cli.Context, s *session) (bool, error) {
	switch c.String("color") {
	case "auto", "":
		return colorWanted(s.stdout), nil
	case "always":
		return true, nil
	case "never":
		return false, nil
	}
	return false, usagef("--color %q: use auto, always or never", c.String("color"))
}

// diffSources opens both operands as streams. Named tenants are checked
// before anything is read (reading a whole tenant only to fail on a typo in
// the other operand wastes its rate limit); archives come first, so that a
// live side covers the archive's selection. done closes the tenants.
func diffSources(ctx context.Context, c *cli.Context, s *session, a0, b0 string) ([2]diff.Source, func(), error) {
	var srcs [2]diff.Source
	var closers []func()
	done := func() {
		for _, f := range closers {
			f()
		}
	}
	ops := [2]string{a0, b0}
	for _, op := range ops {
		if name, ok := strings.CutPrefix(op, tenantOperand); ok && name != "" {
			if _, err := s.settings.Lookup(name); err != nil {
				return srcs, done, err
			}
		}
	}
	// Both sides are streamed: memory holds a window of connectors, not the
	// archives (diff.CompareSources).
	var manifests [2]*archive.Manifest
	for i, op := range ops {
		if isTenantOperand(op) {
			continue
		}
		if err := mustExist(ctx, op); err != nil {
			return srcs, done, fmt.Errorf("%w (or name a live tenant with %q or %q)", err, tenantOperand, tenantOperand+"NAME")
		}
		// The manifest says what a live other side must read; two archives
		// need only their streams (a big manifest costs a parse each time).
		if isTenantOperand(ops[1-i]) {
			m, err := archivestore.ReadManifest(ctx, op)
			if err != nil {
				return srcs, done, err
			}
			manifests[i] = m
		}
		srcs[i] = archiveSource(op)
	}
	for i, op := range ops {
		if !isTenantOperand(op) {
			continue
		}
		var sel *archive.Selection
		if m := manifests[1-i]; m != nil {
			sel = &m.Selection
		}
		t, err := connectOperand(ctx, c, s, op)
		if err != nil {
			return srcs, done, err
		}
		closers = append(closers, t.close)
		srcs[i] = tenantSource(s, t, sel)
	}
	return srcs, done, nil
}

// runMatrix compares three or more operands side by side: each is read
// concurrently (every tenant has its own rate budget) and reduced to its
// documents' digests as it is read.
func runMatrix(c *cli.Context) error {
	s, err := newSession(c)
	if err != nil {
		return err
	}
	format := c.String("format")
	if err := checkReportFormat(c, format); err != nil {
		return err
	}
	ctx := c.Context
	ops := c.Args().Slice()
	sides := make([]*diff.MatrixSide, len(ops))
	srcs := make([]diff.Source, len(ops))
	for i, op := range ops {
		sides[i] = diff.NewMatrixSide(op)
		if isTenantOperand(op) {
			t, err := connectOperand(ctx, c, s, op)
			if err != nil {
				return err
			}
			defer t.close()
			srcs[i] = tenantSource(s, t, nil)
			continue
		}
		if err := mustExist(ctx, op); err != nil {
			return fmt.Errorf("%w (or name a live tenant with %q or %q)", err, tenantOperand, tenantOperand+"NAME")
		}
		srcs[i] = archiveSource(op)
	}
	g, gctx := errgroup.WithContext(ctx)
	for i := range ops {
		g.Go(func() error {
			return srcs[i].Each(gctx, func(conn *archive.Connector) error { return sides[i].Add(conn) })
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	m := diff.NewMatrix(sides)
	switch format {
	case "json":
		err = m.WriteJSON(s.stdout)
	case "markdown":
		err = m.WriteMarkdown(s.stdout)
	case "html":
		err = m.WriteHTML(s.stdout)
	default:
		err = m.WriteText(s.stdout, false)
	}
	if err != nil {
		return err
	}
	if c.Bool("details") && !m.Equal() {
		if err := matrixDetails(c, s, ops); err != nil {
			return err
		}
	}
	if !m.Equal() {
		return &quietError{code: 1}
	}
	return nil
}

// matrixDetails prints each operand's text diff against the first (archives
// and directories are read again; a live tenant is read again too).
func matrixDetails(c *cli.Context, s *session, ops []string) error {
	opts, err := diffOptions(c)
	if err != nil {
		return err
	}
	for _, op := range ops[1:] {
		srcs, done, err := diffSources(c.Context, c, s, ops[0], op)
		if err != nil {
			done()
			return err
		}
		res, err := diff.CompareSources(c.Context, srcs[0], srcs[1], opts)
		done()
		if err != nil {
			return err
		}
		fmt.Fprintf(s.stdout, "\n=== %s -> %s\n", termtext.Escape(ops[0]), termtext.Escape(op))
		if res.Equal() {
			fmt.Fprintln(s.stdout, "no differences")
			continue
		}
		if err := diff.WriteText(s.stdout, res, diff.TextOptions{}); err != nil {
			return err
		}
	}
	return nil
}
