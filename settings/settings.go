// Package settings resolves every setting of a connvault run once, before any
// request, with one precedence: a flag on the command line (before or after the
// command name) > the environment > the tenants file > the default.
//
// The credentials (base URL, client id, secret) are resolved as a group, so a
// run never pairs one source's base URL with another's client id:
//
//  1. --base-url / --client-id flags (missing members from SAIL_*);
//  2. a tenant named by --tenant on the command line (the tenants file's values);
//  3. SAIL_BASE_URL / SAIL_CLIENT_ID in the environment;
//  4. a tenant named by $CONNVAULT_TENANT.
//
// A tenant name and a base URL that name different tenants stop the run with a
// usage error naming both (ErrConflict): a stale shell variable must never
// redirect a run the command line aimed elsewhere.
//
// Every Setting records where it came from, for the debug log and --json
// outputs; a secret's value is never shown (Setting.Shown).
package settings

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/tenants"
	"golang.org/x/net/idna"
)

// Origin says which layer a setting came from.
type Origin string

const (
	FromFlag    Origin = "flag"
	FromEnv     Origin = "env"
	FromTenants Origin = "tenants file"
	FromDefault Origin = "default"
	FromSandbox Origin = "sandbox"
)

// Setting is one resolved value and where it came from.
type Setting struct {
	Name   string `json:"name"`
	Value  string `json:"value,omitempty"`
	Origin Origin `json:"origin"`
	// Detail names the flag, variable or tenant: "--base-url",
	// "$SAIL_BASE_URL", "tenant dev in /home/u/.config/connvault/tenants.json".
	Detail string `json:"detail,omitempty"`
	Secret bool   `json:"-"`
	// Note is said in the debug line after where the value came from: what
	// was stripped around a secret.
	Note string `json:"-"`
}

// Shown is the value as it may be printed: a secret is never shown.
func (s Setting) Shown() string {
	if s.Secret {
		if s.Value == "" {
			return ""
		}
		return "(hidden)"
	}
	return s.Value
}

// Describe is the setting as one phrase for a log line: "base-url=https://x
// (env $SAIL_BASE_URL)".
func (s Setting) Describe() string {
	where := string(s.Origin)
	if s.Detail != "" {
		where += " " + s.Detail
	}
	if s.Note != "" {
		where += "; " + s.Note
	}
	return fmt.Sprintf("%s=%s (%s)", s.Name, s.Shown(), where)
}

// Spec is one plain setting: its flag, its environment variable and its
// default. Adding a setting is one entry of Specs.
type Spec struct {
	Flag    string
	Env     string
	Default string
}

// Specs are the settings resolved flag > env > default (tenants file where
// Resolve says so). The credentials and the sandbox are resolved apart.
var Specs = []Spec{
	{Flag: "api-version", Env: "SAIL_API_VERSION", Default: apiclient.VersionAuto},
	{Flag: "rate", Env: "CONNVAULT_RATE", Default: strconv.FormatFloat(apiclient.DefaultRate, 'g', -1, 64)},
	{Flag: "rate-window", Env: "CONNVAULT_RATE_WINDOW", Default: apiclient.DefaultRateWindow.String()},
	{Flag: "max-wait", Env: "CONNVAULT_MAX_WAIT", Default: "30m"},
	{Flag: "concurrency", Env: "CONNVAULT_CONCURRENCY", Default: "8"},
	{Flag: "tenant", Env: "CONNVAULT_TENANT"},
	{Flag: "config", Env: tenants.EnvConfig},
	{Flag: "log-level", Env: "CONNVAULT_LOG_LEVEL", Default: "info"},
	{Flag: "log-format", Env: "CONNVAULT_LOG_FORMAT", Default: "text"},
	{Flag: "progress", Env: "CONNVAULT_PROGRESS", Default: "auto"},
	{Flag: "allow-host", Env: "CONNVAULT_ALLOW_HOST"},
	{Flag: "allow-insecure-http", Env: "CONNVAULT_ALLOW_INSECURE_HTTP", Default: "false"},
}

