// Package tenants reads and writes connvault's named-tenant configuration: a
// JSON file listing tenants by name with their API base URL, OAuth2 client id
// and where the client secret comes from (an environment variable or a file).
// The file never holds a secret: Parse refuses one that does, so the file can
// be shared, committed or printed without leaking credentials.
//
// The file looks like this:
//
//	{
//	  "version": 1,
//	  "tenants": [
//	    {"name": "dev", "baseUrl": "https://acme-dev.api.identitynow.com",
//	     "clientId": "2c91...", "clientSecretEnv": "ACME_DEV_SECRET"},
//	    {"name": "prod", "baseUrl": "https://acme.api.identitynow.com",
//	     "clientId": "2c92...", "clientSecretFile": "/etc/connvault/prod.secret",
//	     "apiVersion": "v2025", "protected": true}
//	  ]
//	}
package tenants

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/dirlock"
)

// EnvConfig names the environment variable that overrides the default
// configuration file path.
const EnvConfig = "CONNVAULT_CONFIG"

// FormatVersion is the "version" the file declares. A file without one is
// taken as version 1, so a hand-written file needs no boilerplate.
const FormatVersion = 1

// maxFileSize bounds what Load reads: a tenant list is a few kilobytes.
const maxFileSize = 1 << 20

// Tenant is one named tenant. Exactly one of ClientSecretEnv and
// ClientSecretFile says where its secret comes from.
type Tenant struct {
	// Name is how commands refer to the tenant (--tenant NAME, tenant:NAME)
	// and labels its archives' file names, so it is restricted to the
	// characters archive names allow: a-z, 0-9 and '-'.
	Name     string `json:"name"`
	BaseURL  string `json:"baseUrl"`
	ClientID string `json:"clientId"`
	// ClientSecretEnv names the environment variable holding the secret.
	ClientSecretEnv string `json:"clientSecretEnv,omitempty"`
	// ClientSecretFile is a file holding the secret (trailing newlines are
	// ignored). A relative path is relative to the configuration file.
	ClientSecretFile string `json:"clientSecretFile,omitempty"`
	// APIVersion, when set, is used instead of the --api-version setting.
	APIVersion string `json:"apiVersion,omitempty"`
	// Protected tenants are only written to when the user names them
	// explicitly (--yes-protected NAME).
	Protected bool `json:"protected,omitempty"`
	// TenantID is the tenant the tenant's tokens name (their tenant_id
	// claim), recorded for a protected tenant on first contact: a target
	// whose token names it is protected however its base URL is spelled.
	TenantID string `json:"tenantId,omitempty"`
	// AllowHost vouches for a BaseURL whose host is not a SailPoint API
	// host (a proxy, a vanity name), which is otherwise warned about.
	AllowHost bool `json:"allowHost,omitempty"`

	dir string // the configuration file's directory, for a relative ClientSecretFile
}

// Config is the whole file.
type Config struct {
	Tenants []Tenant
	// LooseMode is set by Load when the file is readable by its group or
	// others (Mode its permission bits): worth a warning, not a refusal.
	LooseMode bool
	Mode      fs.FileMode
}

type fileFormat struct {
	Version int               `json:"version"`
	Tenants []json.RawMessage `json:"tenants"`
}

// DefaultPath is the configuration file used when neither a flag nor
// $CONNVAULT_CONFIG names one: tenants.json in connvault's folder of the
// user's configuration directory.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no user configuration directory for the tenants file (%w): give --config FILE or set %s", err, EnvConfig)
	}
	return filepath.Join(dir, "connvault", "tenants.json"), nil
}

// Load reads and validates the configuration file at path. A missing file
// gives an error that matches fs.ErrNotExist, so a caller can treat it as an
// empty configuration where that makes sense.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tenants file %s: %w", path, err)
	}
	defer f.Close()
	if err := CheckNotWritableByOthers(f, "tenants file"); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("tenants file %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("tenants file %s: larger than %d bytes: this is not a tenants file", path, maxFileSize)
	}
	cfg, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	for i := range cfg.Tenants {
		cfg.Tenants[i].dir = dir
	}
	cfg.LooseMode, cfg.Mode = LooseMode(f)
	return cfg, nil
}

// Parse decodes and validates a configuration file's bytes; source names the
// file in errors. It refuses a file that holds a secret. Errors never quote
// the file's values, since a misplaced secret could be among them.
func Parse(data []byte, source string) (*Config, error) {
	var ff fileFormat
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ff); err != nil {
		return nil, fmt.Errorf("tenants file %s: %s", source, describeJSONError(err))
	}
	if dec.More() {
		return nil, fmt.Errorf("tenants file %s: more than one JSON document: keep one object with a \"tenants\" list", source)
	}
	if ff.Version != 0 && ff.Version != FormatVersion {
		return nil, fmt.Errorf("tenants file %s: version %d is not supported (this connvault reads version %d): upgrade connvault", source, ff.Version, FormatVersion)
	}
	cfg := &Config{}
	var problems []error
	for i, raw := range ff.Tenants {
		t, err := parseTenant(raw)
		if err != nil {
			problems = append(problems, fmt.Errorf("tenant #%d: %w", i+1, err))
			continue
		}
		cfg.Tenants = append(cfg.Tenants, t)
	}
	if err := cfg.Validate(); err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("tenants file %s: %w", source, errors.Join(problems...))
	}
	return cfg, nil
}

