package command

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
	"github.com/connvault/connvault/internal/termtext"
	"github.com/connvault/connvault/retention"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/settings"
	"github.com/connvault/connvault/tenants"
	"github.com/connvault/connvault/workflow"
)

// Global flags are accepted before or after the command name
// (`connvault --sandbox export` and `connvault export --sandbox`), so every
// command carries them too. They read no environment themselves: package
// settings resolves flag > environment > tenants file > default in one place,
// so a variable can never count as a flag given on the command line.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "base-url", Usage: "tenant API base URL, e.g. https://acme.api.identitynow.com [$SAIL_BASE_URL]"},
		&cli.StringFlag{Name: "client-id", Usage: "OAuth2 client id (API client or personal access token) [$SAIL_CLIENT_ID]"},
		&cli.StringFlag{Name: "client-secret", Usage: "OAuth2 client secret (prefer the environment or --client-secret-file: flags show in process listings) [$SAIL_CLIENT_SECRET]"},
		&cli.StringFlag{Name: "client-secret-file", Usage: "read the client secret from this `FILE` [$SAIL_CLIENT_SECRET_FILE]"},
		&cli.StringFlag{Name: "tenant", Usage: "use the named tenant `NAME` from the tenants file (see `connvault tenants`); a SAIL_BASE_URL naming another tenant is refused [$CONNVAULT_TENANT]"},
		&cli.StringFlag{Name: "config", Usage: "the tenants `FILE` (default: tenants.json in connvault's folder of the user configuration directory) [$" + tenants.EnvConfig + "]"},
		&cli.StringFlag{Name: "api-version", DefaultText: settings.Default("api-version"), Usage: "API layout: " + strings.Join(settings.APIVersions, ", ") + "; auto lists through /connectors/v1 and uses v3 when that answers 404 [$SAIL_API_VERSION]"},
		&cli.StringFlag{Name: "rate", DefaultText: settings.Default("rate"), Usage: "requests per second, counted per --rate-window and API version (the gateway allows 100 per 10 s per client id and version); 0 turns pacing off [$CONNVAULT_RATE]"},
		&cli.StringFlag{Name: "rate-window", DefaultText: settings.Default("rate-window"), Usage: "the window --rate is counted in: at most rate x window requests in any span of it [$CONNVAULT_RATE_WINDOW]"},
		&cli.StringFlag{Name: "max-wait", DefaultText: settings.Default("max-wait"), Usage: "longest single wait the API may ask for (Retry-After); a longer one fails that request at once [$CONNVAULT_MAX_WAIT]"},
		&cli.StringFlag{Name: "concurrency", DefaultText: settings.Default("concurrency"), Usage: "requests in flight at once [$CONNVAULT_CONCURRENCY]"},
		&cli.StringFlag{Name: "allow-host", Usage: "a base URL `HOST` that is not a SailPoint API host but yours (a proxy, a vanity name; comma-separated): no warning [$CONNVAULT_ALLOW_HOST]"},
		&cli.BoolFlag{Name: "allow-insecure-http", Usage: "allow an http:// base URL to a host that is not this machine (the secret then travels in clear) [$CONNVAULT_ALLOW_INSECURE_HTTP]"},
		&cli.BoolFlag{Name: "sandbox", Usage: "run against a built-in, in-process fake tenant seeded with sample connectors (no credentials needed)"},
		&cli.StringFlag{Name: "progress", DefaultText: settings.Default("progress"), Usage: "progress bar on stderr: auto (only on a terminal), always or never [$CONNVAULT_PROGRESS]"},
		&cli.StringFlag{Name: "log-level", DefaultText: settings.Default("log-level"), Usage: "debug, info, warn or error [$CONNVAULT_LOG_LEVEL]"},
		&cli.StringFlag{Name: "log-format", DefaultText: settings.Default("log-format"), Usage: "text or json (for log shippers) [$CONNVAULT_LOG_FORMAT]"},
	}
}

// withGlobals returns a command's own flags followed by the global ones.
func withGlobals(own ...cli.Flag) []cli.Flag {
	return append(own, globalFlags()...)
}

// givenFlags returns the flags given on the command line, by name, wherever
// they stood: after the command first, so `connvault --rate 1 export --rate 2`
// runs at 2, as the later word on the line.
func givenFlags(c *cli.Context) map[string]string {
	out := map[string]string{}
	for _, ctx := range c.Lineage() {
		if ctx == nil {
			continue
		}
		for _, n := range ctx.LocalFlagNames() {
			if _, done := out[n]; !done {
				out[n] = ctx.String(n)
			}
		}
	}
	return out
}

// flagGiven reports a boolean flag given anywhere on the command line.
func flagGiven(c *cli.Context, name string) bool {
	for _, ctx := range c.Lineage() {
		if ctx != nil && slices.Contains(ctx.LocalFlagNames(), name) {
			return ctx.Bool(name)
		}
	}
	return false
}

