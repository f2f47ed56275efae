package workflow

import (
	"context"
	"fmt"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/export"
)

// ReadTenant reads a live tenant with the export pipeline into memory,
// without an archive. sel, when not nil, is the selection to read with (an
// archive's, so both sides of a diff cover the same connectors); its Names
// limit the listed connectors to those names.
func ReadTenant(ctx context.Context, env *Env, t *Tenant, sel *archive.Selection) (*archive.Snapshot, error) {
	return ReadTenantEach(ctx, env, t, sel, nil)
}

// ReadTenantEach is ReadTenant that also hands each connector to each (when
// not nil) as soon as it is read, so that work on it need not wait for the
// rest of the tenant.
func ReadTenantEach(ctx context.Context, env *Env, t *Tenant, sel *archive.Selection, each func(*archive.Connector) error) (*archive.Snapshot, error) {
	return readTenantEach(ctx, env, t, sel, each, nil, true)
}

// readTenantEach is ReadTenantEach that also tells unselected the name of
// each listed connector the selection's names leave out (nil: no one asks).
// With keep false the snapshot holds the manifest but no connectors: what
// was read is only handed to each, so memory does not grow with the tenant.
func readTenantEach(ctx context.Context, env *Env, t *Tenant, sel *archive.Selection, each func(*archive.Connector) error, unselected func(name string), keep bool) (*archive.Snapshot, error) {
	snap := &archive.Snapshot{}
	snap.Manifest.Format = archive.FormatName
	snap.Manifest.Source = archive.Source{BaseURL: t.Client.BaseURL(), APIVersion: t.Client.APIVersion()}
	if sel != nil {
		snap.Manifest.Selection = *sel
	}
	bar := env.progress("reading "+t.Name, t.Client.Stats)
	opts := ReadOptions(env, sel)
	opts.Progress = bar.Update
	if keep := opts.Select; keep != nil && unselected != nil {
		opts.Select = func(dto apiclient.V3ConnectorDto) bool {
			if keep(dto) {
				return true
			}
			unselected(dto.Name)
			return false
		}
	}
	res, err := export.Run(ctx, t.Client, opts, func(conn *archive.Connector) error {
		if keep {
			snap.Connectors = append(snap.Connectors, conn)
		}
		if each != nil {
			return each(conn)
		}
		return nil
	})
	bar.Finish()
	if err != nil {
		return nil, fmt.Errorf("reading tenant %s: %w", t.Name, err)
	}
	snap.Manifest.ConnectorCount = res.Connectors
	snap.Manifest.Skipped = res.Skipped
	// A pre-restore snapshot is saved from this reading: it records the
	// layout auto chose and where each document came from, as an export does.
	snap.Manifest.Source.APIVersion = t.Client.APIVersion()
	snap.Manifest.Fetch, snap.Manifest.DocumentSources = res.Fetch, res.Sources
	return snap, nil
}

// StreamTenant hands each connector the selection names to emit as it is
// read, in list order, keeping none: diff's live side.
func StreamTenant(ctx context.Context, env *Env, t *Tenant, sel *archive.Selection, emit func(*archive.Connector) error) error {
	bar := env.progress("reading "+t.Name, t.Client.Stats)
	opts := ReadOptions(env, sel)
	opts.Progress = bar.Update
	_, err := export.Run(ctx, t.Client, opts, emit)
	bar.Finish()
	if err != nil {
		return fmt.Errorf("reading tenant %s: %w", t.Name, err)
	}
	return nil
}

// ReadOptions are the export options that read the connectors sel selects
// (all when nil).
func ReadOptions(env *Env, sel *archive.Selection) export.Options {
	opts := export.Options{Concurrency: env.Concurrency, Logger: env.log()}
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

// ExportInto exports the connectors of t that sel selects (the listed ones
// its filter keeps, plus its scriptNames, which the list may hide) into a new
// archive in dir, a directory or a bucket prefix (flag names dir in errors),
// and returns the archive's path and manifest. Connectors not saved are
// recorded in the manifest's Skipped, not logged: a scriptName the tenant
// lacks can be expected.
func ExportInto(ctx context.Context, env *Env, t *Tenant, flag, dir string, sel archive.Selection) (string, *archive.Manifest, error) {
	now := env.now()
	dst, err := archivestore.DirDest(ctx, flag, dir, t.Name, now, true)
	if err != nil {
		return "", nil, err
	}
	defer dst.Release()
	meta := archive.Meta{
		ToolVersion: env.ToolVersion,
		CreatedAt:   now,
		Source:      archive.Source{BaseURL: t.Client.BaseURL(), APIVersion: t.Client.APIVersion()},
		Selection:   sel,
	}
	w, err := archivestore.Create(ctx, dst.Bucket, dst.Path, meta)
	if err != nil {
		return "", nil, err
	}
	w.SetReplace(archive.ReplaceNone)
	defer w.Abort()
	bar := env.progress("exporting "+t.Name, t.Client.Stats)
	res, err := export.Run(ctx, t.Client, export.Options{
		Filters:     sel.Filters,
		ScriptNames: sel.ScriptNames,
		Concurrency: env.Concurrency,
		Logger:      env.log(),
		Progress:    bar.Update,
	}, func(c *archive.Connector) error { return w.Add(ctx, c) })
	bar.Finish()
	if err != nil {
		return "", nil, fmt.Errorf("exporting %s: %w", t.Name, err)
	}
	w.SetSkipped(res.Skipped)
	meta.Source.APIVersion = t.Client.APIVersion()
	w.SetSource(meta.Source)
	w.SetFetch(res.Fetch, res.Sources)
	m, err := archivestore.Commit(ctx, w, dst.Bucket, dst.Name)
	if err != nil {
		return "", nil, fmt.Errorf("exporting %s: %w", t.Name, err)
	}
	return dst.Path, m, nil
}

// SaveSnapshot writes snap, a tenant as read moments ago, into a new archive
// in dir. Restore reads the target connectors it may touch to plan, and that
// same reading is what undoing the restore needs: saving it costs no second
// pass over the tenant.
func SaveSnapshot(ctx context.Context, env *Env, t *Tenant, dir string, snap *archive.Snapshot) (string, *archive.Manifest, error) {
	now := env.now()
	dst, err := archivestore.DirDest(ctx, "--backup-dir", dir, t.Name, now, true)
	if err != nil {
		return "", nil, err
	}
	defer dst.Release()
	meta := snap.Manifest.Meta
	meta.ToolVersion = env.ToolVersion
	meta.CreatedAt = now
	meta.Source = archive.Source{BaseURL: t.Client.BaseURL(), APIVersion: t.Client.APIVersion()}
	w, err := archivestore.Create(ctx, dst.Bucket, dst.Path, meta)
	if err != nil {
		return "", nil, err
	}
	w.SetReplace(archive.ReplaceNone)
	defer w.Abort()
	for _, c := range snap.Connectors {
		if err := w.Add(ctx, c); err != nil {
			return "", nil, fmt.Errorf("snapshot of %s: %w", t.Name, err)
		}
	}
	m, err := archivestore.Commit(ctx, w, dst.Bucket, dst.Name)
	if err != nil {
		return "", nil, fmt.Errorf("snapshot of %s: %w", t.Name, err)
	}
	return dst.Path, m, nil
}
