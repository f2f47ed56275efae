package retention

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/dirlock"
	"github.com/connvault/connvault/storage"
)

// removeFile is os.Remove; tests replace it to make a removal fail, which a
// test running as root cannot provoke through permissions.
var removeFile = os.Remove

// Scan lists the connvault archives directly in dir (not in subdirectories).
// Anything whose name does not parse with ParseName, and anything that is not
// a regular file, is ignored.
func Scan(dir string) ([]Archive, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading archive directory %s: %w", dir, err)
	}
	var out []Archive
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		tenant, t, ok := ParseName(e.Name())
		if !ok {
			continue
		}
		out = append(out, Archive{Path: filepath.Join(dir, e.Name()), Tenant: tenant, Time: t})
	}
	return out, nil
}

// ScanLocation lists the connvault archives directly in loc (a directory or
// a bucket prefix), like Scan. Paths are as loc.Path gives them.
//
// There is no lock on a bucket prefix (object stores have no flock). Pruning
// while an export writes there is still safe: the export's object appears
// only when complete, and the keep rules never keep an older archive because
// a newer one is missing, so a prune that does not see it removes a subset of
// what it would remove otherwise. Two runs of the same kind on one prefix at
// once must be prevented by the scheduler (one CronJob with
// concurrencyPolicy: Forbid, one CI concurrency group).
func ScanLocation(ctx context.Context, loc *storage.Location) ([]Archive, error) {
	objs, err := loc.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Archive
	for _, o := range objs {
		tenant, t, ok := ParseName(o.Name)
		if !ok {
			continue
		}
		out = append(out, Archive{Path: loc.Path(o.Name), Tenant: tenant, Time: t})
	}
	return out, nil
}

// Result is what Prune did (or, in a dry run, would do). It marshals to the
// JSON that `connvault prune --json` prints.
type Result struct {
	Dir     string         `json:"dir"`
	DryRun  bool           `json:"dryRun"`
	Policy  Policy         `json:"policy"`
	Tenants []TenantResult `json:"tenants"`
	Errors  []FileError    `json:"errors"`
	// Temps are the temporary files a killed run left that Prune removed
	// before pruning, and TempsErr why some could not be removed. They are
	// housekeeping, not archives: the command says them once on stderr,
	// and --json (the archives kept and removed) leaves them out.
	Temps    []string `json:"-"`
	TempsErr error    `json:"-"`
	// Future are the archives dated after the time Prune ran (plus
	// FutureMargin): a wrong clock made them. They are kept and take no keep
	// slot, so they never push real archives out; the command warns,
	// naming each.
	Future []Entry `json:"future"`
	// Ignored are files named like archives that are not archives (empty,
	// truncated before the manifest, another format): they take no keep slot
	// and are left alone.
	Ignored []Ignored `json:"ignored"`
}

// Ignored is a file named like an archive that Prune left alone, and why.
type Ignored struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// FutureMargin is how far after the time of the run an archive's name may
// lie and still count as made now: clocks of the machines that write into one
// directory or bucket differ by seconds, not hours.
const FutureMargin = time.Hour

// TenantResult lists one tenant's kept and removed archives, newest first.
// In a dry run Remove lists what would be removed; otherwise it lists what
// was to be removed, and any that was not (a failed removal, or one not
// reached when ctx was cancelled) is also in Result.Errors.
type TenantResult struct {
	Tenant string  `json:"tenant"`
	Keep   []Entry `json:"keep"`
	Remove []Entry `json:"remove"`
}

// Entry is one archive in a Result.
type Entry struct {
	Path    string    `json:"path"`
	Time    time.Time `json:"time"`
	Reasons []string  `json:"reasons,omitempty"`
}

// FileError is a removal that failed.
type FileError struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

// Option adjusts Prune.
type Option func(*options)

type options struct {
	tenant string
	wait   bool
	log    *slog.Logger
	now    func() time.Time
}

// Now sets the clock Prune takes for the time of the run (time.Now by
// default), against which archives dated in the future are told apart.
func Now(now func() time.Time) Option { return func(o *options) { o.now = now } }

// OnlyTenant limits Prune to the archives of one tenant; the others are
// neither listed nor touched.
func OnlyTenant(name string) Option { return func(o *options) { o.tenant = name } }

// WaitForLock makes Prune wait for the directory lock held by another
// connvault run (an export writing into dir) instead of failing at once.
func WaitForLock(wait bool) Option { return func(o *options) { o.wait = wait } }