// secretKeys are field names that would put a secret into the file. They
// are caught by name, before anything else, so the error can say what to do
// instead of just "unknown field".
func isSecretKey(k string) bool {
	l := strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(k))
	switch l {
	case "clientsecretenv", "clientsecretfile":
		return false
	}
	return strings.Contains(l, "secret") || strings.Contains(l, "password") || strings.Contains(l, "token")
}

func parseTenant(raw json.RawMessage) (Tenant, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Tenant{}, fmt.Errorf("not a JSON object: %s", describeJSONError(err))
	}
	for k := range fields {
		if isSecretKey(k) {
			name := ""
			_ = json.Unmarshal(fields["name"], &name)
			who := "this tenant"
			if ValidName(name) == nil {
				who = fmt.Sprintf("tenant %q", name)
			}
			return Tenant{}, fmt.Errorf("%s has a literal secret in field %q: the file must not hold secrets; remove the field and use "+
				"\"clientSecretEnv\" (an environment variable's name) or \"clientSecretFile\" (a file's path), and rotate the secret if the file was shared", who, k)
		}
	}
	var t Tenant
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Tenant{}, errors.New(describeJSONError(err))
	}
	return t, nil
}

// describeJSONError rewords encoding/json's errors without the offending
// value (UnmarshalTypeError only ever names the JSON type; the others name
// no value either, but this keeps it so if they change).
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("not valid JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q must be a %s, not a JSON %s", typ.Field, typ.Type.Kind(), typ.Value)
		}
		return fmt.Sprintf("expected a %s, not a JSON %s", typ.Type.Kind(), typ.Value)
	case errors.Is(err, io.EOF):
		return "empty: write {\"version\": 1, \"tenants\": []} or add a tenant with `connvault tenants add`"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field ") {
		return "unknown field " + strings.TrimPrefix(msg, "json: unknown field ") +
			": known fields are name, baseUrl, clientId, clientSecretEnv, clientSecretFile, apiVersion, protected"
	}
	return msg
}

// ValidName checks a tenant name: 1 to 63 characters of a-z, 0-9 and '-',
// not starting or ending with '-'. These are the characters archive file
// names allow for their tenant part.
func ValidName(name string) error {
	if name == "" {
		return errors.New("tenant name is empty")
	}
	if len(name) > 63 {
		return fmt.Errorf("tenant name %q is longer than 63 characters", name[:63]+"...")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("tenant name %q: use only lower-case letters, digits and '-' (it becomes part of archive file names)", name)
		}
	}
	if name[0] == '-' || name[len(name)-1] == '-' {
		return fmt.Errorf("tenant name %q must not start or end with '-'", name)
	}
	return nil
}

// validEnvName is the portable shape of an environment variable name.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Validate checks one tenant's fields and reports every problem at once.
func (t Tenant) Validate() error {
	var problems []string
	if err := ValidName(t.Name); err != nil {
		problems = append(problems, err.Error())
	}
	if err := checkBaseURL(t.BaseURL); err != nil {
		problems = append(problems, err.Error())
	}
	if strings.TrimSpace(t.ClientID) == "" {
		problems = append(problems, "clientId is empty: give the API client's or personal access token's client id")
	}
	switch {
	case t.ClientSecretEnv == "" && t.ClientSecretFile == "":
		problems = append(problems, "no secret source: give clientSecretEnv (an environment variable's name) or clientSecretFile (a file's path)")
	case t.ClientSecretEnv != "" && t.ClientSecretFile != "":
		problems = append(problems, "both clientSecretEnv and clientSecretFile are set: keep one")
	case t.ClientSecretEnv != "" && !validEnvName(t.ClientSecretEnv):
		problems = append(problems, "clientSecretEnv is not an environment variable name (letters, digits and '_', not starting with a digit): "+
			"it must name the variable that holds the secret, not be the secret")
	}
	if t.APIVersion != "" && !slices.Contains(apiclient.APIVersions, t.APIVersion) {
		problems = append(problems, fmt.Sprintf("apiVersion %q: use one of %s", t.APIVersion, strings.Join(apiclient.APIVersions, ", ")))
	}
	if len(problems) == 0 {
		return nil
	}
	who := "tenant"
	if ValidName(t.Name) == nil {
		who = fmt.Sprintf("tenant %q", t.Name)
	}
	return fmt.Errorf("%s: %s", who, strings.Join(problems, "; "))
}

