package settings

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func writeTenants(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tenants.json")
	if err := os.WriteFile(p, []byte(`{"tenants": [
		{"name": "dev", "baseUrl": "https://dev.api.identitynow.com", "clientId": "dev-id", "clientSecretEnv": "SETTINGS_TEST_DEV"},
		{"name": "prod", "baseUrl": "https://PROD.api.identitynow.com/", "clientId": "prod-id", "clientSecretEnv": "SETTINGS_TEST_PROD", "protected": true}
	]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SETTINGS_TEST_DEV", "dev-secret")
	t.Setenv("SETTINGS_TEST_PROD", "prod-secret")
	return p
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConflictAndProtection(t *testing.T) {
	conf := writeTenants(t)
	cases := []struct {
		name     string
		flags    map[string]string
		env      map[string]string
		conflict bool
		baseURL  string
		origin   Origin
	}{
		{"--tenant dev vs SAIL_BASE_URL prod", map[string]string{"tenant": "dev"}, map[string]string{"SAIL_BASE_URL": "https://prod.api.identitynow.com"}, true, "", ""},
		{"$CONNVAULT_TENANT dev vs SAIL_BASE_URL prod", nil, map[string]string{"CONNVAULT_TENANT": "dev", "SAIL_BASE_URL": "https://prod.api.identitynow.com"}, true, "", ""},
		{"--tenant dev vs --base-url prod", map[string]string{"tenant": "dev", "base-url": "https://prod.api.identitynow.com"}, nil, true, "", ""},
		{"--tenant dev, SAIL_BASE_URL the same tenant", map[string]string{"tenant": "dev"}, map[string]string{"SAIL_BASE_URL": "HTTPS://dev.api.identitynow.com:443/"}, false, "https://dev.api.identitynow.com", FromTenants},
		{"--base-url beats $CONNVAULT_TENANT", map[string]string{"base-url": "https://x.api.identitynow.com"}, map[string]string{"CONNVAULT_TENANT": "dev"}, false, "https://x.api.identitynow.com", FromFlag},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := map[string]string{"CONNVAULT_CONFIG": conf}
			for k, v := range tc.env {
				e[k] = v
			}
			s, err := Resolve(Input{Flags: tc.flags, Getenv: env(e)})
			if err != nil {
				t.Fatal(err)
			}
			err = s.ResolveTenant()
			if tc.conflict {
				if !errors.Is(err, ErrConflict) || !errors.Is(err, ErrUsage) {
					t.Fatalf("want a conflict (usage error), got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.BaseURL.Value != tc.baseURL || s.BaseURL.Origin != tc.origin {
				t.Errorf("base URL %q from %s, want %q from %s", s.BaseURL.Value, s.BaseURL.Origin, tc.baseURL, tc.origin)
			}
		})
	}

	s, err := Resolve(Input{Getenv: env(map[string]string{"CONNVAULT_CONFIG": conf})})
	if err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]string{
		"https://prod.api.identitynow.com":      "prod",
		"https://prod.api.identitynow.com:443/": "prod",
		"https://dev.api.identitynow.com":       "",
		"http://prod.api.identitynow.com":       "",
	} {
		if got, err := s.Protected(url); err != nil || got != want {
			t.Errorf("Protected(%s) = %q, %v; want %q", url, got, err, want)
		}
	}
}

func TestBadValuesAreUsageErrors(t *testing.T) {
	for _, e := range []map[string]string{
		{"CONNVAULT_RATE": "fast"}, {"CONNVAULT_RATE": "-1"}, {"CONNVAULT_CONCURRENCY": "0"},
		{"SAIL_API_VERSION": "v4"}, {"CONNVAULT_LOG_FORMAT": "xml"}, {"CONNVAULT_PROGRESS": "sometimes"}, {"CONNVAULT_TENANT": "Bad Name"},
	} {
		if _, err := Resolve(Input{Getenv: env(e)}); !errors.Is(err, ErrUsage) {
			t.Errorf("%v: got %v, want a usage error", e, err)
		}
	}
	for _, v := range APIVersions {
		if _, err := Resolve(Input{Flags: map[string]string{"api-version": v}, Getenv: env(nil)}); err != nil {
			t.Errorf("--api-version %s refused: %v", v, err)
		}
	}
}

func TestSecretNeverShown(t *testing.T) {
	s, err := Resolve(Input{Flags: map[string]string{"client-secret": "hunter2"}, Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ResolveTenant(); err != nil {
		t.Fatal(err)
	}
	if s.ClientSecret.Value != "hunter2" {
		t.Fatalf("secret %q", s.ClientSecret.Value)
	}
	for _, v := range s.Public() {
		if v.Value == "hunter2" || v.Describe() == "" {
			t.Errorf("%s shows the secret", v.Name)
		}
	}
	if d := s.ClientSecret.Describe(); d != "client-secret=(hidden) (flag --client-secret)" {
		t.Errorf("Describe = %q", d)
	}
}

// FuzzNormalizeBaseURL: any text (a tenants file or a variable is outside
// input) normalises without panicking, idempotently, and compares equal to
// itself.
func FuzzNormalizeBaseURL(f *testing.F) {
	for _, s := range []string{"https://acme.api.identitynow.com", "HTTPS://Acme.API.identitynow.com:443/", "acme", "", "http://[::1]:80/x/", "%zz", "https://a.b./"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeBaseURL(s)
		if !SameBaseURL(s, s) {
			t.Errorf("%q is not the same as itself", s)
		}
		if NormalizeBaseURL(n) != n {
			t.Errorf("not idempotent: %q -> %q -> %q", s, n, NormalizeBaseURL(n))
		}
	})
}

// The secret's source: a flag beats any variable, and at the same layer a
// file beats the value (it keeps the secret out of process listings).
func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	flagFile := filepath.Join(dir, "flag.secret")
	envFile := filepath.Join(dir, "env.secret")
	for p, v := range map[string]string{flagFile: "from-flag-file\n", envFile: "from-env-file\n"} {
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		flags       map[string]string
		env         map[string]string
		want, where string
	}{
		{map[string]string{"client-secret": "v", "client-secret-file": flagFile}, nil, "from-flag-file", "--client-secret-file"},
		{map[string]string{"client-secret": "v"}, map[string]string{"SAIL_CLIENT_SECRET_FILE": envFile}, "v", "--client-secret"},
		{nil, map[string]string{"SAIL_CLIENT_SECRET_FILE": envFile, "SAIL_CLIENT_SECRET": "e"}, "from-env-file", "$SAIL_CLIENT_SECRET_FILE"},
		{nil, map[string]string{"SAIL_CLIENT_SECRET": "e"}, "e", "$SAIL_CLIENT_SECRET"},
	} {
		s, err := Resolve(Input{Flags: tc.flags, Getenv: env(tc.env)})
		if err == nil {
			err = s.ResolveTenant()
		}
		if err != nil {
			t.Fatal(err)
		}
		if s.ClientSecret.Value != tc.want || s.ClientSecret.Detail != tc.where {
			t.Errorf("%v %v: secret %q from %s, want %q from %s", tc.flags, tc.env, s.ClientSecret.Value, s.ClientSecret.Detail, tc.want, tc.where)
		}
	}
}

// TestSameBaseURLAcrossSpellings: spellings of one address compare equal,
// other addresses do not.
func TestSameBaseURLAcrossSpellings(t *testing.T) {
	same := [][2]string{
		{"https://acme.api.identitynow.com", "HTTPS://ACME.api.IdentityNow.com./"},
		{"https://acme.api.identitynow.com", "acme.api.identitynow.com:443"},
		{"https://acme.api.identitynow.com", "https://acme.api.identitynow.com:0443"},
		{"http://127.0.0.1:44060", "http://127.0.0.1:044060"},
		{"http://127.0.0.1:44060", "http://localhost:44060"},
		{"http://127.0.0.1:44060", "http://[::ffff:127.0.0.1]:44060"},
		{"http://127.0.0.1:44060", "http://[::1]:44060"},
		{"https://bücher.example", "https://xn--bcher-kva.example"},
	}
	for _, p := range same {
		if !SameBaseURL(p[0], p[1]) {
			t.Errorf("%q and %q differ: %q, %q", p[0], p[1], NormalizeBaseURL(p[0]), NormalizeBaseURL(p[1]))
		}
	}
	differ := [][2]string{
		{"https://acme.api.identitynow.com", "https://acme-dev.api.identitynow.com"},
		{"http://127.0.0.1:44060", "http://127.0.0.1:44061"},
		{"http://127.0.0.1:44060", "https://127.0.0.1:44060"},
		{"https://10.0.0.1", "https://[::ffff:10.0.0.2]"},
	}
	for _, p := range differ {
		if SameBaseURL(p[0], p[1]) {
			t.Errorf("%q and %q compare equal (%q)", p[0], p[1], NormalizeBaseURL(p[0]))
		}
	}
}
