package main

import (
	"context"
	"fmt"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/export"
)

// snapshotTenant exports the whole tenant t (its listed connectors plus the
// extra scriptNames, which the list may hide) into a new archive in dir and
// returns the archive's path. Restore takes one before it writes, so every
// restore can be undone by restoring the snapshot.
func snapshotTenant(ctx context.Context, s *session, t *tenant, dir string, extraScriptNames []string) (string, *archive.Manifest, error) {
	now := utcNow()
	dst, err := openBackupDest(ctx, dir, t.name, now)
	if err != nil {
		return "", nil, err
	}
	defer dst.release()
	path := dst.path
	meta := archive.Meta{
		ToolVersion: version,
		CreatedAt:   now,
		Source:      archive.Source{BaseURL: t.client.BaseURL(), APIVersion: t.client.APIVersion()},
		Selection:   archive.Selection{ScriptNames: extraScriptNames},
	}
	w, err := createArchive(ctx, dst.bucket, path, meta)
	if err != nil {
		return "", nil, err
	}
	defer w.Abort()
	res, err := export.Run(ctx, t.client, export.Options{
		ScriptNames: extraScriptNames,
		Concurrency: s.concurrency,
		Logger:      s.log,
	}, func(c *archive.Connector) error { return w.Add(ctx, c) })
	if err != nil {
		return "", nil, fmt.Errorf("snapshot of %s: %w", t.name, err)
	}
	// Explicit scriptNames that the target does not have are expected here
	// (they are the archive's, probably from another tenant): not worth a
	// warning, but recorded.
	w.SetSkipped(res.Skipped)
	m, err := closeArchive(ctx, w, dst.bucket, dst.name)
	if err != nil {
		return "", nil, fmt.Errorf("snapshot of %s: %w", t.name, err)
	}
	return path, m, nil
}

// saveSnapshot writes snap, a tenant as read moments ago, into a new archive
// in dir. Restore reads the target connectors it may touch to plan, and that
// same reading is what undoing the restore needs: saving it costs no second
// pass over the tenant.
func saveSnapshot(ctx context.Context, t *tenant, dir string, snap *archive.Snapshot) (string, *archive.Manifest, error) {
	now := utcNow()
	dst, err := openBackupDest(ctx, dir, t.name, now)
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
