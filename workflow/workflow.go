// Package workflow holds what connvault's commands do, apart from how they are
// asked for: export a tenant into a destination, read a tenant, restore an
// archive with its pre-restore snapshot, promote between two tenants as named
// steps. Each workflow takes an Options struct and returns a result; the
// commands (package main) only turn flags into Options and results into
// output and exit codes, so every workflow is testable without urfave/cli.
package workflow

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/export"
)

// Env is what every workflow takes from its caller besides its Options.
type Env struct {
	Log *slog.Logger
	// Concurrency bounds the requests in flight (reading and applying).
	Concurrency int
	// ToolVersion goes into every manifest.
	ToolVersion string
	// Now is the UTC clock for archive names and manifests (time.Now when nil).
	Now func() time.Time
	// Progress, when set, starts a progress display for one phase; the
	// workflow calls Update as it goes and Finish at the end.
	Progress func(label string, stats func() apiclient.Stats) Progress
}

// Progress is one phase's progress display.
type Progress interface {
	Update(export.Progress)
	Finish()
}

type noProgress struct{}

func (noProgress) Update(export.Progress) {}
func (noProgress) Finish()                {}

func (e *Env) progress(label string, stats func() apiclient.Stats) Progress {
	if e.Progress == nil {
		return noProgress{}
	}
	if p := e.Progress(label, stats); p != nil {
		return p
	}
	return noProgress{}
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

func (e *Env) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Tenant is a connected tenant.
type Tenant struct {
	Client *apiclient.Client
	// Name labels the tenant's archives and messages: "acme", "sandbox",
	// or a named tenant's name.
	Name string
	// SourceURL, when set, is recorded in manifests instead of the client's
	// base URL (the in-process sandbox listens on a new port each run).
	SourceURL string
	// Protected reports the name of the protected tenant (in the tenants
	// file) that this tenant's base URL is, or ""; nil means never protected.
	Protected func(baseURL string) (string, error)
	// ProtectedID reports the name of the protected tenant whose recorded
	// identity is id (the tenant the token names), or ""; nil: none.
	ProtectedID func(id string) (string, error)
	// RecordID records id as the protected tenant name's identity, or
	// fails when it was recorded as another; nil: nothing recorded.
	RecordID func(ctx context.Context, name, id string) error
}

func (t *Tenant) sourceURL() string {
	if t.SourceURL != "" {
		return t.SourceURL
	}
	return t.Client.BaseURL()
}

// UsageError is a problem with what the caller asked for, found before
// anything was written (exit code 2 in the CLI).
type UsageError struct{ Err error }

func (u *UsageError) Error() string { return u.Err.Error() }
func (u *UsageError) Unwrap() error { return u.Err }

// ErrDeclined is returned when the confirmation was answered no.
var ErrDeclined = errors.New("cancelled")