// Credential flags and variables.
const (
	EnvBaseURL          = "SAIL_BASE_URL"
	EnvClientID         = "SAIL_CLIENT_ID"
	EnvClientSecret     = "SAIL_CLIENT_SECRET"
	EnvClientSecretFile = "SAIL_CLIENT_SECRET_FILE"
)

// APIVersions are the accepted --api-version values: the client's list
// ("auto" lets it pick; "v1" is the per-service /connectors/v1 layout).
var APIVersions = apiclient.APIVersions

// Input is what Resolve reads.
type Input struct {
	// Flags holds the flags given on the command line, by name, wherever
	// they stood. A flag absent here was not given.
	Flags map[string]string
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
	// Sandbox is --sandbox: the credentials are the in-process sandbox's.
	Sandbox bool
	// Named, when set, resolves for this tenant of the tenants file (a
	// tenant:NAME operand, promote's --from and --to) whatever --tenant,
	// --base-url or SAIL_* say.
	Named string
	// DefaultRate replaces Specs' rate default (the sandbox is unpaced).
	DefaultRate string
	// Log receives the tenants package's warnings (a loose secret file).
	Log *slog.Logger
}

// Settings is the resolved configuration of a run.
type Settings struct {
	BaseURL, ClientID, ClientSecret Setting
	APIVersion, Rate, Concurrency   Setting
	RateWindow, MaxWait             Setting
	Tenant, Config                  Setting
	LogLevel, LogFormat, Progress   Setting
	// AllowHost lists hosts (comma-separated) that are not SailPoint API
	// hosts but are the user's own (a proxy, a vanity name): no warning.
	// AllowInsecureHTTP permits http:// to a host that is not loopback.
	AllowHost, AllowInsecureHTTP Setting
	Sandbox                      bool

	// RateValue and ConcurrencyValue are Rate and Concurrency parsed.
	RateValue        float64
	ConcurrencyValue int
	// RateWindowValue and MaxWaitValue are RateWindow and MaxWait parsed.
	RateWindowValue, MaxWaitValue time.Duration
	// Named is the tenants file's entry when it supplied the credentials.
	Named *tenants.Tenant

	tenantsFile *tenants.Config
	tenantsErr  error
	r           *resolver
	tenantDone  bool
	tenantErr   error
}

// All lists every setting in a fixed order, for logs and --json.
func (s *Settings) All() []Setting {
	return []Setting{s.BaseURL, s.ClientID, s.ClientSecret, s.APIVersion, s.Rate, s.Concurrency,
		s.Tenant, s.Config, s.LogLevel, s.LogFormat, s.Progress, s.RateWindow, s.MaxWait, s.AllowHost, s.AllowInsecureHTTP}
}

// Public is All with secrets hidden: what --json prints.
func (s *Settings) Public() []Setting {
	out := s.All()
	for i := range out {
		out[i].Value = out[i].Shown()
	}
	return out
}

// ErrUsage marks an error in the settings themselves (exit code 2).
var ErrUsage = errors.New("usage")

// ErrConflict is a tenant name and a base URL that name different tenants.
var ErrConflict = errors.New("conflicting tenant settings")

type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() []error {
	return []error{u.err, ErrUsage}
}

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// resolver carries Input through Resolve.
type resolver struct {
	in Input
	// warnedSecretFlag: the process-listing warning is given once a run.
	warnedSecretFlag bool
	env              func(string) string
}

func (r *resolver) plain(sp Spec, def string) Setting {
	if v, ok := r.in.Flags[sp.Flag]; ok {
		return Setting{Name: sp.Flag, Value: v, Origin: FromFlag, Detail: "--" + sp.Flag}
	}
	if sp.Env != "" {
		if v := r.env(sp.Env); v != "" {
			return Setting{Name: sp.Flag, Value: v, Origin: FromEnv, Detail: "$" + sp.Env}
		}
	}
	return Setting{Name: sp.Flag, Value: def, Origin: FromDefault}
}

