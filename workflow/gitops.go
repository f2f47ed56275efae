package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/storage"
)

// ExportDirOptions is one export of a tenant into a snapshot directory
// (export --format dir), for a Git repository: docs/gitops.md.
type ExportDirOptions struct {
	Tenant *Tenant
	// Dir is the snapshot directory, created when missing.
	Dir string
	// Wait waits for another run writing Dir instead of failing.
	Wait      bool
	Selection archive.Selection
	NoList    bool
	// KeepGoing records a failed connector and goes on; its folder in Dir
	// is left as it was.
	KeepGoing bool
	// FromDetail takes the documents from each detail (ExportOptions.FromDetail).
	FromDetail bool
	// AllowEmpty is ExportOptions.AllowEmpty.
	AllowEmpty bool
}

// ExportDir writes the tenant's selected connectors into a snapshot
// directory (archive.DirWriter): only files whose content changed are
// written, each atomically, connectors that are gone are removed, and a
// failure leaves the directory as it was. The result's Archive is the
// directory; ArchiveSize stays 0.
func ExportDir(ctx context.Context, env *Env, o ExportDirOptions) (*ExportResult, error) {
	t := o.Tenant
	start := time.Now()
	dir := o.Dir
	if storage.IsBucket(dir) {
		return nil, &UsageError{fmt.Errorf("--format dir -o %s: a snapshot directory is a local folder; for a bucket export an archive", dir)}
	}
	if p, ok := storage.Local(dir); ok {
		dir = p
	}
	lock, err := archivestore.LockDir(ctx, dir, o.Wait)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	meta := exportMeta(env, t, o.Selection, env.now())
	w, err := archivestore.CreateDir(ctx, dir, meta)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	er, missing, err := runExport(ctx, env, t, o.Selection, o.NoList, o.KeepGoing, o.FromDetail, w)
	if err != nil {
		var ie *ExportInterruptedError
		if errors.As(err, &ie) {
			ie.Dir = dir
			return nil, ie
		}
		return nil, fmt.Errorf("export failed, %s left as it was: %w", dir, err)
	}
	// As for archives: a scriptName asked for by name that the tenant does
	// not have is a failure, not a skip.
	if len(missing) > 0 && !o.KeepGoing {
		return nil, fmt.Errorf("--script-name %s: no such connector in tenant %s; %s left as it was (check the scriptName, or add --keep-going)",
			strings.Join(missing, ", "), t.Name, dir)
	}
	for _, c := range w.CaseClashes() {
		env.log().Warn(fmt.Sprintf("the connectors %q and %q differ only in case: a checkout of %s on macOS or Windows merges their folders; rename one in the tenant", c[0], c[1], dir))
	}
	prev, _ := archive.DirManifest(dir)
	warning, err := checkShrink(prev, o.Selection, er.Connectors, o.AllowEmpty, dir)
	if err != nil {
		return nil, err
	}
	if warning != "" {
		env.log().Warn(warning)
	}
	partial, apiVersion := recordRun(w, t, meta.Source, er, missing)
	// Close finishes its write phase even when interrupted (a directory must
	// not hold two tenant states); a failure in it leaves the directory
	// marked as an interrupted export, which the next export repairs.
	m, err := w.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("writing %s (it may now mix two tenant states, and verify says so; run the export again to repair it): %w", dir, err)
	}
	st := t.Client.Stats()
	return &ExportResult{
		Archive: dir, Written: true, Tenant: t.Name,
		Connectors: er.Connectors, Documents: er.Documents, Bytes: er.Bytes, ContentDigest: m.ContentDigest,
		Seconds: time.Since(start).Seconds(), Requests: st.Requests, Retries: st.Retries, RateLimited: st.RateLimited,
		Partial: partial, Skipped: er.Skipped, Failed: len(er.Failed) + len(missing), Missing: missing,
		APIVersion: apiVersion, Fetch: er.Fetch, OtherSources: len(er.Sources), Warnings: warnings(warning),
	}, nil
}

// Pack writes the snapshot directory dir, as its files are (edited or not),
// into a new archive at out (a file or an object URL), with the directory's
// source, selection and skipped connectors; createdAt is now.
func Pack(ctx context.Context, env *Env, dir, out string) (*archive.Manifest, error) {
	p, ok := storage.Local(dir)
	if !ok || !archive.IsDir(p) {
		return nil, &UsageError{fmt.Errorf("pack %s: not a directory; give a snapshot directory (export --format dir, unpack)", dir)}
	}
	r, err := archive.OpenDir(p, archive.ReadOptions{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	meta := r.Manifest().Meta
	meta.ToolVersion, meta.CreatedAt = env.ToolVersion, env.now()
	var bucket *storage.Location
	var objName string
	if lp, ok := storage.Local(out); ok {
		out = lp
	} else {
		d, err := archivestore.ObjectDest(ctx, out)
		if err != nil {
			return nil, err
		}
		defer d.Release()
		bucket, objName = d.Bucket, d.Name
	}
	w, err := archivestore.Create(ctx, bucket, out, meta)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	if err := archive.Each(ctx, r, func(c *archive.Connector) error { return w.Add(ctx, c) }); err != nil {
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	m, err := archivestore.Commit(ctx, w, bucket, objName)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	return m, nil
}

// Unpack checks the archive at arg (a file or an object URL; a snapshot
// directory works too) and writes it into the snapshot directory dir as
// ExportDir does.
func Unpack(ctx context.Context, env *Env, arg, dir string) (*archive.Manifest, error) {
	p, ok := storage.Local(dir)
	if !ok {
		return nil, &UsageError{fmt.Errorf("unpack into %s: a snapshot directory is a local folder", dir)}
	}
	r, _, done, err := archivestore.Open(ctx, arg)
	if err != nil {
		return nil, err
	}
	defer done()
	lock, err := archivestore.LockDir(ctx, p, false)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	// The archive's Skipped and Partial come along in its Meta.
	w, err := archivestore.CreateDir(ctx, p, r.Manifest().Meta)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	if err := archive.Each(ctx, r, func(c *archive.Connector) error { return w.Add(ctx, c) }); err != nil {
		return nil, fmt.Errorf("unpack %s: %w", arg, err)
	}
	m, err := w.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("unpack %s: %w", arg, err)
	}
	return m, nil
}

func warnings(w string) []string {
	if w == "" {
		return nil
	}
	return []string{w}
}
