package command

import (
	"context"
	"fmt"
	"path"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/storage"
	"github.com/connvault/connvault/workflow"
)

// A fleet export is many tenants in one run: each with its own client (its
// own pacer and rate budget, so N tenants take about the time of the
// slowest), its own destination and its own outcome; a failing tenant
// never stops the others.

// fleetTenant is one tenant's outcome, as --json prints it.
type fleetTenant struct {
	Tenant        string `json:"tenant"`
	Status        string `json:"status"` // "written", "unchanged", "partial", "failed", "interrupted"
	Archive       string `json:"archive,omitempty"`
	ContentDigest string `json:"contentDigest,omitempty"`
	Connectors    int    `json:"connectors"`
	Error         string `json:"error,omitempty"`
}

// defaultMaxTenants bounds the tenants exported at once. A tenant's export
// mostly waits on its rate budget (CPU: a few percent of a core) and holds a
// window of connectors (docs/performance.md: 50 tenants of 60 connectors
// peak at 284 MB in all, 10 at 83 MB), so 32 per CPU keep a two-core
// machine's fleet of 64 in one wave within about 350 MB.
func defaultMaxTenants() int { return max(16, 32*runtime.NumCPU()) }

// fleetNames are the tenants --tenants and --all-tenants (with
// --tenants-matching) name, in the tenants file's order.
func fleetNames(c *cli.Context, s *session) ([]string, error) {
	cfg, err := s.settings.TenantsFile()
	if err != nil {
		return nil, err
	}
	var names []string
	if c.Bool("all-tenants") {
		glob := c.String("tenants-matching")
		for _, n := range cfg.Names() {
			if ok, err := path.Match(glob, n); err != nil {
				return nil, usagef("--tenants-matching %q: %v", glob, err)
			} else if glob == "" || ok {
				names = append(names, n)
			}
		}
	} else {
		for _, n := range c.StringSlice("tenants") {
			for _, p := range strings.Split(n, ",") {
				if p = strings.TrimSpace(p); p != "" {
					names = append(names, p)
				}
			}
		}
	}
	for _, n := range names {
		if _, err := s.settings.Lookup(n); err != nil {
			return nil, err
		}
	}
	if len(names) == 0 {
		return nil, usagef("no tenant to export: the tenants file has none matching")
	}
	return names, nil
}

// runFleetExport exports every named tenant into its destination: -d DIR
// (the archive names carry the tenant), or a bucket URL whose {tenant} is
// each tenant's name.
func runFleetExport(c *cli.Context, s *session, base workflow.ExportOptions) error {
	names, err := fleetNames(c, s)
	if err != nil {
		return err
	}
	if base.Output != "" {
		return usagef("a fleet export writes one archive per tenant: use --output-dir DIR (or a bucket URL with {tenant}), not --output")
	}
	limit := c.Int("max-tenants")
	if limit <= 0 {
		limit = defaultMaxTenants()
	}
	ctx := c.Context
	if local, ok := storage.Local(base.Dir); ok && !strings.Contains(base.Dir, "{tenant}") {
		// One directory for all: its lock is taken once, for the whole run.
		lock, err := archivestore.LockDir(ctx, local, c.Bool("wait"))
		if err != nil {
			return err
		}
		defer lock.Release()
		ctx = archivestore.WithHeldLock(ctx)
	}
	// Each goroutine writes its own element; Wait orders them before the
	// reads below.
	results := make([]fleetTenant, len(names))
	g := new(errgroup.Group)
	g.SetLimit(limit)
	env := s.env()
	env.Progress = nil // one display: the log lines below
	for i, name := range names {
		g.Go(func() error {
			results[i] = exportOne(ctx, c, s, env, base, name)
			s.log.Info(fmt.Sprintf("tenant %s: %s", name, describeFleet(results[i])))
			return nil
		})
	}
	_ = g.Wait()
	worst := exitOK
	for _, r := range results {
		switch r.Status {
		case "failed", "partial":
			worst = max(worst, exitPartial)
		case "interrupted":
			worst = exitInterrupted
		}
	}
	if c.Bool("json") {
		if err := writeJSON(s.stdout, struct {
			Version  int           `json:"version"`
			Tenants  []fleetTenant `json:"tenants"`
			ExitCode int           `json:"exitCode"`
		}{1, results, worst}); err != nil {
			return err
		}
	}
	failed := 0
	for _, r := range results {
		if r.Status != "written" && r.Status != "unchanged" {
			failed++
		}
	}
	msg := fmt.Sprintf("%d of %d tenants exported", len(names)-failed, len(names))
	s.log.Info(msg)
	if worst != exitOK {
		return &quietError{code: worst, msg: msg + "; see each tenant's line"}
	}
	return nil
}

func exportOne(ctx context.Context, c *cli.Context, s *session, env *workflow.Env, base workflow.ExportOptions, name string) fleetTenant {
	r := fleetTenant{Tenant: name}
	fail := func(err error) fleetTenant {
		r.Status, r.Error = "failed", oneLine(err)
		if ctx.Err() != nil {
			r.Status = "interrupted"
		}
		return r
	}
	t, err := connectNamed(c, s, name)
	if err != nil {
		return fail(err)
	}
	defer t.close()
	o := base
	o.Tenant = t.Tenant
	o.Dir = strings.ReplaceAll(base.Dir, "{tenant}", name)
	sum, err := workflow.Export(ctx, env, o)
	if err != nil {
		return fail(err)
	}
	r.Archive, r.ContentDigest, r.Connectors = sum.Archive, sum.ContentDigest, sum.Connectors
	switch {
	case sum.Partial:
		r.Status = "partial"
	case sum.Unchanged:
		r.Status = "unchanged"
	default:
		r.Status = "written"
	}
	return r
}

func describeFleet(r fleetTenant) string {
	switch r.Status {
	case "written", "partial":
		return fmt.Sprintf("%s %s (%d connectors, digest %s)", r.Status, r.Archive, r.Connectors, short(r.ContentDigest))
	case "unchanged":
		return fmt.Sprintf("unchanged (%d connectors, digest %s)", r.Connectors, short(r.ContentDigest))
	}
	return r.Status + ": " + r.Error
}