// Default is the default of the plain setting flag ("" for none), for help
// texts: one place says it.
func Default(flag string) string { return specOf(flag).Default }

func specOf(flag string) Spec {
	for _, sp := range Specs {
		if sp.Flag == flag {
			return sp
		}
	}
	panic("settings: no spec for " + flag)
}

// Resolve resolves every setting. Its errors match ErrUsage (exit code 2),
// and ErrConflict too when a tenant and a base URL disagree. It reads the
// tenants file only when a tenant is named or a write needs the protected
// list (Protected), and a secret only from the source that won.
func Resolve(in Input) (*Settings, error) {
	r := &resolver{in: in, env: in.Getenv}
	if r.env == nil {
		r.env = os.Getenv
	}
	s := &Settings{Sandbox: in.Sandbox}
	s.APIVersion = r.plain(specOf("api-version"), specOf("api-version").Default)
	rateDefault := specOf("rate").Default
	if in.DefaultRate != "" {
		rateDefault = in.DefaultRate
	}
	s.Rate = r.plain(specOf("rate"), rateDefault)
	s.Concurrency = r.plain(specOf("concurrency"), specOf("concurrency").Default)
	s.RateWindow = r.plain(specOf("rate-window"), specOf("rate-window").Default)
	s.MaxWait = r.plain(specOf("max-wait"), specOf("max-wait").Default)
	s.Tenant = r.plain(specOf("tenant"), "")
	s.Config = r.plain(specOf("config"), "")
	s.LogLevel = r.plain(specOf("log-level"), specOf("log-level").Default)
	s.LogFormat = r.plain(specOf("log-format"), specOf("log-format").Default)
	s.Progress = r.plain(specOf("progress"), specOf("progress").Default)
	s.AllowHost = r.plain(specOf("allow-host"), "")
	s.AllowInsecureHTTP = r.plain(specOf("allow-insecure-http"), specOf("allow-insecure-http").Default)
	if s.Config.Value == "" {
		p, err := tenants.DefaultPath()
		if err == nil {
			s.Config.Value = p
		}
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	s.r = r
	return s, nil
}

// ResolveTenant resolves the credentials (and a named tenant's API version)
// once; commands that never contact a tenant do not call it, so a stale
// variable or a missing secret does not fail them. Call it before any
// request: a conflict between a tenant name and a base URL fails here.
func (s *Settings) ResolveTenant() error {
	if s.tenantDone {
		return s.tenantErr
	}
	s.tenantDone = true
	s.tenantErr = s.r.credentials(s)
	if s.tenantErr == nil {
		s.tenantErr = s.checkAddress()
	}
	if s.tenantErr == nil && s.Named != nil && s.Named.APIVersion != "" && s.APIVersion.Origin == FromDefault {
		s.APIVersion = Setting{Name: "api-version", Value: s.Named.APIVersion, Origin: FromTenants, Detail: s.r.tenantDetail(s, s.Named.Name)}
		if !slices.Contains(APIVersions, s.APIVersion.Value) {
			s.tenantErr = usagef("tenant %q in %s: apiVersion %q: use one of %s", s.Named.Name, s.Config.Value, s.APIVersion.Value, strings.Join(APIVersions, ", "))
		}
	}
	return s.tenantErr
}

// check validates the plain settings.
func (s *Settings) check() error {
	if !slices.Contains(APIVersions, s.APIVersion.Value) {
		return usagef("%s %q: use one of %s", s.APIVersion.label(), s.APIVersion.Value, strings.Join(APIVersions, ", "))
	}
	rate, err := strconv.ParseFloat(strings.TrimSpace(s.Rate.Value), 64)
	if err != nil {
		return usagef("%s %q is not a number: use a positive number of requests per second, or 0 for no pacing", s.Rate.label(), s.Rate.Value)
	}
	if rate < 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		return usagef("%s %s: use a positive number of requests per second, or 0 for no pacing", s.Rate.label(), s.Rate.Value)
	}
	s.RateValue = rate
	n, err := strconv.Atoi(strings.TrimSpace(s.Concurrency.Value))
	if err != nil {
		return usagef("%s %q is not a number: use a number from 1 to 256", s.Concurrency.label(), s.Concurrency.Value)
	}
	if n < 1 || n > 256 {
		return usagef("%s %s: use a number from 1 to 256", s.Concurrency.label(), s.Concurrency.Value)
	}
	s.ConcurrencyValue = n
	if s.RateWindowValue, err = time.ParseDuration(strings.TrimSpace(s.RateWindow.Value)); err != nil || s.RateWindowValue < 100*time.Millisecond || s.RateWindowValue > time.Hour {
		return usagef("%s %q: use a duration from 100ms to 1h, e.g. 10s (the gateway's window)", s.RateWindow.label(), s.RateWindow.Value)
	}
	if s.MaxWaitValue, err = time.ParseDuration(strings.TrimSpace(s.MaxWait.Value)); err != nil || s.MaxWaitValue < time.Second {
		return usagef("%s %q: use a duration of at least 1s, e.g. 30m", s.MaxWait.label(), s.MaxWait.Value)
	}
	switch strings.ToLower(s.LogLevel.Value) {
	case "debug", "info", "warn", "warning", "error", "":
	default:
		return usagef("%s %q: use debug, info, warn or error", s.LogLevel.label(), s.LogLevel.Value)
	}
	switch s.LogFormat.Value {
	case "text", "json", "":
	default:
		return usagef("%s %q: use text or json", s.LogFormat.label(), s.LogFormat.Value)
	}
	switch s.Progress.Value {
	case "auto", "always", "never", "":
	default:
		return usagef("%s %q: use auto, always or never", s.Progress.label(), s.Progress.Value)
	}
	if _, err := strconv.ParseBool(s.AllowInsecureHTTP.Value); err != nil {
		return usagef("%s %q: use true or false", s.AllowInsecureHTTP.label(), s.AllowInsecureHTTP.Value)
	}
	if s.Tenant.Value != "" {
		if err := tenants.ValidName(s.Tenant.Value); err != nil {
			return usagef("%s: %w", s.Tenant.label(), err)
		}
	}
	return nil
}