// Logger sets where Prune logs what it removes and when it waits for the lock.
// By default it logs nothing.
func Logger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// Prune applies p to the archives in dir (a directory or a bucket URL, see
// package storage) and removes those it does not keep, unless dryRun. On a
// directory it holds dir's lock (see package dirlock) throughout, so it never
// races an export writing into dir; without WaitForLock(true) it fails at
// once with a *dirlock.LockedError if another run holds it. On a bucket there
// is no lock (see ScanLocation) and WaitForLock does nothing.
//
// A removal that fails is recorded in Result.Errors and the others go on; the
// Result is then returned together with an error that counts the failures.
// An invalid policy (see Policy.Validate) is refused before anything is read.
func Prune(ctx context.Context, dir string, p Policy, dryRun bool, opts ...Option) (*Result, error) {
	o := options{log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var archives []Archive
	var temps []string
	var tempsErr error
	remove := removeFile
	isArchive := func(path string) error {
		_, err := archive.ReadManifest(path)
		return err
	}
	if p, ok := storage.Local(dir); ok {
		dir = p // a file:// URL's path
	}
	if storage.IsBucket(dir) {
		// An object store has no lock to take: see ScanLocation for why a
		// prune racing an export there is still safe.
		loc, err := storage.Open(ctx, dir)
		if err != nil {
			return nil, err
		}
		defer loc.Close()
		if archives, err = ScanLocation(ctx, loc); err != nil {
			return nil, err
		}
		remove = func(path string) error { return loc.Delete(ctx, storage.BaseName(path)) }
		isArchive = func(path string) error {
			obj, err := loc.Open(ctx, storage.BaseName(path))
			if err != nil {
				return err
			}
			defer obj.Close()
			r, err := archive.OpenReader(obj, path, archive.ReadOptions{})
			if err != nil {
				return err
			}
			return r.Close()
		}
	} else {
		lock, err := acquire(ctx, dir, o)
		if err != nil {
			return nil, err
		}
		// The kernel drops the lock with the descriptor anyway, so a failed
		// release has nothing left to clean up.
		defer func() { _ = lock.Release() }()
		if !dryRun {
			// Holding the lock, no other run writes here: the archive
			// writer's temporary files are what a killed run left.
			temps, tempsErr = archive.RemoveTemps(dir, archive.StaleAfter)
			if len(temps) > 0 {
				o.log.Info(fmt.Sprintf("removed %d temporary files left by killed runs", len(temps)), "paths", temps)
			}
			if tempsErr != nil {
				o.log.Warn("could not remove a temporary file left by a killed run", "err", tempsErr)
			}
		}
		if archives, err = Scan(dir); err != nil {
			return nil, err
		}
	}
	if o.tenant != "" {
		archives = slices.DeleteFunc(archives, func(a Archive) bool { return a.Tenant != o.tenant })
	}

	res := &Result{Dir: dir, DryRun: dryRun, Policy: p, Tenants: []TenantResult{}, Errors: []FileError{}, Temps: temps, TempsErr: tempsErr,
		Future: []Entry{}, Ignored: []Ignored{}}
	archives, err := sortOut(ctx, archives, res, o.now().Add(FutureMargin), isArchive)
	if err != nil {
		return nil, err
	}
	var removeList []string
	for _, d := range Plan(archives, p) {
		if len(res.Tenants) == 0 || res.Tenants[len(res.Tenants)-1].Tenant != d.Tenant {
			res.Tenants = append(res.Tenants, TenantResult{Tenant: d.Tenant, Keep: []Entry{}, Remove: []Entry{}})
		}
		tr := &res.Tenants[len(res.Tenants)-1]
		if d.Keep {
			tr.Keep = append(tr.Keep, Entry{Path: d.Path, Time: d.Time, Reasons: d.Reasons})
		} else {
			tr.Remove = append(tr.Remove, Entry{Path: d.Path, Time: d.Time})
			removeList = append(removeList, d.Path)
		}
	}
	if dryRun {
		return res, nil
	}
	for i, path := range removeList {
		if err := ctx.Err(); err != nil {
			// Stop between files, and list the ones not reached so Errors
			// names every planned removal that did not happen.
			for _, left := range removeList[i:] {
				res.Errors = append(res.Errors, FileError{Path: left, Error: "interrupted"})
			}
			return res, fmt.Errorf("pruning %s interrupted after %d of %d removals: %w", dir, i, len(removeList), err)
		}
		if err := remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			o.log.Warn("could not remove archive", "path", path, "err", err)
			res.Errors = append(res.Errors, FileError{Path: path, Error: err.Error()})
			continue
		}
		o.log.Info("removed archive", "path", path)
	}
	if len(res.Errors) > 0 {
		return res, fmt.Errorf("pruning %s: %d of %d archives could not be removed (first: %s: %s)",
			dir, len(res.Errors), len(removeList), res.Errors[0].Path, res.Errors[0].Error)
	}
	return res, nil
}

// sortOut keeps out of the policy what must never take a keep slot: archives
// dated after notAfter (a wrong clock named them; kept, listed in
// res.Future) and files that only look like archives (listed in
// res.Ignored). Only a file whose manifest reads is an archive: a real
// archive's manifest is its first entry, so that costs a few KiB per file.
func sortOut(ctx context.Context, archives []Archive, res *Result, notAfter time.Time, isArchive func(string) error) ([]Archive, error) {
	var out []Archive
	for _, a := range archives {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if a.Time.After(notAfter) {
			res.Future = append(res.Future, Entry{Path: a.Path, Time: a.Time.UTC(), Reasons: []string{"dated in the future"}})
			continue
		}
		if err := isArchive(a.Path); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.Ignored = append(res.Ignored, Ignored{Path: a.Path, Reason: err.Error()})
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// acquire takes dir's lock, logging once when it has to wait so an unattended
// run that seems stuck says why.
func acquire(ctx context.Context, dir string, o options) (*dirlock.Lock, error) {
	lock, err := dirlock.Acquire(ctx, dir, false)
	var locked *dirlock.LockedError
	if err == nil || !o.wait || !errors.As(err, &locked) {
		return lock, err
	}
	o.log.Info("waiting for the directory lock", "dir", dir, "holderPid", locked.PID, "since", locked.Since)
	return dirlock.Acquire(ctx, dir, true)
}
