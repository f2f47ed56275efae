package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/retention"
	"github.com/connvault/connvault/sandbox"
)

// Global flags are accepted before or after the command name
// (`connvault --sandbox export` and `connvault export --sandbox`), so every
// command carries them too and flagString and friends look through the
// lineage for the one the user set.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "base-url", EnvVars: []string{"SAIL_BASE_URL"}, Usage: "tenant API base URL, e.g. https://acme.api.identitynow.com"},
		&cli.StringFlag{Name: "client-id", EnvVars: []string{"SAIL_CLIENT_ID"}, Usage: "OAuth2 client id (API client or personal access token)"},
		&cli.StringFlag{Name: "client-secret", EnvVars: []string{"SAIL_CLIENT_SECRET"}, Usage: "OAuth2 client secret (prefer the environment or --client-secret-file: flags show in process listings)"},
		&cli.StringFlag{Name: "client-secret-file", EnvVars: []string{"SAIL_CLIENT_SECRET_FILE"}, Usage: "read the client secret from this `FILE`"},
		&cli.StringFlag{Name: "api-version", EnvVars: []string{"SAIL_API_VERSION"}, Value: "v3", Usage: "API version prefix: v3, v2024, v2025 or v2026"},
		&cli.Float64Flag{Name: "rate", EnvVars: []string{"CONNVAULT_RATE"}, Value: apiclient.DefaultRate, Usage: "requests per second for all requests together (the gateway allows 100 per 10 s per client id); 0 turns pacing off"},
		&cli.IntFlag{Name: "concurrency", EnvVars: []string{"CONNVAULT_CONCURRENCY"}, Value: 8, Usage: "requests in flight at once"},
		&cli.BoolFlag{Name: "sandbox", Usage: "run against a built-in, in-process fake tenant seeded with sample connectors (no credentials needed)"},
		&cli.StringFlag{Name: "progress", Value: "auto", Usage: "progress bar on stderr: auto (only on a terminal), always or never"},
		&cli.StringFlag{Name: "log-level", EnvVars: []string{"CONNVAULT_LOG_LEVEL"}, Value: "info", Usage: "debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", EnvVars: []string{"CONNVAULT_LOG_FORMAT"}, Value: "text", Usage: "text or json (for log shippers)"},
	}
}

// withGlobals returns a command's own flags followed by the global ones.
func withGlobals(own ...cli.Flag) []cli.Flag {
	return append(own, globalFlags()...)
}

func lookup(c *cli.Context, name string) *cli.Context {
	for _, ctx := range c.Lineage() {
		if ctx != nil && ctx.IsSet(name) {
			return ctx
		}
	}
	return c
}

func flagString(c *cli.Context, name string) string { return lookup(c, name).String(name) }
func flagBool(c *cli.Context, name string) bool     { return lookup(c, name).Bool(name) }
func flagInt(c *cli.Context, name string) int       { return lookup(c, name).Int(name) }
func flagFloat(c *cli.Context, name string) float64 { return lookup(c, name).Float64(name) }
func validateGlobals(c *cli.Context) error          { return nil }
func isTerminal(w io.Writer) bool                   { f, ok := w.(*os.File); return ok && term.IsTerminal(int(f.Fd())) }
func stdinIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
func stdoutOf(c *cli.Context) io.Writer { return c.App.Writer }
func stderrOf(c *cli.Context) io.Writer { return c.App.ErrWriter }

// session is what a command needs from the global flags.
type session struct {
	stdout, stderr io.Writer
	log            *slog.Logger
	progress       bool
	concurrency    int
}

func newSession(c *cli.Context) (*session, error) {
	s := &session{stdout: stdoutOf(c), stderr: stderrOf(c)}
	var level slog.Level
	switch strings.ToLower(flagString(c, "log-level")) {
	case "debug":
		level = slog.LevelDebug
	case "info", "":
		level = slog.LevelInfo
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, usagef("--log-level %q: use debug, info, warn or error", flagString(c, "log-level"))
	}
	switch flagString(c, "log-format") {
	case "text", "":
		s.log = slog.New(&lineHandler{w: s.stderr, level: level, mu: &sync.Mutex{}})
	case "json":
		s.log = slog.New(slog.NewJSONHandler(s.stderr, &slog.HandlerOptions{Level: level}))
	default:
		return nil, usagef("--log-format %q: use text or json", flagString(c, "log-format"))
	}
	switch flagString(c, "progress") {
	case "auto", "":
		s.progress = isTerminal(s.stderr) && flagString(c, "log-format") != "json"
	case "always":
		s.progress = true
	case "never":
	default:
		return nil, usagef("--progress %q: use auto, always or never", flagString(c, "progress"))
	}
	s.concurrency = flagInt(c, "concurrency")
	if s.concurrency < 1 || s.concurrency > 256 {
		return nil, usagef("--concurrency %d: use a number from 1 to 256", s.concurrency)
	}
	return s, nil
}