// sailPointAPIDomains are the domains of ISC's API hosts
// (TENANT.api.identitynow.com and the demo and partner pods'): a base URL
// elsewhere sends the client secret to someone else's host.
var sailPointAPIDomains = []string{"identitynow.com", "identitynow-demo.com", "sailpointtechnologies.com"}

// checkAddress stops what would send the client secret where it must not
// go, before any request: a base URL with a user name or password in it
// (refused, never printed), plain http:// to a host that is not this
// machine's loopback (refused unless --allow-insecure-http). A host that is
// not a SailPoint API host is said loudly, unless --allow-host (or the
// tenant's allowHost) names it: a pull request changing a committed
// tenants file's baseUrl must not pass unseen.
func (s *Settings) checkAddress() error {
	if s.Sandbox {
		return nil
	}
	raw := strings.TrimSpace(s.BaseURL.Value)
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" || (!strings.EqualFold(u.Scheme, "https") && !strings.EqualFold(u.Scheme, "http")) {
		return nil // apiclient words what is wrong with it
	}
	where := strings.TrimSpace(string(s.BaseURL.Origin) + " " + s.BaseURL.Detail)
	if u.User != nil {
		return usagef("the base URL from %s holds a user name or password: refused (and not printed); credentials go in the client id and secret", where)
	}
	host := canonicalHost(u.Hostname())
	loopback := host == "127.0.0.1"
	insecureOK, _ := strconv.ParseBool(s.AllowInsecureHTTP.Value)
	if strings.EqualFold(u.Scheme, "http") && !loopback && !insecureOK {
		return usagef("the base URL %s (from %s) is plain http:// to %s, which would send the client secret in clear: use https://, or add --allow-insecure-http if this really is a trusted proxy",
			raw, where, u.Hostname())
	}
	if loopback || s.hostAllowed(host) || s.r.in.Log == nil {
		return nil
	}
	for _, d := range sailPointAPIDomains {
		if host == d || !strings.HasSuffix(host, "."+d) {
			continue
		}
		if strings.Contains(host, ".api.") {
			return nil
		}
		// acme.identitynow.com is the UI; the API is acme.api.identitynow.com.
		if tenant, _, ok := strings.Cut(host, "."); ok {
			s.r.in.Log.Warn(fmt.Sprintf("the base URL %s (from %s) is the web UI's host, not the API's: the API host is %s.api.%s",
				raw, where, tenant, strings.TrimPrefix(host, tenant+".")))
		}
		return nil
	}
	s.r.in.Log.Warn(fmt.Sprintf("the client secret goes to %s (the base URL's host, from %s), which is NOT a SailPoint API host (TENANT.api.identitynow.com). "+
		"If it is your proxy or vanity name, say so with --allow-host %s (or \"allowHost\": true for the tenant in the tenants file)", u.Hostname(), where, u.Hostname()))
	return nil
}

