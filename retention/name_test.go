package retention

import (
	"strings"
	"testing"
	"time"
)

func TestFileNameAndParseName(t *testing.T) {
	at := time.Date(2026, 11, 22, 3, 15, 0, 0, time.UTC)
	if got, want := FileName("acme", at), "acme-connectors-20261122T031500Z.tar.zst"; got != want {
		t.Fatalf("FileName = %q, want %q", got, want)
	}
	// A non-UTC time names the same instant in UTC.
	berlin := time.FixedZone("CET", 3600)
	if got, want := FileName("acme", at.In(berlin)), "acme-connectors-20261122T031500Z.tar.zst"; got != want {
		t.Fatalf("FileName(non-UTC) = %q, want %q", got, want)
	}

	tests := []struct {
		name       string
		ok         bool
		tenant     string
		wantTime   time.Time
		whyInvalid string
	}{
		{name: "acme-connectors-20261122T031500Z.tar.zst", ok: true, tenant: "acme", wantTime: at},
		{name: "127-0-0-1-8080-connectors-20260101T000000Z.tar.zst", ok: true, tenant: "127-0-0-1-8080", wantTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{name: "a-connectors-b-connectors-20261122T031500Z.tar.zst", ok: true, tenant: "a-connectors-b", wantTime: at},
		{name: ".acme-connectors-20261122T031500Z.tar.zst.tmp", whyInvalid: "temp file of a running export"},
		{name: ".acme-connectors-20261122T031500Z.tar.zst", whyInvalid: "hidden file"},
		{name: "acme-connectors-20261122T031500Z.tar.zst.bak", whyInvalid: "other suffix"},
		{name: "acme-connectors-20261122T031500Z.tar.gz", whyInvalid: "other compression"},
		{name: "Acme-connectors-20261122T031500Z.tar.zst", whyInvalid: "upper case tenant"},
		{name: "ac.me-connectors-20261122T031500Z.tar.zst", whyInvalid: "dot in tenant"},
		{name: "-connectors-20261122T031500Z.tar.zst", whyInvalid: "empty tenant"},
		{name: "acme-connectors-20261322T031500Z.tar.zst", whyInvalid: "month 13"},
		{name: "acme-connectors-20261122T246000Z.tar.zst", whyInvalid: "hour 24"},
		{name: "acme-connectors-20261122t031500z.tar.zst", whyInvalid: "lower-case T/Z"},
		{name: "acme-connectors-2026112T0315000Z.tar.zst", whyInvalid: "digits shifted"},
		{name: "acme-connectors-20261122T031500.tar.zst", whyInvalid: "no Z"},
		{name: "acme-snapshot-20261122T031500Z.tar.zst", whyInvalid: "not -connectors-"},
		{name: "acme-connectors-20261122T031500Z", whyInvalid: "no extension"},
		{name: ".connvault.lock", whyInvalid: "lock file"},
		{name: "", whyInvalid: "empty"},
	}
	for _, tt := range tests {
		tenant, ts, ok := ParseName(tt.name)
		if ok != tt.ok {
			t.Errorf("ParseName(%q) ok = %v, want %v (%s)", tt.name, ok, tt.ok, tt.whyInvalid)
			continue
		}
		if !ok {
			continue
		}
		if tenant != tt.tenant || !ts.Equal(tt.wantTime) || ts.Location() != time.UTC {
			t.Errorf("ParseName(%q) = %q, %v; want %q, %v UTC", tt.name, tenant, ts, tt.tenant, tt.wantTime)
		}
		if back := FileName(tenant, ts); back != tt.name {
			t.Errorf("FileName(ParseName(%q)) = %q", tt.name, back)
		}
	}
}

func TestTenantFromBaseURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://acme.api.identitynow.com", "acme"},
		{"https://ACME.api.identitynow.com/", "acme"},
		{"https://acme-sb.api.identitynow.com/v3", "acme-sb"},
		{"acme.api.identitynow.com", "acme"},
		{"https://acme.api.identitynow-demo.com", "acme"},
		{"http://127.0.0.1:8080", "127-0-0-1-8080"},
		{"http://localhost:34567/", "localhost-34567"},
		{"https://isc.example.org", "isc-example-org"},
		{"http://[::1]:8080", "1-8080"},
		{"https://acme_corp.example.com", "acme-corp-example-com"},
		{"", "unknown"},
		{"https://", "unknown"},
		{"://bad url", "unknown"},
	}
	for _, tt := range tests {
		got := TenantFromBaseURL(tt.in)
		if got != tt.want {
			t.Errorf("TenantFromBaseURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		name := FileName(got, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		if tenant, _, ok := ParseName(name); !ok || tenant != got {
			t.Errorf("TenantFromBaseURL(%q) = %q gives a name ParseName does not read back: %q", tt.in, got, name)
		}
	}
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{
		"acme-connectors-20261122T031500Z.tar.zst",
		"127-0-0-1-8080-connectors-20260101T000000Z.tar.zst",
		".acme-connectors-20261122T031500Z.tar.zst.tmp",
		"a-connectors--connectors-20261122T031500Z.tar.zst",
		"acme-connectors-20260229T031500Z.tar.zst",
		"acme-connectors-20261122T031560Z.tar.zst",
		"acme-connectors-+0261122T031500Z.tar.zst",
		"-connectors-20261122T031500Z.tar.zst",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		tenant, ts, ok := ParseName(name)
		if !ok {
			if tenant != "" || !ts.IsZero() {
				t.Fatalf("ParseName(%q) not ok but returned %q, %v", name, tenant, ts)
			}
			return
		}
		if tenant == "" || strings.Trim(tenant, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			t.Fatalf("ParseName(%q) accepted tenant %q outside [a-z0-9-]+", name, tenant)
		}
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".tmp") || strings.ContainsAny(name, "/\\") {
			t.Fatalf("ParseName(%q) accepted a temp, hidden or path name", name)
		}
		if ts.Location() != time.UTC || ts.Nanosecond() != 0 {
			t.Fatalf("ParseName(%q) time %v is not whole-second UTC", name, ts)
		}
		if back := FileName(tenant, ts); back != name {
			t.Fatalf("FileName(ParseName(%q)) = %q: names must round-trip", name, back)
		}
	})
}

func FuzzTenantFromBaseURL(f *testing.F) {
	for _, s := range []string{"https://acme.api.identitynow.com", "http://127.0.0.1:8080", "http://[::1]:1", "", "%zz", "https://a..b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, baseURL string) {
		tenant := TenantFromBaseURL(baseURL)
		name := FileName(tenant, time.Unix(1e9, 0))
		if got, _, ok := ParseName(name); !ok || got != tenant {
			t.Fatalf("TenantFromBaseURL(%q) = %q, which does not make a valid archive name", baseURL, tenant)
		}
	})
}
