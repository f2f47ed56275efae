package command

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// builtBinary builds connvault once per test run: the settings matrix runs
// the real program, so nothing of the test process (its environment, its
// flag parsing) can stand in for what a user's shell gives it.
func builtBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "connvault-bin-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "connvault")
		out, err := exec.Command("go", "build", "-o", binaryPath, "..").CombinedOutput()
		if err != nil {
			binaryErr = &buildError{string(out), err}
		}
	})
	if binaryErr != nil {
		t.Fatalf("building connvault: %v", binaryErr)
	}
	return binaryPath
}

type buildError struct {
	out string
	err error
}

func (b *buildError) Error() string { return b.err.Error() + "\n" + b.out }

// runBinary runs the built connvault with exactly env (plus PATH and HOME).
func runBinary(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(builtBinary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// TestSettingsPrecedenceMatrix runs `connvault settings --json` for every
// setting with its value given in each place a user can give it, every lower
// place filled too, and asserts which one wins: a flag before the command, a
// flag after it, the environment, the tenants file, the default.
func TestSettingsPrecedenceMatrix(t *testing.T) {
	home := t.TempDir()
	conf := filepath.Join(t.TempDir(), "tenants.json")
	const devURL = "https://acme-dev.api.identitynow.com"
	if err := os.WriteFile(conf, []byte(`{"version": 1, "tenants": [
		{"name": "dev", "baseUrl": "`+devURL+`", "clientId": "dev-client", "clientSecretEnv": "DEV_SECRET", "apiVersion": "v2025"},
		{"name": "prod", "baseUrl": "https://acme.api.identitynow.com", "clientId": "prod-client", "clientSecretEnv": "PROD_SECRET", "protected": true}
	]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "cfg"), "CONNVAULT_CONFIG": conf,
		"DEV_SECRET": "dev-secret-value", "PROD_SECRET": "prod-secret-value"}
	otherConf := filepath.Join(t.TempDir(), "other.json")

	type layer struct {
		flag, env          string // the value given as a flag and in the environment ("" = that layer is absent)
		tenants            string // the value the tenants file gives through CONNVAULT_TENANT=dev ("" = none)
		def                string // the default
		envName            string
		tenantsNeedsTenant bool
	}
	specs := []struct {
		name string
		l    layer
	}{
		{"base-url", layer{flag: "https://flag.api.identitynow.com", env: devURL, tenants: devURL, def: "", envName: "SAIL_BASE_URL"}},
		{"client-id", layer{flag: "flag-client", env: "env-client", tenants: "dev-client", envName: "SAIL_CLIENT_ID"}},
		{"client-secret", layer{flag: "flag-secret-value", env: "env-secret-value", tenants: "(hidden)", envName: "SAIL_CLIENT_SECRET"}},
		{"api-version", layer{flag: "v2026", env: "v2024", tenants: "v2025", def: "auto", envName: "SAIL_API_VERSION"}},
		{"rate-window", layer{flag: "1s", env: "2s", def: "10s", envName: "CONNVAULT_RATE_WINDOW"}},
		{"max-wait", layer{flag: "1h", env: "5m", def: "30m", envName: "CONNVAULT_MAX_WAIT"}},
		{"rate", layer{flag: "0.5", env: "0", def: "10", envName: "CONNVAULT_RATE"}},
		{"concurrency", layer{flag: "3", env: "5", def: "8", envName: "CONNVAULT_CONCURRENCY"}},
		{"tenant", layer{flag: "dev", env: "prod", def: "", envName: "CONNVAULT_TENANT"}},
		{"config", layer{flag: otherConf, env: conf, def: filepath.Join(home, "cfg", "connvault", "tenants.json"), envName: "CONNVAULT_CONFIG"}},
		{"log-level", layer{flag: "warn", env: "error", def: "info", envName: "CONNVAULT_LOG_LEVEL"}},
		{"log-format", layer{flag: "json", env: "text", def: "text", envName: "CONNVAULT_LOG_FORMAT"}},
		{"progress", layer{flag: "never", env: "always", def: "auto", envName: "CONNVAULT_PROGRESS"}},
	}
	places := []string{"flag before", "flag after", "env", "tenants file", "default"}
	for _, sp := range specs {
		for _, place := range places {
			if place == "tenants file" && sp.l.tenants == "" {
				continue // not a setting the tenants file holds
			}
			t.Run(sp.name+"/"+place, func(t *testing.T) {
				env := map[string]string{}
				for k, v := range base {
					env[k] = v
				}
				if sp.name == "config" {
					delete(env, "CONNVAULT_CONFIG")
				}
				var before, after []string
				want, origin := sp.l.def, "default"
				// Fill this place and every lower one.
				lower := false
				for _, p := range places {
					if p == place {
						lower = true
					}
					if !lower {
						continue
					}
					switch p {
					case "flag before", "flag after":
						if p != place {
							continue // one flag at a time; the pair is tested apart
						}
						if p == "flag before" {
							before = []string{"--" + sp.name, sp.l.flag}
						} else {
							after = []string{"--" + sp.name, sp.l.flag}
						}
					case "env":
						if sp.l.env != "" {
							env[sp.l.envName] = sp.l.env
						}
					case "tenants file":
						if sp.l.tenants != "" && env["CONNVAULT_TENANT"] == "" && (env["SAIL_BASE_URL"] == "" || env["SAIL_BASE_URL"] == devURL) {
							env["CONNVAULT_TENANT"] = "dev"
						}
					}
				}
				switch place {
				case "flag before", "flag after":
					want, origin = sp.l.flag, "flag"
				case "env":
					want, origin = sp.l.env, "env"
				case "tenants file":
					want, origin = sp.l.tenants, "tenants file"
				}
				if sp.name == "client-secret" && want != "" {
					want = "(hidden)"
				}
				if sp.name == "client-secret" && place == "env" {
					// The secret group follows the base URL's place.
					env["SAIL_BASE_URL"] = devURL
					delete(env, "CONNVAULT_TENANT")
				}
				args := append(append(before, "settings", "--json"), after...)
				code, stdout, stderr := runBinary(t, env, args...)
				if code != 0 {
					t.Fatalf("connvault %v: exit %d\n%s", args, code, stderr)
				}
				var doc settingsJSON
				if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
					t.Fatalf("settings --json: %v\n%s", err, stdout)
				}
				for _, secret := range []string{"flag-secret-value", "env-secret-value", "dev-secret-value", "prod-secret-value"} {
					if strings.Contains(stdout+stderr, secret) {
						t.Errorf("output shows the secret %q:\n%s%s", secret, stdout, stderr)
					}
				}
				for _, s := range doc.Settings {
					if s.Name != sp.name {
						continue
					}
					if s.Value != want || string(s.Origin) != origin {
						t.Errorf("%s given by %s: got %q from %s (%s), want %q from %s\nargs %v env %v", sp.name, place, s.Value, s.Origin, s.Detail, want, origin, args, env)
					}
					return
				}
				t.Fatalf("no setting %s in %s", sp.name, stdout)
			})
		}
		// Before and after the command: the later word wins.
		t.Run(sp.name+"/flag before and after", func(t *testing.T) {
			if sp.name == "tenant" || sp.name == "config" || sp.name == "base-url" {
				return // one value per place only makes sense with a second value; covered above
			}
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			code, stdout, stderr := runBinary(t, env, "--"+sp.name, sp.l.env, "settings", "--json", "--"+sp.name, sp.l.flag)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			var doc settingsJSON
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
				t.Fatal(err)
			}
			for _, s := range doc.Settings {
				if s.Name == sp.name && (s.Origin != "flag" || (s.Value != sp.l.flag && sp.name != "client-secret")) {
					t.Errorf("%s before and after: got %q from %s", sp.name, s.Value, s.Origin)
				}
			}
		})
	}
}