// hostAllowed reports whether --allow-host (or the named tenant's
// allowHost) vouches for host.
func (s *Settings) hostAllowed(host string) bool {
	if s.Named != nil && s.Named.AllowHost {
		return true
	}
	for _, h := range strings.Split(s.AllowHost.Value, ",") {
		if h = strings.TrimSpace(h); h != "" && canonicalHost(h) == host {
			return true
		}
	}
	return false
}

// label names where a bad value came from: "--rate" or "$CONNVAULT_RATE".
func (s Setting) label() string {
	if s.Detail != "" && s.Origin != FromTenants {
		return s.Detail
	}
	return "--" + s.Name
}

// TenantsFile loads the tenants file once; a missing file is an empty list.
func (s *Settings) TenantsFile() (*tenants.Config, error) {
	if s.tenantsFile != nil || s.tenantsErr != nil {
		return s.tenantsFile, s.tenantsErr
	}
	if s.Config.Value == "" {
		s.tenantsErr = usagef("no user configuration directory for the tenants file: give --config FILE or set %s", tenants.EnvConfig)
		return nil, s.tenantsErr
	}
	cfg, err := tenants.Load(s.Config.Value)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.tenantsFile = &tenants.Config{}
	case err != nil:
		s.tenantsErr = usageError{err}
	default:
		s.tenantsFile = cfg
		if cfg.LooseMode && s.r.in.Log != nil {
			s.r.in.Log.Warn(fmt.Sprintf("tenants file is readable by others (mode %04o): chmod 600 it", cfg.Mode), "file", s.Config.Value)
		}
	}
	return s.tenantsFile, s.tenantsErr
}

// Lookup finds a named tenant in the tenants file, with an error that says how
// to add it.
func (s *Settings) Lookup(name string) (tenants.Tenant, error) {
	if err := tenants.ValidName(name); err != nil {
		return tenants.Tenant{}, usageError{err}
	}
	cfg, err := s.TenantsFile()
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
			name, s.Config.Value, have, name)
	}
	return tn, nil
}

func (r *resolver) tenantDetail(s *Settings, name string) string {
	return fmt.Sprintf("tenant %s in %s", name, s.Config.Value)
}