// isTerminal tells whether w is a terminal: progress bars and colours only
// make sense there, never in cron mail or a pipe.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// colorWanted is colour's "auto": a terminal, and no NO_COLOR (no-color.org:
// any non-empty value turns colour off).
func colorWanted(w io.Writer) bool {
	return isTerminal(w) && os.Getenv("NO_COLOR") == ""
}

func stdinIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func stdoutOf(c *cli.Context) io.Writer { return c.App.Writer }
func stderrOf(c *cli.Context) io.Writer { return c.App.ErrWriter }

// session is what a command needs from the global settings.
type session struct {
	stdout, stderr io.Writer
	log            *slog.Logger
	progress       bool
	concurrency    int
	settings       *settings.Settings
	given          map[string]string // flags on the command line, for named tenants
}

// env is what the workflows take from the session.
func (s *session) env() *workflow.Env {
	return &workflow.Env{
		Log:         s.log,
		Concurrency: s.concurrency,
		ToolVersion: toolVersion(),
		Now:         utcNow,
		Progress: func(label string, stats func() apiclient.Stats) workflow.Progress {
			return newProgress(s, label, stats)
		},
	}
}

// resolveInput is what package settings needs from the command line.
func resolveInput(c *cli.Context, given map[string]string, log *slog.Logger) settings.Input {
	in := settings.Input{Flags: given, Sandbox: flagGiven(c, "sandbox"), Log: log}
	if in.Sandbox {
		// The in-process sandbox has no gateway to protect: pacing it at
		// the real limit would only make the demo slow.
		in.DefaultRate = "0"
	}
	return in
}

func newSession(c *cli.Context) (*session, error) {
	s := &session{stdout: stdoutOf(c), stderr: stderrOf(c), given: givenFlags(c)}
	// A first logger for warnings met while resolving (a loose secret file).
	pre := slog.New(&lineHandler{w: s.stderr, level: slog.LevelInfo, mu: &sync.Mutex{}})
	st, err := settings.Resolve(resolveInput(c, s.given, pre))
	if err != nil {
		return nil, err
	}
	s.settings = st
	var level slog.Level
	switch strings.ToLower(st.LogLevel.Value) {
	case "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	if st.LogFormat.Value == "json" {
		s.log = slog.New(slog.NewJSONHandler(s.stderr, &slog.HandlerOptions{Level: level}))
	} else {
		s.log = slog.New(&lineHandler{w: s.stderr, level: level, mu: &sync.Mutex{}})
	}
	switch st.Progress.Value {
	case "always":
		s.progress = true
	case "never":
	default:
		s.progress = isTerminal(s.stderr) && st.LogFormat.Value != "json"
	}
	s.concurrency = st.ConcurrencyValue
	for _, v := range st.All()[3:] {
		s.log.Debug("setting " + v.Describe())
	}
	return s, nil
}

// tenant is a connected tenant and how to let go of it.
type tenant struct {
	*workflow.Tenant
	close func()
	// settings are the ones it was opened with, for --json's origins.
	settings *settings.Settings
}

// errNoTenant names every way to configure one: the most common first-run
// mistake deserves the full answer.
var errNoTenant = errors.New("no tenant configured: set SAIL_BASE_URL, SAIL_CLIENT_ID and SAIL_CLIENT_SECRET " +
	"(or --client-secret-file), or name a tenant from the tenants file with --tenant NAME (see `connvault tenants add`), " +
	"or add --sandbox to try connvault against a built-in fake tenant")

// missingSettings leads with what is missing when only part of a tenant's
// settings is given, and says where the rest came from.
func missingSettings(st *settings.Settings, missing []string) error {
	var have []string
	for _, v := range []settings.Setting{st.BaseURL, st.ClientID, st.ClientSecret} {
		if v.Value != "" {
			have = append(have, fmt.Sprintf("%s from %s", v.Name, strings.TrimSpace(string(v.Origin)+" "+v.Detail)))
		}
	}
	what := strings.Join(missing, " and ")
	if slices.Contains(missing, settings.EnvClientSecret) {
		what = strings.Replace(what, settings.EnvClientSecret, settings.EnvClientSecret+" (or --client-secret-file / "+settings.EnvClientSecretFile+")", 1)
	}
	return fmt.Errorf("missing %s; the other settings are given (%s); or name a tenant of the tenants file with --tenant NAME", what, strings.Join(have, ", "))
}

// clientConfig is the apiclient configuration of resolved settings, without a
// tenant's address or credentials.
func clientConfig(s *session, st *settings.Settings) apiclient.Config {
	rate := st.RateValue
	if rate == 0 {
		rate = -1 // apiclient: negative disables pacing
	}
	return apiclient.Config{
		APIVersion: st.APIVersion.Value,
		Rate:       rate,
		RateWindow: st.RateWindowValue,
		MaxWait:    st.MaxWaitValue,
		Logger:     s.log,
		UserAgent:  "connvault/" + toolVersion(), // the tool's version, not the API's
	}
}

