package tenants

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const planted = "s3cr3t-planted-value"

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string // tenant names on success
		errHas  []string // substrings of the error; nil: success
		errNots []string // substrings the error must not have
	}{
		{name: "two tenants", in: `{"version":1,"tenants":[
			{"name":"dev","baseUrl":"https://acme-dev.api.identitynow.com","clientId":"c1","clientSecretEnv":"DEV_SECRET"},
			{"name":"prod","baseUrl":"https://acme.api.identitynow.com","clientId":"c2","clientSecretFile":"prod.secret","apiVersion":"v2025","protected":true}]}`,
			want: []string{"dev", "prod"}},
		{name: "no version is version 1", in: `{"tenants":[{"name":"a","baseUrl":"http://127.0.0.1:1","clientId":"c","clientSecretEnv":"X"}]}`, want: []string{"a"}},
		{name: "empty list", in: `{"version":1,"tenants":[]}`, want: nil},
		{name: "literal secret", in: `{"tenants":[{"name":"dev","baseUrl":"https://a.api.identitynow.com","clientId":"c","clientSecret":"` + planted + `"}]}`,
			errHas: []string{`tenant "dev"`, `literal secret in field "clientSecret"`, "clientSecretEnv"}, errNots: []string{planted}},
		{name: "literal secret, other spelling", in: `{"tenants":[{"name":"dev","client_secret":"` + planted + `"}]}`,
			errHas: []string{`"client_secret"`}, errNots: []string{planted}},
		{name: "token field", in: `{"tenants":[{"name":"dev","accessToken":"` + planted + `"}]}`,
			errHas: []string{`"accessToken"`}, errNots: []string{planted}},
		{name: "password in URL", in: `{"tenants":[{"name":"dev","baseUrl":"https://u:` + planted + `@a.api.identitynow.com","clientId":"c","clientSecretEnv":"X"}]}`,
			errHas: []string{"user name or password"}, errNots: []string{planted}},
		{name: "secret where the env name goes", in: `{"tenants":[{"name":"dev","baseUrl":"https://a.api.identitynow.com","clientId":"c","clientSecretEnv":"` + planted + `"}]}`,
			errHas: []string{"not an environment variable name"}, errNots: []string{planted}},
		{name: "secret value of wrong type", in: `{"tenants":[{"name":"dev","protected":"` + planted + `"}]}`,
			errHas: []string{"protected"}, errNots: []string{planted}},
		{name: "unknown field", in: `{"tenants":[{"name":"dev","colour":"blue"}]}`, errHas: []string{`"colour"`, "known fields are"}},
		{name: "bad name", in: `{"tenants":[{"name":"Dev Prod","baseUrl":"https://a.api.identitynow.com","clientId":"c","clientSecretEnv":"X"}]}`,
			errHas: []string{"lower-case letters"}},
		{name: "duplicate", in: `{"tenants":[{"name":"a","baseUrl":"https://a.api.identitynow.com","clientId":"c","clientSecretEnv":"X"},
			{"name":"a","baseUrl":"https://b.api.identitynow.com","clientId":"c","clientSecretEnv":"Y"}]}`, errHas: []string{"listed twice"}},
		{name: "both sources", in: `{"tenants":[{"name":"a","baseUrl":"https://a.api.identitynow.com","clientId":"c","clientSecretEnv":"X","clientSecretFile":"f"}]}`,
			errHas: []string{"keep one"}},
		{name: "no source and no client id, all reported", in: `{"tenants":[{"name":"a","baseUrl":"https://a.api.identitynow.com"}]}`,
			errHas: []string{"clientId is empty", "no secret source"}},
		{name: "version in base URL", in: `{"tenants":[{"name":"a","baseUrl":"https://a.api.identitynow.com/v3","clientId":"c","clientSecretEnv":"X"}]}`,
			errHas: []string{"must not include the API version"}},
		{name: "bad api version", in: `{"tenants":[{"name":"a","baseUrl":"https://a.api.identitynow.com","clientId":"c","clientSecretEnv":"X","apiVersion":"beta"}]}`,
			errHas: []string{`apiVersion "beta"`}},
		{name: "future version", in: `{"version":2,"tenants":[]}`, errHas: []string{"version 2 is not supported"}},
		{name: "not JSON", in: `name: dev`, errHas: []string{"not valid JSON"}},
		{name: "empty", in: ``, errHas: []string{"empty"}},
		{name: "two documents", in: `{"tenants":[]} {}`, errHas: []string{"more than one JSON document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.in), "test.json")
			if tt.errHas == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				got := cfg.Names()
				if strings.Join(got, ",") != strings.Join(tt.want, ",") {
					t.Errorf("names %v, want %v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", cfg)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			for _, s := range append(tt.errNots, planted) {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q quotes %q", err, s)
				}
			}
			if !strings.Contains(err.Error(), "test.json") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "tenants.json")
	if _, err := Load(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
	cfg := &Config{}
	dev := Tenant{Name: "dev", BaseURL: "https://acme-dev.api.identitynow.com", ClientID: "c1", ClientSecretEnv: "DEV_SECRET"}
	prod := Tenant{Name: "prod", BaseURL: "https://acme.api.identitynow.com", ClientID: "c2", ClientSecretFile: "prod.secret", Protected: true}
	for _, tn := range []Tenant{dev, prod} {
		if err := cfg.Put(tn, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := cfg.Put(dev, false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Put of an existing name without replace: %v", err)
	}
	if err := cfg.Put(Tenant{Name: "bad"}, false); err == nil {
		t.Error("Put accepted an invalid tenant")
	}
	if err := Save(path, cfg); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("mode %04o, want 0600", st.Mode().Perm())
		}
		dst, _ := os.Stat(filepath.Dir(path))
		if dst.Mode().Perm() != 0o700 {
			t.Errorf("directory mode %04o, want 0700", dst.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after Save, want only the file (no temp files)", len(entries))
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Names(), ",") != "dev,prod" {
		t.Fatalf("names %v", got.Names())
	}
	p, _ := got.Get("prod")
	if !p.Protected || p.ClientSecretFile != "prod.secret" || p.SecretPath() != filepath.Join(filepath.Dir(path), "prod.secret") {
		t.Errorf("prod after round trip: %+v, secret path %s", p, p.SecretPath())
	}
	if err := got.Remove("dev"); err != nil {
		t.Fatal(err)
	}
	if err := got.Remove("dev"); err == nil || !strings.Contains(err.Error(), "have: prod") {
		t.Errorf("second Remove: %v", err)
	}
	if err := Save(path, got); err != nil {
		t.Fatal(err)
	}
	again, err := Load(path)
	if err != nil || strings.Join(again.Names(), ",") != "prod" {
		t.Errorf("after remove: %v, %v", again, err)
	}
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	tight := filepath.Join(dir, "tight.secret")
	loose := filepath.Join(dir, "loose.secret")
	empty := filepath.Join(dir, "empty.secret")
	for p, mode := range map[string]os.FileMode{tight: 0o600, loose: 0o644, empty: 0o600} {
		content := planted + "\n"
		if p == empty {
			content = "\n"
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("CV_TEST_SECRET", planted)
	t.Setenv("CV_TEST_UNSET", "")
	tests := []struct {
		name   string
		tn     Tenant
		want   string
		errHas string
		warn   bool
	}{
		{name: "env", tn: Tenant{Name: "a", ClientSecretEnv: "CV_TEST_SECRET"}, want: planted},
		{name: "env unset", tn: Tenant{Name: "a", ClientSecretEnv: "CV_TEST_UNSET"}, errHas: "CV_TEST_UNSET is not set"},
		{name: "file", tn: Tenant{Name: "a", ClientSecretFile: tight}, want: planted},
		{name: "relative file", tn: Tenant{Name: "a", ClientSecretFile: "tight.secret", dir: dir}, want: planted},
		{name: "loose file warns", tn: Tenant{Name: "a", ClientSecretFile: loose}, want: planted, warn: runtime.GOOS != "windows"},
		{name: "empty file", tn: Tenant{Name: "a", ClientSecretFile: empty}, errHas: "is empty"},
		{name: "missing file", tn: Tenant{Name: "a", ClientSecretFile: filepath.Join(dir, "nope")}, errHas: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			got, err := tt.tn.Secret(slog.New(slog.NewTextHandler(&logs, nil)))
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("error %v, want one with %q", err, tt.errHas)
				}
			} else if err != nil || got != tt.want {
				t.Fatalf("Secret = %q, %v; want the planted secret", got, err)
			}
			if warned := strings.Contains(logs.String(), "readable by others"); warned != tt.warn {
				t.Errorf("warning %v, want %v: %s", warned, tt.warn, logs.String())
			}
			if strings.Contains(logs.String(), planted) || (err != nil && strings.Contains(err.Error(), planted)) {
				t.Error("the secret leaked into a log or an error")
			}
		})
	}
}

func TestValidName(t *testing.T) {
	for name, ok := range map[string]bool{
		"dev": true, "prod-eu-1": true, "0": true, "": false, "-dev": false, "dev-": false,
		"Dev": false, "dev_1": false, "dev.prod": false, strings.Repeat("a", 63): true, strings.Repeat("a", 64): false,
	} {
		if err := ValidName(name); (err == nil) != ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestParseSail(t *testing.T) {
	in := `activeenvironment: Prod
authtype: pat
environments:
  dev:
    baseurl: https://acme-dev.api.identitynow.com
    tenanturl: https://acme-dev.identitynow.com
    pat:
      clientid: abc
      clientsecret: ` + planted + `
  Prod:
    baseurl: https://acme.api.identitynow.com
    oauth:
      accesstoken: ` + planted + `
  empty:
    tenanturl: https://x.identitynow.com
`
	envs, err := ParseSail([]byte(in), "config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []SailEnvironment{
		{Name: "Prod", BaseURL: "https://acme.api.identitynow.com", Active: true},
		{Name: "dev", BaseURL: "https://acme-dev.api.identitynow.com", ClientID: "abc"},
	}
	if len(envs) != len(want) {
		t.Fatalf("got %+v, want %+v", envs, want)
	}
	for i := range want {
		if envs[i] != want[i] {
			t.Errorf("env %d = %+v, want %+v", i, envs[i], want[i])
		}
	}
	if n, err := SailName("Prod"); err != nil || n != "prod" {
		t.Errorf("SailName(Prod) = %q, %v", n, err)
	}
	if _, err := SailName("___"); err == nil {
		t.Error("SailName accepted a name with no usable character")
	}

	// A value where a mapping belongs makes the YAML decoder quote it: the
	// error must not.
	_, err = ParseSail([]byte("environments:\n  dev:\n    pat: "+planted+"\n"), "config.yaml")
	if err == nil || strings.Contains(err.Error(), planted) || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("bad layout: error %v, want one naming line 3 without the value", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"version":1,"tenants":[{"name":"dev","baseUrl":"https://a.api.identitynow.com","clientId":"c","clientSecretEnv":"X"}]}`))
	f.Add([]byte(`{"tenants":[{"name":"p","baseUrl":"http://127.0.0.1:8080","clientId":"c","clientSecretFile":"s","protected":true,"apiVersion":"v2025"}]}`))
	f.Add([]byte(`{"tenants":[{"name":"dev","clientSecret":"x"}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.json")
		if err != nil {
			return
		}
		// Whatever parses must validate, save and parse back the same.
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse returned an invalid config: %v", err)
		}
		path := filepath.Join(t.TempDir(), "t.json")
		if err := Save(path, cfg); err != nil {
			t.Fatalf("Save: %v", err)
		}
		back, err := Load(path)
		if err != nil {
			t.Fatalf("Load after Save: %v", err)
		}
		if len(back.Tenants) != len(cfg.Tenants) {
			t.Fatalf("%d tenants after round trip, want %d", len(back.Tenants), len(cfg.Tenants))
		}
		for i := range cfg.Tenants {
			a, b := cfg.Tenants[i], back.Tenants[i]
			a.dir, b.dir = "", ""
			if a != b {
				t.Fatalf("tenant %d: %+v after round trip, want %+v", i, b, a)
			}
		}
	})
}

func FuzzParseSail(f *testing.F) {
	f.Add([]byte("activeenvironment: dev\nenvironments:\n  dev:\n    baseurl: https://a.api.identitynow.com\n    pat:\n      clientid: c\n"))
	f.Add([]byte("environments: [1, 2]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("environments:\n  dev:\n    pat: value\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		envs, err := ParseSail(data, "fuzz.yaml")
		if err != nil {
			return
		}
		for i, e := range envs {
			if e.BaseURL == "" {
				t.Fatalf("environment %q without a base URL returned", e.Name)
			}
			if i > 0 && envs[i-1].Name > e.Name {
				t.Fatalf("not sorted: %q before %q", envs[i-1].Name, e.Name)
			}
		}
	})
}