// credentials resolves the base URL, client id and secret as one group.
func (r *resolver) credentials(s *Settings) error {
	if s.Sandbox {
		for _, p := range []*Setting{&s.BaseURL, &s.ClientID, &s.ClientSecret} {
			*p = Setting{Origin: FromSandbox}
		}
		s.BaseURL.Name, s.ClientID.Name, s.ClientSecret.Name = "base-url", "client-id", "client-secret"
		s.ClientSecret.Secret = true
		return nil
	}
	if r.in.Named != "" {
		return r.fromTenant(s, r.in.Named, "")
	}
	flagURL, hasFlagURL := r.in.Flags["base-url"]
	_, hasFlagID := r.in.Flags["client-id"]
	envURL, envID := r.env(EnvBaseURL), r.env(EnvClientID)
	tenantName, tenantOrigin := s.Tenant.Value, s.Tenant.Origin

	switch {
	case hasFlagURL || hasFlagID:
		// Both on the command line and contradicting each other: refuse. A
		// flag beats $CONNVAULT_TENANT as it beats any variable.
		if tenantName != "" && tenantOrigin == FromFlag && hasFlagURL {
			if err := r.conflict(s, tenantName, flagURL, "--base-url"); err != nil {
				return err
			}
		}
		return r.fromFlagsAndEnv(s)
	case tenantName != "" && tenantOrigin == FromFlag:
		if envURL != "" {
			if err := r.conflict(s, tenantName, envURL, "$"+EnvBaseURL); err != nil {
				return err
			}
		}
		return r.fromTenant(s, tenantName, "--tenant")
	case envURL != "" || envID != "":
		if tenantName != "" && envURL != "" {
			if err := r.conflict(s, tenantName, envURL, "$"+EnvBaseURL); err != nil {
				return err
			}
		}
		return r.fromFlagsAndEnv(s)
	case tenantName != "":
		return r.fromTenant(s, tenantName, "$CONNVAULT_TENANT")
	}
	return r.fromFlagsAndEnv(s)
}

// conflict fails when tenant name's base URL differs from baseURL (given by
// what).
func (r *resolver) conflict(s *Settings, name, baseURL, what string) error {
	tn, err := s.Lookup(name)
	if err != nil {
		return err
	}
	if SameBaseURL(tn.BaseURL, baseURL) {
		return nil
	}
	return usageError{fmt.Errorf("%w: %s names tenant %q (%s) but %s is %s: nothing was done; unset %s or drop the tenant so that one tenant is named",
		ErrConflict, s.Tenant.label(), name, tn.BaseURL, what, baseURL, what)}
}

func (r *resolver) fromTenant(s *Settings, name, via string) error {
	tn, err := s.Lookup(name)
	if err != nil {
		return err
	}
	detail := r.tenantDetail(s, name)
	s.Named = &tn
	s.BaseURL = Setting{Name: "base-url", Value: tn.BaseURL, Origin: FromTenants, Detail: detail}
	s.ClientID = Setting{Name: "client-id", Value: tn.ClientID, Origin: FromTenants, Detail: detail}
	secret, err := tn.Secret(r.in.Log)
	if err != nil {
		return usageError{err}
	}
	s.ClientSecret = Setting{Name: "client-secret", Value: secret, Origin: FromTenants, Detail: detail + " (" + tn.SecretSource() + ")", Secret: true}
	if via != "" && s.Tenant.Value == name {
		s.Tenant.Detail = via
	}
	if r.in.Named == "" {
		// A credential flag on the command line beats the tenants file.
		if v, ok := r.in.Flags["client-id"]; ok {
			s.ClientID = Setting{Name: "client-id", Value: v, Origin: FromFlag, Detail: "--client-id"}
		}
		if err := r.secretFromFlags(s); err != nil {
			return err
		}
	}
	if r.in.Named != "" {
		s.Tenant = Setting{Name: "tenant", Value: name, Origin: FromFlag, Detail: "tenant:" + name}
	}
	return nil
}