// checkBaseURL accepts what apiclient accepts, and refuses credentials in the
// URL (without quoting it, since they would be a secret).
func checkBaseURL(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("baseUrl is empty: give the tenant's API base URL, e.g. https://acme.api.identitynow.com")
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return errors.New("baseUrl is not a URL: give e.g. https://acme.api.identitynow.com")
	}
	if u.User != nil {
		return errors.New("baseUrl holds a user name or password: remove it (credentials go in clientId and the secret source)")
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("baseUrl %q is not of the form https://TENANT.api.identitynow.com", s)
	}
	for _, v := range apiclient.APIVersions {
		if strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/"+v) {
			return fmt.Errorf("baseUrl %q must not include the API version: drop the /%s (set apiVersion instead)", s, v)
		}
	}
	return nil
}

// Validate checks every tenant and that names are unique.
func (c *Config) Validate() error {
	var problems []error
	seen := map[string]bool{}
	for _, t := range c.Tenants {
		if err := t.Validate(); err != nil {
			problems = append(problems, err)
		}
		if t.Name != "" && seen[t.Name] {
			problems = append(problems, fmt.Errorf("tenant %q is listed twice: keep one", t.Name))
		}
		seen[t.Name] = true
	}
	return errors.Join(problems...)
}

// Get returns the tenant called name.
func (c *Config) Get(name string) (Tenant, bool) {
	for _, t := range c.Tenants {
		if t.Name == name {
			return t, true
		}
	}
	return Tenant{}, false
}

// Names lists the tenants' names in file order.
func (c *Config) Names() []string {
	out := make([]string, 0, len(c.Tenants))
	for _, t := range c.Tenants {
		out = append(out, t.Name)
	}
	return out
}

// Put adds t, or replaces the tenant of the same name when replace is set.
func (c *Config) Put(t Tenant, replace bool) error {
	if err := t.Validate(); err != nil {
		return err
	}
	for i := range c.Tenants {
		if c.Tenants[i].Name == t.Name {
			if !replace {
				return fmt.Errorf("tenant %q already exists: remove it first, or replace it (--force)", t.Name)
			}
			c.Tenants[i] = t
			return nil
		}
	}
	c.Tenants = append(c.Tenants, t)
	return nil
}

