package main

import (
	"context"
	"fmt"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/export"
)

// exportInto exports the connectors of t that sel selects (the listed ones
// its filter keeps, plus its scriptNames, which the list may hide) into a new
// archive in dir, a directory or a bucket prefix, and returns the archive's
// path and manifest. Connectors not saved are recorded in the manifest's
// Skipped, not logged: a scriptName the tenant lacks can be expected.
func exportInto(ctx context.Context, s *session, t *tenant, flag, dir string, sel archive.Selection) (string, *archive.Manifest, error) {
	now := utcNow()
	dst, err := openDirDest(ctx, flag, dir, t.name, now, true)
	if err != nil {
		return "", nil, err
	}
	defer dst.release()
	meta := archive.Meta{
		ToolVersion: version,
		CreatedAt:   now,
		Source:      archive.Source{BaseURL: t.client.BaseURL(), APIVersion: t.client.APIVersion()},
		Selection:   sel,
	}
	w, err := createArchive(ctx, dst.bucket, dst.path, meta)
	if err != nil {
		return "", nil, err
	}
	defer w.Abort()
	bar := newProgress(s, "exporting "+t.name, t.client.Stats)
	res, err := export.Run(ctx, t.client, export.Options{
		Filters:     sel.Filters,
		ScriptNames: sel.ScriptNames,
		Concurrency: s.concurrency,
		Logger:      s.log,
		Progress:    bar.update,
	}, func(c *archive.Connector) error { return w.Add(ctx, c) })
	bar.finish()
	if err != nil {
		return "", nil, fmt.Errorf("exporting %s: %w", t.name, err)
	}
	w.SetSkipped(res.Skipped)
	meta.Source.APIVersion = t.client.APIVersion()
	w.SetSource(meta.Source)
	w.SetFetch(res.Fetch, res.Sources)
	m, err := closeArchive(ctx, w, dst.bucket, dst.name)
	if err != nil {
		return "", nil, fmt.Errorf("exporting %s: %w", t.name, err)
	}
	return dst.path, m, nil
}

// saveSnapshot writes snap, a tenant as read moments ago, into a new archive
// in dir. Restore reads the target connectors it may touch to plan, and that
// same reading is what undoing the restore needs: saving it costs no second
// pass over the tenant.
func saveSnapshot(ctx context.Context, t *tenant, dir string, snap *archive.Snapshot) (string, *archive.Manifest, error) {
	now := utcNow()
	dst, err := openDirDest(ctx, "--backup-dir", dir, t.name, now, true)
	if err != nil {
		return "", nil, err
	}
	defer dst.release()
	path := dst.path
	meta := snap.Manifest.Meta
	meta.ToolVersion = version
	meta.CreatedAt = now
	meta.Source = archive.Source{BaseURL: t.client.BaseURL(), APIVersion: t.client.APIVersion()}
	w, err := createArchive(ctx, dst.bucket, path, meta)
	if err != nil {
		return "", nil, err
	}
	defer w.Abort()
	for _, c := range snap.Connectors {
		if err := w.Add(ctx, c); err != nil {
			return "", nil, fmt.Errorf("snapshot of %s: %w", t.name, err)
		}
	}
	m, err := closeArchive(ctx, w, dst.bucket, dst.name)
	if err != nil {
		return "", nil, fmt.Errorf("snapshot of %s: %w", t.name, err)
	}
	return path, m, nil
}