// fromFlagsAndEnv takes each credential from its flag, else its variable.
func (r *resolver) fromFlagsAndEnv(s *Settings) error {
	get := func(flag, env string) Setting {
		if v, ok := r.in.Flags[flag]; ok {
			return Setting{Name: flag, Value: v, Origin: FromFlag, Detail: "--" + flag}
		}
		if v := r.env(env); v != "" {
			return Setting{Name: flag, Value: v, Origin: FromEnv, Detail: "$" + env}
		}
		return Setting{Name: flag, Origin: FromDefault}
	}
	s.BaseURL = get("base-url", EnvBaseURL)
	s.ClientID = get("client-id", EnvClientID)
	s.ClientSecret = Setting{Name: "client-secret", Origin: FromDefault, Secret: true}
	return r.secret(s, true)
}

// secretFromFlags replaces the secret with one given by a flag, if any.
func (r *resolver) secretFromFlags(s *Settings) error { return r.secret(s, false) }

// secret takes the secret from the first source that has one. A file beats
// the value at the same layer: it keeps the secret out of process listings. A
// flag beats any variable; withEnv false looks at the flags only.
func (r *resolver) secret(s *Settings, withEnv bool) error {
	for _, c := range []struct {
		origin Origin
		detail string
		value  func() (string, bool)
		file   bool
	}{
		{FromFlag, "--client-secret-file", func() (string, bool) { v, ok := r.in.Flags["client-secret-file"]; return v, ok }, true},
		{FromFlag, "--client-secret", func() (string, bool) { v, ok := r.in.Flags["client-secret"]; return v, ok }, false},
		{FromEnv, "$" + EnvClientSecretFile, func() (string, bool) { v := r.env(EnvClientSecretFile); return v, v != "" }, true},
		{FromEnv, "$" + EnvClientSecret, func() (string, bool) { v := r.env(EnvClientSecret); return v, v != "" }, false},
	} {
		if c.origin == FromEnv && !withEnv {
			continue
		}
		v, ok := c.value()
		if !ok {
			continue
		}
		if c.file {
			secret, err := readSecretFile(c.detail, v)
			if err != nil {
				return err
			}
			v = secret
		}
		v, note := tenants.CleanSecret(v)
		if c.detail == "--client-secret" && r.in.Log != nil && !r.warnedSecretFlag {
			r.warnedSecretFlag = true
			r.in.Log.Warn("--client-secret shows the secret in process listings (ps, /proc): prefer --client-secret-file or $" + EnvClientSecretFile)
		}
		s.ClientSecret = Setting{Name: "client-secret", Value: v, Origin: c.origin, Detail: c.detail, Secret: true, Note: note}
		break
	}
	return nil
}

func readSecretFile(what, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", usagef("%s: %w", what, err)
	}
	// Returned as stored: the caller strips it and notes what went.
	if secret, _ := tenants.CleanSecret(string(b)); secret == "" {
		return "", usagef("%s %s is empty: put the client secret in it", what, path)
	}
	return string(b), nil
}

// Missing names the credential variables that are still empty.
func (s *Settings) Missing() []string {
	if s.Sandbox {
		return nil
	}
	var missing []string
	for _, p := range []struct {
		v    Setting
		name string
	}{{s.BaseURL, EnvBaseURL}, {s.ClientID, EnvClientID}, {s.ClientSecret, EnvClientSecret}} {
		if p.v.Value == "" {
			missing = append(missing, p.name)
		}
	}
	return missing
}

// Protected returns the name of the protected tenant of the tenants file
// whose base URL is baseURL, or "". Protection belongs to the target, not to
// how it was named: it applies whether the run reached the tenant through
// --tenant, SAIL_BASE_URL or --base-url. A tenants file that cannot be read
// is an error, since then nobody can tell.
func (s *Settings) Protected(baseURL string) (string, error) {
	cfg, err := s.TenantsFile()
	if err != nil {
		return "", fmt.Errorf("cannot tell whether %s is a protected tenant: %w", baseURL, err)
	}
	for _, tn := range cfg.Tenants {
		if tn.Protected && SameBaseURL(tn.BaseURL, baseURL) {
			return tn.Name, nil
		}
	}
	return "", nil
}