// Remove deletes the tenant called name.
func (c *Config) Remove(name string) error {
	for i := range c.Tenants {
		if c.Tenants[i].Name == name {
			c.Tenants = slices.Delete(c.Tenants, i, i+1)
			return nil
		}
	}
	return fmt.Errorf("no tenant %q (have: %s)", name, listOrNone(c.Names()))
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Save writes c to path atomically with mode 0600 (its directory 0700 when
// created): a temporary file beside it, synced, then renamed, so a reader
// never sees half a file.
func Save(path string, c *Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	ff := struct {
		Version int      `json:"version"`
		Tenants []Tenant `json:"tenants"`
	}{FormatVersion, c.Tenants}
	if ff.Tenants == nil {
		ff.Tenants = []Tenant{}
	}
	data, err := json.MarshalIndent(ff, "", "  ")
	if err != nil {
		return fmt.Errorf("tenants file %s: %w", path, err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tenants file %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("tenants file %s: %w", path, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("tenants file %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("tenants file %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("tenants file %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tenants file %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("tenants file %s: %w", path, err)
	}
	done = true
	if d, err := os.Open(dir); err == nil {
		// The rename is durable once the directory is synced; failing to
		// sync it is not worth failing the command for.
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// SecretSource describes where the secret comes from, for listings:
// "env ACME_SECRET" or "file /path". It never holds the secret.
func (t Tenant) SecretSource() string {
	if t.ClientSecretEnv != "" {
		return "env " + t.ClientSecretEnv
	}
	return "file " + t.SecretPath()
}

// SecretPath is ClientSecretFile resolved against the configuration file's
// directory ("" when the secret comes from the environment).
func (t Tenant) SecretPath() string {
	if t.ClientSecretFile == "" {
		return ""
	}
	if filepath.IsAbs(t.ClientSecretFile) || t.dir == "" {
		return t.ClientSecretFile
	}
	return filepath.Join(t.dir, t.ClientSecretFile)
}

// Secret reads the tenant's client secret from its environment variable or
// file. A secret file that others can read is used, with a warning on log
// (which may be nil). Errors name the variable or file, never the secret.
func (t Tenant) Secret(log *slog.Logger) (string, error) {
	if t.ClientSecretEnv != "" {
		v := cleanSecret(os.Getenv(t.ClientSecretEnv), log, "tenant "+t.Name+": $"+t.ClientSecretEnv)
		if v == "" {
			return "", fmt.Errorf("tenant %q: environment variable %s is not set or empty: export it with the client secret", t.Name, t.ClientSecretEnv)
		}
		return v, nil
	}
	path := t.SecretPath()
	if path == "" {
		return "", fmt.Errorf("tenant %q: no secret source: set clientSecretEnv or clientSecretFile", t.Name)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("tenant %q: client secret file: %w", t.Name, err)
	}
	defer f.Close()
	if err := CheckNotWritableByOthers(f, fmt.Sprintf("tenant %q: client secret file", t.Name)); err != nil {
		return "", err
	}
	if loose, mode := LooseMode(f); loose && log != nil {
		log.Warn(fmt.Sprintf("client secret file is readable by others (mode %04o): chmod 600 it", mode), "tenant", t.Name, "file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", fmt.Errorf("tenant %q: client secret file %s: %w", t.Name, path, err)
	}
	secret := cleanSecret(string(b), log, "tenant "+t.Name+": client secret file")
	if secret == "" {
		return "", fmt.Errorf("tenant %q: client secret file %s is empty: put the client secret in it", t.Name, path)
	}
	return secret, nil
}

// CleanSecret strips what editors and shells add around a secret as users
// store it (a byte-order mark, surrounding blanks, a trailing newline or CR).
// stripped says what went, for a debug line ("" when nothing did); it never
// holds the secret.
func CleanSecret(s string) (clean, stripped string) {
	clean = strings.TrimPrefix(s, "\uFEFF")
	bom := len(clean) != len(s)
	clean = strings.TrimSpace(clean)
	switch {
	case bom && len(clean)+len("\uFEFF") != len(s):
		stripped = "a byte-order mark and blanks stripped"
	case bom:
		stripped = "a byte-order mark stripped"
	case clean != s:
		stripped = "blanks stripped"
	}
	return clean, stripped
}

// cleanSecret is CleanSecret, saying at debug level on log (which may be
// nil) what it stripped.
func cleanSecret(s string, log *slog.Logger, what string) string {
	clean, stripped := CleanSecret(s)
	if stripped != "" && log != nil {
		log.Debug(what + ": " + stripped + " around the client secret")
	}
	return clean
}

// CheckNotWritableByOthers refuses a file that its group or others may
// write, as ssh refuses such a key or config: whoever can write it can send
// the secret elsewhere or change what is protected. what names the file in
// the error. Windows mode bits do not describe access, so it never refuses
// there.
func CheckNotWritableByOthers(f *os.File, what string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, f.Name(), err)
	}
	if perm := st.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s %s is writable by its group or others (mode %04o): refused; chmod go-w %s (600 is best)", what, f.Name(), perm, f.Name())
	}
	return nil
}

// Update changes the tenants file at path under its lock, so that runs
// changing it at once (twenty `tenants add` in parallel) each keep their
// change: it locks the file's directory, loads the file (a missing one is
// empty), calls change and saves the result atomically. A path that is a
// symbolic link is written through: the file it points to is replaced, and
// the link stays.
func Update(ctx context.Context, path string, change func(*Config) error) error {
	real, err := resolveLink(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(real)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tenants file %s: %w", path, err)
	}
	lock, err := dirlock.Acquire(ctx, dir, true)
	if err != nil {
		return fmt.Errorf("tenants file %s: taking its lock: %w", path, err)
	}
	defer func() { _ = lock.Release() }()
	cfg, err := Load(real)
	if errors.Is(err, fs.ErrNotExist) {
		cfg, err = &Config{}, nil
	}
	if err != nil {
		return &BadFileError{err}
	}
	if err := change(cfg); err != nil {
		return err
	}
	return Save(real, cfg)
}

// BadFileError is a tenants file that Update could not read or accept: the
// user's to fix, nothing was written.
type BadFileError struct{ Err error }

func (e *BadFileError) Error() string { return e.Err.Error() }
func (e *BadFileError) Unwrap() error { return e.Err }

// resolveLink is path with every symbolic link followed, so a tenants file
// kept elsewhere (a dotfiles repository) is updated where it lives. A link
// to nothing yet names the file to create.
func resolveLink(path string) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err == nil {
		return real, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("tenants file %s: %w", path, err)
	}
	if target, lerr := os.Readlink(path); lerr == nil {
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		return target, nil
	}
	return path, nil
}

// LooseMode reports whether the open file is readable or writable by its
// group or others, and its permission bits. It is always false on Windows,
// where the mode bits do not describe access.
func LooseMode(f *os.File) (bool, fs.FileMode) {
	if runtime.GOOS == "windows" {
		return false, 0
	}
	st, err := f.Stat()
	if err != nil {
		return false, 0
	}
	perm := st.Mode().Perm()
	return perm&0o077 != 0, perm
}