// tenant is a connected tenant and how to name it in file names and output.
type tenant struct {
	client *apiclient.Client
	name   string // for file names: "acme", or "sandbox"
	close  func()
}

// errNoTenant names every way to configure one: the most common first-run
// mistake deserves the full answer.
var errNoTenant = errors.New("no tenant configured: set SAIL_BASE_URL, SAIL_CLIENT_ID and SAIL_CLIENT_SECRET " +
	"(or --client-secret-file), or add --sandbox to try connvault against a built-in fake tenant")

// connect opens the tenant the flags describe: the in-process sandbox under
// --sandbox, otherwise the SAIL_* settings.
func connect(ctx context.Context, c *cli.Context, s *session) (*tenant, error) {
	rate := flagFloat(c, "rate")
	if rate < 0 {
		return nil, usagef("--rate %v: use a positive number of requests per second, or 0 for no pacing", rate)
	}
	if rate == 0 {
		rate = -1 // apiclient: negative disables pacing
	}
	version := flagString(c, "api-version")
	if !slices.Contains(apiclient.APIVersions, version) {
		return nil, usagef("--api-version %q: use one of %s", version, strings.Join(apiclient.APIVersions, ", "))
	}
	cfg := apiclient.Config{
		APIVersion: version,
		Rate:       rate,
		Logger:     s.log,
		UserAgent:  "connvault/" + version,
	}
	t := &tenant{close: func() {}}
	if flagBool(c, "sandbox") {
		if lookup(c, "rate") == c && !c.IsSet("rate") {
			// The in-process sandbox has no gateway to protect: pacing it at
			// the real limit would only make the demo slow.
			cfg.Rate = -1
		}
		srv, err := sandbox.Start(ctx, "127.0.0.1:0", sandbox.Options{})
		if err != nil {
			return nil, fmt.Errorf("starting the sandbox tenant: %w", err)
		}
		s.log.Info("using the built-in sandbox tenant", "url", srv.URL)
		cfg.BaseURL, cfg.ClientID, cfg.ClientSecret = srv.URL, srv.ClientID, srv.ClientSecret
		t.name = "sandbox"
		t.close = func() { _ = srv.Close() }
	} else {
		cfg.BaseURL = flagString(c, "base-url")
		cfg.ClientID = flagString(c, "client-id")
		secret, err := clientSecret(c)
		if err != nil {
			return nil, err
		}
		cfg.ClientSecret = secret
		if cfg.BaseURL == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
			var missing []string
			if cfg.BaseURL == "" {
				missing = append(missing, "SAIL_BASE_URL")
			}
			if cfg.ClientID == "" {
				missing = append(missing, "SAIL_CLIENT_ID")
			}
			if cfg.ClientSecret == "" {
				missing = append(missing, "SAIL_CLIENT_SECRET")
			}
			return nil, usageError(fmt.Errorf("%w (missing: %s)", errNoTenant, strings.Join(missing, ", ")))
		}
		t.name = retention.TenantFromBaseURL(cfg.BaseURL)
	}
	if tuneClient != nil {
		tuneClient(&cfg)
	}
	client, err := apiclient.New(cfg)
	if err != nil {
		t.close()
		return nil, usageError(err)
	}
	t.client = client
	return t, nil
}

// tuneClient, when set, adjusts every client's configuration: tests shorten
// the idle timeout and the retries with it, so a hostile server is given up on
// in milliseconds instead of minutes.
var tuneClient func(*apiclient.Config)

// clientSecret prefers --client-secret-file: a secret in a file stays out of
// process listings and shell history.
func clientSecret(c *cli.Context) (string, error) {
	path := flagString(c, "client-secret-file")
	if path == "" {
		return flagString(c, "client-secret"), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", usagef("--client-secret-file: %w", err)
	}
	secret := strings.TrimRight(string(b), "\r\n")
	if secret == "" {
		return "", usagef("--client-secret-file %s is empty: put the client secret in it", path)
	}
	return secret, nil
}

// lineHandler writes `connvault: message key=value` lines: what a person
// reading a cron mail wants, without slog's timestamps.
type lineHandler struct {
	w     io.Writer
	level slog.Level
	attrs []slog.Attr
	mu    *sync.Mutex
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("connvault: ")
	if r.Level >= slog.LevelWarn {
		b.WriteString(strings.ToLower(r.Level.String()))
		b.WriteString(": ")
	} else if r.Level < slog.LevelInfo {
		b.WriteString("debug: ")
	}
	b.WriteString(r.Message)
	write := func(a slog.Attr) {
		if a.Equal(slog.Attr{}) {
			return
		}
		v := a.Value.Resolve().String()
		if strings.ContainsAny(v, " \t\"=") || v == "" {
			v = fmt.Sprintf("%q", v)
		}
		fmt.Fprintf(&b, " %s=%s", a.Key, v)
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(func(a slog.Attr) bool { write(a); return true })
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(slices.Clone(h.attrs), as...)
	return &n
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }

// utcNow is the clock for file names and manifests; tests replace it.
var utcNow = func() time.Time { return time.Now().UTC() }