// ProtectedID returns the name of the protected tenant whose recorded
// identity (the tenant its tokens name, see tenants.Tenant.TenantID) is id,
// or "": a target is protected by what it is, not only by its address.
func (s *Settings) ProtectedID(id string) (string, error) {
	if id == "" {
		return "", nil
	}
	cfg, err := s.TenantsFile()
	if err != nil {
		return "", fmt.Errorf("cannot tell whether the target is a protected tenant: %w", err)
	}
	for _, tn := range cfg.Tenants {
		if tn.Protected && tn.TenantID == id {
			return tn.Name, nil
		}
	}
	return "", nil
}

// RecordID records id as the identity of the protected tenant name on first
// contact. A tenant recorded as another identity is an error: its base URL
// now reaches a different tenant.
func (s *Settings) RecordID(ctx context.Context, name, id string) error {
	if id == "" {
		return nil
	}
	cfg, err := s.TenantsFile()
	if err != nil {
		return err
	}
	if tn, ok := cfg.Get(name); !ok || !tn.Protected || tn.TenantID == id {
		return nil
	} else if tn.TenantID != "" {
		return fmt.Errorf("the protected tenant %q was recorded as tenant %s, but its base URL %s now answers as tenant %s; "+
			"if the tenant really changed, remove \"tenantId\" from its entry in %s", name, tn.TenantID, tn.BaseURL, id, s.Config.Value)
	}
	err = tenants.Update(ctx, s.Config.Value, func(c *tenants.Config) error {
		for i := range c.Tenants {
			if c.Tenants[i].Name == name && c.Tenants[i].TenantID == "" {
				c.Tenants[i].TenantID = id
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording the identity of protected tenant %q: %w", name, err)
	}
	s.tenantsFile, s.tenantsErr = nil, nil // read again with the record
	if s.r.in.Log != nil {
		s.r.in.Log.Info(fmt.Sprintf("recorded the identity of protected tenant %s (tenant %s): it stays protected under any other address", name, id))
	}
	return nil
}

// SameBaseURL compares two base URLs as addresses: scheme and host without
// case, default ports, trailing slashes and surrounding blanks ignored.
func SameBaseURL(a, b string) bool {
	return NormalizeBaseURL(a) == NormalizeBaseURL(b)
}

// NormalizeBaseURL is the comparable form of a base URL. Odd text (an
// empty port, blanks) can normalise to something that normalises further;
// the form is taken once it no longer changes, so it is canonical.
func NormalizeBaseURL(s string) string {
	n := normalizeOnce(s)
	for range 8 {
		next := normalizeOnce(n)
		if next == n {
			break
		}
		n = next
	}
	return n
}

func normalizeOnce(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		// Not a URL: compared as text, blanks and trailing slashes aside.
		for t := ""; t != s; {
			t = s
			s = strings.TrimSpace(strings.TrimRight(s, "/"))
		}
		return strings.ToLower(s)
	}
	host := canonicalHost(u.Hostname())
	port := u.Port()
	if n, err := strconv.ParseUint(port, 10, 16); err == nil {
		port = strconv.FormatUint(n, 10) // :044060 is :44060
	}
	scheme := strings.ToLower(u.Scheme)
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}

// canonicalHost is one spelling of a host: lower case, no trailing dot,
// IDNA's ASCII form, an IP address in its shortest form (an IPv4-mapped IPv6
// address as IPv4), and every name of this machine's loopback (localhost,
// 127.0.0.0/8, ::1) as 127.0.0.1, since they all reach the same server.
func canonicalHost(h string) string {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if a, err := netip.ParseAddr(h); err == nil {
		a = a.Unmap().WithZone("")
		if a.IsLoopback() {
			return "127.0.0.1"
		}
		return a.String()
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return "127.0.0.1"
	}
	if ascii, err := idna.Lookup.ToASCII(h); err == nil && ascii != "" {
		h = ascii
	}
	return h
}
