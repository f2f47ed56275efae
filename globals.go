package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	"github.com/connvault/connvault/tenants"
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
		&cli.StringFlag{Name: "tenant", EnvVars: []string{"CONNVAULT_TENANT"}, Usage: "use the named tenant `NAME` from the tenants file (see `connvault tenants`); SAIL_* settings win when set"},
		&cli.StringFlag{Name: "config", EnvVars: []string{tenants.EnvConfig}, Usage: "the tenants `FILE` (default: tenants.json in connvault's folder of the user configuration directory)"},
		&cli.StringFlag{Name: "api-version", EnvVars: []string{"SAIL_API_VERSION"}, Value: apiclient.VersionAuto, Usage: "API layout: auto (/connectors/v1, or v3 when that answers 404), v1 (/connectors/v1), v3, v2024, v2025 or v2026"},
		&cli.Float64Flag{Name: "rate", EnvVars: []string{"CONNVAULT_RATE"}, Value: apiclient.DefaultRate, Usage: "requests per second, counted per --rate-window and API version (the gateway allows 100 per 10 s per client id and version); 0 turns pacing off"},
		&cli.DurationFlag{Name: "rate-window", EnvVars: []string{"CONNVAULT_RATE_WINDOW"}, Value: apiclient.DefaultRateWindow, Usage: "the window --rate is counted in: at most rate x window requests in any span of it"},
		&cli.DurationFlag{Name: "max-wait", EnvVars: []string{"CONNVAULT_MAX_WAIT"}, Value: apiclient.DefaultMaxWait, Usage: "longest single wait the API may ask for (Retry-After); a longer one fails that request at once"},
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

// isTerminal tells whether w is a terminal: progress bars and colours only
// make sense there, never in cron mail or a pipe.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

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
	name   string // for file names: "acme", "sandbox", or a named tenant's name
	// protected is set for a named tenant marked protected: writes to it
	// need --yes-protected NAME (see checkWritable).
	protected bool
	close     func()
}

// errNoTenant names every way to configure one: the most common first-run
// mistake deserves the full answer.
var errNoTenant = errors.New("no tenant configured: set SAIL_BASE_URL, SAIL_CLIENT_ID and SAIL_CLIENT_SECRET " +
	"(or --client-secret-file), or name a tenant from the tenants file with --tenant NAME (see `connvault tenants add`), " +
	"or add --sandbox to try connvault against a built-in fake tenant")

// clientConfig is the apiclient configuration the global flags give, without
// a tenant's address or credentials.
func clientConfig(c *cli.Context, s *session) (apiclient.Config, error) {
	rate := flagFloat(c, "rate")
	if rate < 0 {
		return apiclient.Config{}, usagef("--rate %v: use a positive number of requests per second, or 0 for no pacing", rate)
	}
	if rate == 0 {
		rate = -1 // apiclient: negative disables pacing
	}
	apiVersion := flagString(c, "api-version")
	if !slices.Contains(apiclient.APIVersions, apiVersion) {
		return apiclient.Config{}, usagef("--api-version %q: use one of %s", apiVersion, strings.Join(apiclient.APIVersions, ", "))
	}
	window, maxWait := lookup(c, "rate-window").Duration("rate-window"), lookup(c, "max-wait").Duration("max-wait")
	if window < 100*time.Millisecond || window > time.Hour {
		return apiclient.Config{}, usagef("--rate-window %s: use a duration from 100ms to 1h, e.g. 10s (the gateway's)", window)
	}
	if maxWait < time.Second {
		return apiclient.Config{}, usagef("--max-wait %s: use a duration of at least 1s, e.g. 30m", maxWait)
	}
	return apiclient.Config{
		APIVersion: apiVersion,
		Rate:       rate,
		RateWindow: window,
		MaxWait:    maxWait,
		Logger:     s.log,
		UserAgent:  "connvault/" + version, // the tool's version, not the API's
	}, nil
}

// connect opens the tenant the flags describe: the in-process sandbox under
// --sandbox; else the SAIL_* settings when any is set (they win, as for the
// sail CLI); else the named tenant of --tenant or $CONNVAULT_TENANT.
func connect(ctx context.Context, c *cli.Context, s *session) (*tenant, error) {
	cfg, err := clientConfig(c, s)
	if err != nil {
		return nil, err
	}
	t := &tenant{close: func() {}}
	named := flagString(c, "tenant")
	sail := flagString(c, "base-url") != "" || flagString(c, "client-id") != ""
	switch {
	case flagBool(c, "sandbox"):
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
	case named != "" && !sail:
		return connectNamed(c, s, named)
	default:
		if named != "" {
			s.log.Warn(fmt.Sprintf("SAIL_BASE_URL/SAIL_CLIENT_ID (or --base-url/--client-id) are set and win over --tenant %s: unset them to use the named tenant", named))
		}
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

// tenantsPath is the tenants file: --config, else $CONNVAULT_CONFIG (both
// through the flag), else the default in the user configuration directory.
func tenantsPath(c *cli.Context) (string, error) {
	if p := flagString(c, "config"); p != "" {
		return p, nil
	}
	p, err := tenants.DefaultPath()
	if err != nil {
		return "", usageError(err)
	}
	return p, nil
}

// loadTenants reads the tenants file; a missing file is an empty list.
func loadTenants(c *cli.Context) (*tenants.Config, string, error) {
	path, err := tenantsPath(c)
	if err != nil {
		return nil, "", err
	}
	cfg, err := tenants.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &tenants.Config{}, path, nil
	}
	if err != nil {
		return nil, path, usageError(err)
	}
	return cfg, path, nil
}

// namedTenant finds name in the tenants file.
func namedTenant(c *cli.Context, name string) (tenants.Tenant, error) {
	if err := tenants.ValidName(name); err != nil {
		return tenants.Tenant{}, usageError(err)
	}
	cfg, path, err := loadTenants(c)
	if err != nil {
		return tenants.Tenant{}, err
	}
	tn, ok := cfg.Get(name)
	if !ok {
		have := strings.Join(cfg.Names(), ", ")
		if have == "" {
			have = "none"
		}
		return tenants.Tenant{}, usagef("no tenant %q in %s (have: %s): add it with `connvault tenants add %s --base-url URL --client-id ID --client-secret-env VAR`",
			name, path, have, name)
	}
	return tn, nil
}

// namedConfig is the apiclient configuration for a named tenant: its own API
// version when it has one, else the --api-version setting.
func namedConfig(c *cli.Context, s *session, tn tenants.Tenant) (apiclient.Config, error) {
	cfg, err := clientConfig(c, s)
	if err != nil {
		return cfg, err
	}
	secret, err := tn.Secret(s.log)
	if err != nil {
		return cfg, usageError(err)
	}
	cfg.BaseURL, cfg.ClientID, cfg.ClientSecret = tn.BaseURL, tn.ClientID, secret
	if tn.APIVersion != "" {
		cfg.APIVersion = tn.APIVersion
	}
	return cfg, nil
}

// connectNamed opens the tenant called name in the tenants file. Its name
// labels its archives.
func connectNamed(c *cli.Context, s *session, name string) (*tenant, error) {
	tn, err := namedTenant(c, name)
	if err != nil {
		return nil, err
	}
	cfg, err := namedConfig(c, s, tn)
	if err != nil {
		return nil, err
	}
	if tuneClient != nil {
		tuneClient(&cfg)
	}
	client, err := apiclient.New(cfg)
	if err != nil {
		return nil, usagef("tenant %q: %w", name, err)
	}
	return &tenant{client: client, name: tn.Name, protected: tn.Protected, close: func() {}}, nil
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
