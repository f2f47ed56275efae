package workflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/retention"
	"github.com/connvault/connvault/storage"
)

// ExportOptions is one export of a tenant into an archive.
type ExportOptions struct {
	Tenant *Tenant
	// Output is the archive file or object URL, or "-" to stream the
	// archive to Stdout; Dir the directory or bucket prefix that gets a
	// dated name. Exactly one is set.
	Output, Dir string
	Stdout      io.Writer
	// Wait waits for another run holding Dir's lock instead of failing.
	Wait bool
	// Force lets an Output file replace an existing regular file (never a
	// symlink, device or pipe); without it nothing is ever replaced, even
	// a file that appears while the export runs.
	Force bool
	// Selection is what to export: the list filter, scriptNames the list
	// may hide, locales.
	Selection archive.Selection
	// NoList exports only Selection.ScriptNames, without listing.
	NoList bool
	// KeepGoing records a failed connector and goes on: the archive is
	// partial.
	KeepGoing bool
	// IfChanged, with Dir, writes nothing when the content equals the
	// newest archive of this tenant there.
	IfChanged bool
	// FromDetail takes source-config, correlation-config and translations
	// from each connector's detail (export.Options.FromDetail).
	FromDetail bool
	// AllowEmpty writes an export of no connectors even where the newest
	// snapshot of the same selection had some (see checkShrink).
	AllowEmpty bool
}

// ExportResult is an export's outcome; it is export's --json document.
type ExportResult struct {
	Archive       string            `json:"archive,omitempty"`
	Written       bool              `json:"written"`
	Unchanged     bool              `json:"unchanged,omitempty"`
	Tenant        string            `json:"tenant"`
	Connectors    int               `json:"connectors"`
	Documents     int               `json:"documents"`
	Bytes         int64             `json:"bytes"`
	ArchiveSize   int64             `json:"archiveSize"`
	ContentDigest string            `json:"contentDigest"`
	Seconds       float64           `json:"seconds"`
	Requests      int64             `json:"requests"`
	Retries       int64             `json:"retries"`
	RateLimited   int64             `json:"rateLimited"`
	Partial       bool              `json:"partial"`
	Skipped       []archive.Skipped `json:"skipped,omitempty"`
	// APIVersion is the layout the run used (what --api-version auto chose);
	// Fetch how documents were read ("full", "from-detail"); OtherSources
	// how many documents did not come from their own route in that layout
	// (the manifest's documentSources lists them).
	APIVersion   string `json:"apiVersion"`
	Fetch        string `json:"fetch"`
	OtherSources int    `json:"otherSources,omitempty"`

	// Failed counts the connectors that failed (KeepGoing); Previous is the
	// newest archive compared with under IfChanged.
	Failed   int               `json:"-"`
	Previous *archive.Manifest `json:"-"`
	// Missing are the asked-for scriptNames the tenant does not have
	// (with KeepGoing; without it they fail the export).
	Missing []string `json:"missing,omitempty"`
	// Warnings are what the run warned about that a scheduler should see:
	// a drop of more than half of the connectors since the newest snapshot.
	Warnings []string `json:"warnings,omitempty"`
}

// ErrEmptyTenant is an export that listed no connectors where the newest
// snapshot of the same selection had some: a token that lost its rights or
// an outage, not a tenant that emptied overnight. Nothing is written.
var ErrEmptyTenant = errors.New("the tenant listed no connectors")

// checkShrink compares an export's connector count with the newest snapshot
// at its destination (prev; nil when there is none), when both were taken
// with the same selection. A real tenant always lists SailPoint's built-in
// connectors, so none at all where there were some is an error unless
// allowEmpty; fewer than half is a warning, returned to be logged and put in
// --json.
func checkShrink(prev *archive.Manifest, sel archive.Selection, got int, allowEmpty bool, where string) (string, error) {
	if prev == nil || prev.ConnectorCount == 0 || !sameSelection(prev.Selection, sel) {
		return "", nil
	}
	if got == 0 && !allowEmpty {
		return "", fmt.Errorf("%w, but the newest snapshot in %s has %d: a token that lost its rights or an outage looks like this; nothing was written or removed "+
			"(check the token with connvault doctor; if the tenant really is empty, add --allow-empty)", ErrEmptyTenant, where, prev.ConnectorCount)
	}
	if got*2 < prev.ConnectorCount {
		return fmt.Sprintf("the tenant listed %d connectors, fewer than half of the %d in the newest snapshot in %s: check the token's rights and the tenant", got, prev.ConnectorCount, where), nil
	}
	return "", nil
}

func sameSelection(a, b archive.Selection) bool {
	return a.Filters == b.Filters && slices.Equal(a.ScriptNames, b.ScriptNames) && slices.Equal(a.Names, b.Names)
}

// ErrNoArchive wraps an export failure after which no archive was written.
var ErrNoArchive = errors.New("no archive written")

