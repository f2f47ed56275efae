package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/export"
)

// tenantOperand is how a command line names a live tenant instead of an
// archive: `tenant:` (the tenant the flags configure) or `tenant:NAME` (that
// tenant of the tenants file, whatever the flags say).
const tenantOperand = "tenant:"

func isTenantOperand(arg string) bool { return strings.HasPrefix(arg, tenantOperand) }

// loadOperand reads an archive path or, for `tenant:[NAME]`, the live tenant into
// memory. sel, when not nil, is the selection to read the tenant with (the
// other side's, so both sides cover the same connectors).
func loadOperand(ctx context.Context, c *cli.Context, s *session, arg string, sel *archive.Selection) (*archive.Snapshot, error) {
	if !isTenantOperand(arg) {
		if err := archiveExists(ctx, arg); err != nil {
			return nil, fmt.Errorf("archive %s: %w (give an archive file, %q for the tenant the flags configure, or %q for a named tenant)", arg, err, tenantOperand, tenantOperand+"NAME")
		}
		snap, err := readArchiveArg(ctx, arg)
		if err != nil {
			return nil, err
		}
		return snap, nil
	}
	var t *tenant
	var err error
	if name := strings.TrimPrefix(arg, tenantOperand); name != "" {
		t, err = connectNamed(c, s, name)
	} else {
		t, err = connect(ctx, c, s)
	}
	if err != nil {
		return nil, err
	}
	defer t.close()
	return readTenant(ctx, s, t, sel)
}

// readTenant reads a live tenant with the export pipeline, without an archive.
func readTenant(ctx context.Context, s *session, t *tenant, sel *archive.Selection) (*archive.Snapshot, error) {
	return readTenantEach(ctx, s, t, sel, nil)
}

// readTenantEach is readTenant that also hands each connector to each (when
// not nil) as soon as it is read, so that work on it need not wait for the
// rest of the tenant.
func readTenantEach(ctx context.Context, s *session, t *tenant, sel *archive.Selection, each func(*archive.Connector) error) (*archive.Snapshot, error) {
	opts := exportOptions(s, sel)
	snap := &archive.Snapshot{}
	snap.Manifest.Format = archive.FormatName
	snap.Manifest.Source = archive.Source{BaseURL: t.client.BaseURL(), APIVersion: t.client.APIVersion()}
	if sel != nil {
		snap.Manifest.Selection = *sel
	}
	bar := newProgress(s, "reading "+t.name, t.client.Stats)
	res, err := export.Run(ctx, t.client, opts, func(conn *archive.Connector) error {
		snap.Connectors = append(snap.Connectors, conn)
		if each != nil {
			return each(conn)
		}
		return nil
	})
	bar.finish()
	if err != nil {
		return nil, fmt.Errorf("reading tenant %s: %w", t.name, err)
	}
	snap.Manifest.ConnectorCount = res.Connectors
	snap.Manifest.Skipped = res.Skipped
	return snap, nil
}

// exportOptions reads the connectors sel selects (all when nil).
func exportOptions(s *session, sel *archive.Selection) export.Options {
	opts := export.Options{Concurrency: s.concurrency, Logger: s.log}
	if sel != nil {
		opts.Filters = sel.Filters
		opts.ScriptNames = sel.ScriptNames
		opts.Locales = sel.Locales
		if len(sel.Names) > 0 {
			names := map[string]bool{}
			for _, n := range sel.Names {
				names[n] = true
			}
			opts.Select = func(dto apiclient.V3ConnectorDto) bool { return names[dto.Name] }
		}
	}
	return opts
}
