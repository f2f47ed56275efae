package sandbox_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connvault/connvault/sandbox"
)

func TestPerServiceLayout(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	a := e.get("/connectors/v1?limit=2&count=true")
	if a.status != 200 || a.header.Get("X-Total-Count") == "" {
		t.Fatalf("GET /connectors/v1: %d", a.status)
	}
	for _, p := range []string{"/connectors/v1/okta", "/connectors/v1/okta/source-config", "/connectors/v1/okta/correlation-config", "/connectors/v1/okta/translations/en"} {
		if a := e.get(p); a.status != 200 {
			t.Errorf("GET %s: %d", p, a.status)
		}
	}
	for _, p := range []string{"/connectors/v2", "/connectors/v1/okta/unknown", "/v1/connectors", "/connectors"} {
		if a := e.get(p); a.status != 404 {
			t.Errorf("GET %s: %d, want 404", p, a.status)
		}
	}
	if st := e.tenant.Stats(); st.ByVersion["v1"] != 5 {
		t.Errorf("requests by version %v, want 5 on v1", st.ByVersion)
	}
}

func TestLayoutKnobs(t *testing.T) {
	// v3 only: the per-service layout answers 404 everywhere.
	e := newEnv(t, sandbox.Options{Layouts: []string{"v3"}})
	if a := e.get("/connectors/v1"); a.status != 404 {
		t.Errorf("v3 only: GET /connectors/v1: %d, want 404", a.status)
	}
	if a := e.get("/v2025/connectors"); a.status != 404 {
		t.Errorf("v3 only: GET /v2025/connectors: %d, want 404", a.status)
	}
	if a := e.get("/v3/connectors/okta/correlation-config"); a.status != 200 {
		t.Errorf("v3 only: correlation-config on v3: %d", a.status)
	}
	// Both layouts, no correlation-config on v3, while the detail keeps it.
	e = newEnv(t, sandbox.Options{NoCorrelationConfig: []string{"v3"}})
	if a := e.get("/v3/connectors/okta/correlation-config"); a.status != 404 {
		t.Errorf("GET v3 correlation-config: %d, want 404", a.status)
	}
	if a := e.do(http.MethodPut, "/v3/connectors/okta/correlation-config", strings.NewReader("x"), "multipart/form-data; boundary=b"); a.status != 404 {
		t.Errorf("PUT v3 correlation-config: %d, want 404", a.status)
	}
	if a := e.get("/connectors/v1/okta/correlation-config"); a.status != 200 {
		t.Errorf("GET v1 correlation-config: %d", a.status)
	}
	var d struct {
		CorrelationConfigXML string `json:"correlationConfigXml"`
	}
	e.get("/v3/connectors/okta").json(t, &d)
	if d.CorrelationConfigXML == "" {
		t.Error("the v3 detail lost correlationConfigXml")
	}
}

// TestTokenClaimsAndAuthorization: tokens are JWTs with the tenant's claims,
// and the user level and scopes they carry decide what the token may do.
func TestTokenClaimsAndAuthorization(t *testing.T) {
	e := newEnv(t, sandbox.Options{})
	parts := strings.Split(e.token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", e.token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Authorities []string `json:"authorities"`
		Scope       []string `json:"scope"`
		ClientID    string   `json:"client_id"`
		Exp         int64    `json:"exp"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	if strings.Join(claims.Authorities, ",") != "ORG_ADMIN" || strings.Join(claims.Scope, ",") != "sp:scopes:all" ||
		claims.ClientID != sandbox.DefaultClientID || time.Until(time.Unix(claims.Exp, 0)) < 11*time.Hour {
		t.Errorf("claims = %+v", claims)
	}

	for _, tc := range []struct {
		name              string
		opts              sandbox.Options
		getStatus, putSts int
	}{
		{"no user level", sandbox.Options{Authorities: []string{}}, 403, 403},
		{"help desk level", sandbox.Options{Authorities: []string{"HELPDESK"}}, 403, 403},
		{"read scope", sandbox.Options{Scopes: []string{"idn:connector-config:read"}}, 200, 403},
		{"manage scope, source admin", sandbox.Options{Authorities: []string{"SOURCE_ADMIN"}, Scopes: []string{"idn:connector-config:manage"}}, 200, 200},
		{"other scope", sandbox.Options{Scopes: []string{"idn:sources:read"}}, 403, 403},
	} {
		e := newEnv(t, tc.opts)
		if a := e.get("/v3/connectors/okta/source-config"); a.status != tc.getStatus {
			t.Errorf("%s: GET %d, want %d", tc.name, a.status, tc.getStatus)
		} else if a.status == 403 && !strings.Contains(a.errorText(t), "refuses to authorize") {
			t.Errorf("%s: 403 body %s", tc.name, a.body)
		}
		if a := e.do(http.MethodPatch, "/v3/connectors/okta", strings.NewReader(`[{"op":"replace","path":"/connectorMetadata","value":{}}]`), "application/json-patch+json"); a.status != tc.putSts {
			t.Errorf("%s: PATCH %d, want %d", tc.name, a.status, tc.putSts)
		}
	}
}

func TestDateOffset(t *testing.T) {
	e := newEnv(t, sandbox.Options{DateOffset: -7 * time.Minute})
	a := e.get("/v3/connectors?limit=1")
	d, err := http.ParseTime(a.header.Get("Date"))
	if err != nil {
		t.Fatal(err)
	}
	if off := time.Until(d); off > -6*time.Minute || off < -8*time.Minute {
		t.Errorf("Date is %v from now, want about -7m", off)
	}
}

// TestRateLimitPerVersion: the gateway counts per client id and API
// version, so /connectors/v1 has a budget of its own beside /v3's.
func TestRateLimitPerVersion(t *testing.T) {
	clk := newClock()
	e := newEnv(t, sandbox.Options{RateLimit: 2, Clock: clk.Now})
	for i := range 2 {
		if a := e.get("/v3/connectors?limit=1"); a.status != 200 {
			t.Fatalf("v3 request %d: %d", i, a.status)
		}
	}
	if a := e.get("/v3/connectors?limit=1"); a.status != 429 {
		t.Errorf("third v3 request: %d, want 429", a.status)
	}
	for i := range 2 {
		if a := e.get("/connectors/v1?limit=1"); a.status != 200 {
			t.Errorf("v1 request %d after v3's budget ran out: %d", i, a.status)
		}
	}
	if a := e.get("/connectors/v1?limit=1"); a.status != 429 {
		t.Errorf("third v1 request: %d, want 429", a.status)
	}
}