// connect opens the tenant the settings describe: the in-process sandbox
// under --sandbox, else the credentials package settings resolved.
func connect(ctx context.Context, c *cli.Context, s *session) (*tenant, error) {
	return open(ctx, s, s.settings)
}

// connectNamed opens the tenant called name in the tenants file (a
// tenant:NAME operand, promote's --from and --to), whatever --tenant,
// --base-url or SAIL_* say. Its name labels its archives.
func connectNamed(c *cli.Context, s *session, name string) (*tenant, error) {
	in := resolveInput(c, s.given, s.log)
	in.Named, in.Sandbox = name, false
	st, err := settings.Resolve(in)
	if err != nil {
		return nil, err
	}
	return open(c.Context, s, st)
}

func open(ctx context.Context, s *session, st *settings.Settings) (*tenant, error) {
	if err := st.ResolveTenant(); err != nil {
		return nil, err
	}
	for _, v := range st.All()[:3] {
		s.log.Debug("setting " + v.Describe())
	}
	cfg := clientConfig(s, st)
	t := &tenant{Tenant: &workflow.Tenant{}, close: func() {}, settings: st}
	switch {
	case st.Sandbox:
		srv, err := sandbox.Start(ctx, "127.0.0.1:0", sandbox.Options{})
		if err != nil {
			return nil, fmt.Errorf("starting the sandbox tenant: %w", err)
		}
		s.log.Info("using the built-in sandbox tenant", "url", srv.URL)
		cfg.BaseURL, cfg.ClientID, cfg.ClientSecret = srv.URL, srv.ClientID, srv.ClientSecret
		t.Name = "sandbox"
		// The in-process sandbox listens on a new port each run; a stable
		// source keeps archives of it comparable.
		t.SourceURL = "sandbox"
		t.close = func() { _ = srv.Close() }
	default:
		if missing := st.Missing(); len(missing) == 3 {
			return nil, usageError(fmt.Errorf("%w (missing: %s)", errNoTenant, strings.Join(missing, ", ")))
		} else if len(missing) > 0 {
			return nil, usageError(missingSettings(st, missing))
		}
		cfg.BaseURL, cfg.ClientID, cfg.ClientSecret = st.BaseURL.Value, st.ClientID.Value, st.ClientSecret.Value
		if st.Named != nil {
			t.Name = st.Named.Name
		} else {
			t.Name = retention.TenantFromBaseURL(cfg.BaseURL)
		}
		t.Protected = st.Protected
		t.ProtectedID = st.ProtectedID
		t.RecordID = st.RecordID
	}
	if tuneClient != nil {
		tuneClient(&cfg)
	}
	client, err := apiclient.New(cfg)
	if err != nil {
		t.close()
		if st.Named != nil {
			return nil, usagef("tenant %q: %w", st.Named.Name, err)
		}
		return nil, usageError(err)
	}
	t.Client = client
	if !st.Sandbox {
		closeClient := t.close
		t.close = func() {
			rememberProtected(s, st, client)
			closeClient()
		}
	}
	return t, nil
}

// rememberProtected records, on first contact with a protected tenant by its
// own address (any command that fetched a token), which tenant its token
// names, so that it stays protected under any other address.
func rememberProtected(s *session, st *settings.Settings, client *apiclient.Client) {
	id := client.KnownTenantIdentity()
	if id == "" {
		return
	}
	name, err := st.Protected(client.BaseURL())
	if err != nil || name == "" {
		return
	}
	if err := st.RecordID(context.Background(), name, id); err != nil {
		s.log.Warn(err.Error())
	}
}

// tenantsPath is the tenants file: --config, else $CONNVAULT_CONFIG, else the
// default in the user configuration directory.
func tenantsPath(c *cli.Context) (string, error) {
	st, err := settings.Resolve(settings.Input{Flags: givenFlags(c)})
	if err != nil {
		return "", err
	}
	if st.Config.Value == "" {
		_, err := tenants.DefaultPath()
		return "", usageError(err)
	}
	return st.Config.Value, nil
}

// tuneClient, when set, adjusts every client's configuration: tests shorten
// the idle timeout and the retries with it, so a hostile server is given up on
// in milliseconds instead of minutes.
var tuneClient func(*apiclient.Config)

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
	// Messages and values carry server and archive text: escaped, so a
	// name holding ESC or CR cannot rewrite the terminal (termtext).
	b.WriteString(termtext.Escape(r.Message))
	write := func(a slog.Attr) {
		if a.Equal(slog.Attr{}) {
			return
		}
		v := a.Value.Resolve().String()
		if strings.ContainsAny(v, " \t\"=") || v == "" {
			v = fmt.Sprintf("%q", v)
		}
		fmt.Fprintf(&b, " %s=%s", termtext.Escape(a.Key), termtext.Escape(v))
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
