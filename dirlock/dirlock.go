// Package dirlock is an advisory lock on a directory, so that two connvault
// runs writing into or pruning the same directory (an export still running
// when the next night's starts, a prune during an export) never interleave.
//
// The lock is an OS file lock on DIR/.connvault.lock: flock(2) on unix,
// LockFileEx on Windows. The kernel drops it when the holder's descriptor is
// closed, including when the process crashes or is killed, so there are no
// stale locks to clean up. The file itself stays in place (deleting it would
// let two runs lock two different files) and holds the current holder's pid,
// host and start time, only so a refused run can say who holds it. Like every
// advisory lock it binds only programs that take it, and it is unreliable on
// some network file systems.
//
// On platforms with neither flock nor LockFileEx (aix, plan9, js/wasm,
// wasip1) Acquire only creates the lock file and always succeeds: there is no
// mutual exclusion there.
package dirlock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// FileName is the lock file's name inside the locked directory. It starts with
// a dot so listings and retention ignore it.
const FileName = ".connvault.lock"

// maxPoll bounds the wait between attempts while waiting for the lock, so a
// freed lock is taken within about a second.
const maxPoll = time.Second

// Lock is a held directory lock.
type Lock struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// LockedError is returned by Acquire without wait when another run holds the
// lock. PID, Host and Since come from the lock file and are zero when the
// holder had not written them yet.
type LockedError struct {
	Dir   string
	PID   int
	Host  string
	Since time.Time
}

func (e *LockedError) Error() string {
	holder := "holder unknown"
	if e.PID != 0 {
		holder = fmt.Sprintf("pid %d", e.PID)
		if e.Host != "" {
			holder += " on " + e.Host
		}
		if !e.Since.IsZero() {
			holder += ", since " + e.Since.UTC().Format(time.RFC3339)
		}
	}
	return fmt.Sprintf("%s is locked by another connvault run (%s); use --wait to wait for it, or run again when it has finished", e.Dir, holder)
}

// holder is the lock file's content.
type holder struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host,omitempty"`
	Since time.Time `json:"since"`
}

// Acquire locks dir, which must exist. With wait false it fails at once with
// a *LockedError if another run (in this or another process) holds the lock;
// with wait true it blocks until the lock is free or ctx is done.
func Acquire(ctx context.Context, dir string, wait bool) (*Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("locking %s: not a directory", dir)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	delay := 25 * time.Millisecond
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if ok {
			break
		}
		if !wait {
			h := readHolder(f)
			f.Close()
			return nil, &LockedError{Dir: dir, PID: h.PID, Host: h.Host, Since: h.Since}
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("waiting for the lock on %s: %w", dir, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, maxPoll)
	}
	if err := writeHolder(f); err != nil {
		unlock(f)
		f.Close()
		return nil, fmt.Errorf("writing lock file %s: %w", path, err)
	}
	return &Lock{f: f, path: path}, nil
}

// Release unlocks the directory. It is safe to call more than once.
func (l *Lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	// Clear the holder first so nobody reads a finished run as the holder.
	terr := f.Truncate(0)
	uerr := unlock(f)
	cerr := f.Close()
	if err := errors.Join(terr, uerr, cerr); err != nil {
		return fmt.Errorf("releasing lock %s: %w", l.path, err)
	}
	return nil
}

func writeHolder(f *os.File) error {
	host, _ := os.Hostname()
	b, err := json.Marshal(holder{PID: os.Getpid(), Host: host, Since: time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteAt(b, 0)
	return err
}

// readHolder reads who holds the lock; it is only for the error message, so a
// file being rewritten or garbled just gives an unknown holder.
func readHolder(f *os.File) holder {
	buf := make([]byte, 4096)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return holder{}
	}
	var h holder
	if json.Unmarshal(bytes.TrimSpace(buf[:n]), &h) != nil {
		return holder{}
	}
	return h
}