// Export writes the tenant's selected connectors to a new archive, atomically:
// a failure or cancellation leaves no file at the destination.
func Export(ctx context.Context, env *Env, o ExportOptions) (*ExportResult, error) {
	t := o.Tenant
	start := time.Now()
	now := env.now()
	out := o.Output
	if p, ok := storage.Local(out); ok {
		out = p // a file:// URL's path
	}
	// dst is nil for a plain file; otherwise it names the object or the
	// free name in the (locked) directory.
	var dst *archivestore.Dest
	var err error
	switch {
	case storage.IsBucket(out):
		if dst, err = archivestore.ObjectDest(ctx, out); err != nil {
			return nil, fmt.Errorf("--output: %w", err)
		}
	case o.Dir != "":
		if dst, err = archivestore.DirDest(ctx, "--output-dir", o.Dir, t.Name, now, o.Wait); err != nil {
			return nil, err
		}
	}
	var bucket *storage.Location
	var objName string
	if dst != nil {
		defer dst.Release()
		out, bucket, objName = dst.Path, dst.Bucket, dst.Name
	}
	meta := exportMeta(env, t, o.Selection, now)
	res := &ExportResult{Tenant: t.Name}
	if o.IfChanged {
		if res.Previous, err = archivestore.NewestManifest(ctx, o.Dir, t.Name); err != nil {
			return nil, err
		}
	}

	var w *archive.Writer
	if out == "-" {
		w, err = archivestore.CreateSpooled(ctx, retention.FileName(t.Name, now), meta)
	} else {
		w, err = archivestore.Create(ctx, bucket, out, meta)
	}
	if err != nil {
		return nil, err
	}
	if o.Force && dst == nil {
		w.SetReplace(archive.ReplaceRegular)
	} else {
		w.SetReplace(archive.ReplaceNone)
	}
	defer w.Abort() // no-op after a successful Close

	er, missing, err := runExport(ctx, env, t, o.Selection, o.NoList, o.KeepGoing, o.FromDetail, w)
	if err != nil {
		_ = w.Abort()
		var ie *ExportInterruptedError
		if errors.As(err, &ie) {
			return nil, ie
		}
		return nil, fmt.Errorf("export failed, %w: %w", ErrNoArchive, err)
	}
	// A scriptName asked for by name that the tenant does not have is a
	// failure, not a skip: the user expects it in the archive.
	if len(missing) > 0 && !o.KeepGoing {
		_ = w.Abort()
		return nil, fmt.Errorf("--script-name %s: no such connector in tenant %s; %w (check the scriptName, or add --keep-going to export the rest as a partial archive)",
			strings.Join(missing, ", "), t.Name, ErrNoArchive)
	}
	partial, apiVersion := recordRun(w, t, meta.Source, er, missing)
	res.APIVersion, res.Fetch, res.OtherSources = apiVersion, er.Fetch, len(er.Sources)
	res.Connectors, res.Documents, res.Bytes = er.Connectors, er.Documents, er.Bytes
	res.Partial, res.Skipped, res.Failed = partial, er.Skipped, len(er.Failed)+len(missing)
	res.Missing = missing
	if o.Dir != "" {
		prev := res.Previous
		if prev == nil {
			// Unreadable or absent: prune and verify speak for it.
			prev, _ = archivestore.NewestManifest(ctx, o.Dir, t.Name)
		}
		warning, err := checkShrink(prev, o.Selection, er.Connectors, o.AllowEmpty, o.Dir)
		if err != nil {
			_ = w.Abort()
			return nil, err
		}
		if warning != "" {
			env.log().Warn(warning)
			res.Warnings = append(res.Warnings, warning)
		}
	}

	if res.Previous != nil && !res.Partial && w.Digest() == res.Previous.ContentDigest {
		_ = w.Abort()
		res.Unchanged = true
		res.ContentDigest = res.Previous.ContentDigest
	} else {
		var m *archive.Manifest
		if out == "-" {
			m, err = archivestore.CommitTo(ctx, w, o.Stdout)
		} else {
			m, err = archivestore.Commit(ctx, w, bucket, objName)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, &ExportInterruptedError{Fetched: er.Connectors}
			}
			return nil, fmt.Errorf("writing %s: %w", out, err)
		}
		res.Archive, res.Written = out, true
		res.ContentDigest, res.ArchiveSize = m.ContentDigest, w.Size()
	}
	st := t.Client.Stats()
	res.Seconds = time.Since(start).Seconds()
	res.Requests, res.Retries, res.RateLimited = st.Requests, st.Retries, st.RateLimited
	return res, nil
}

// ExportInterruptedError is an export stopped (Ctrl-C): what was done and
// what was not, in the one line the user reads instead of a line per
// cancelled request. It does not wrap context.Canceled, which would shorten
// the message to "interrupted".
type ExportInterruptedError struct {
	Fetched int    // connectors fetched before the interruption (none kept)
	Dir     string // the snapshot directory left as it was; "" for an archive
}

func (e *ExportInterruptedError) Error() string {
	what := "no archive written"
	if e.Dir != "" {
		what = e.Dir + " left as it was"
	}
	return fmt.Sprintf("interrupted: %d connectors fetched, %s; run the export again", e.Fetched, what)
}
