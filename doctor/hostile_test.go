package doctor_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/connvault/connvault/doctor"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// TestListFailureLaterPage: a tenant whose second list page fails cannot be
// exported; the connectors check fails and names the offset.
func TestListFailureLaterPage(t *testing.T) {
	srv := spectest.Start(t, sandbox.Options{Synthetic: 260})
	srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || r.URL.Path != "/connectors/v1" || r.URL.Query().Get("offset") != "250" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		w.Write([]byte(`{"detailCode":"400.1 Bad request content","trackingId":"t","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"page refused"}]}`))
		return true
	})
	r := runOn(t, srv, "auto", "")
	c := check(r, "connectors")
	if r.OK || c.Status != doctor.Fail || !strings.Contains(c.Detail, "offset 250") || !strings.Contains(c.Detail, "page refused") || c.Fix == "" {
		t.Errorf("OK %v, connectors = %+v; want a failure naming offset 250 and the server's message", r.OK, c)
	}
}

// TestTextReportEscapesServerText: the text report goes to a terminal, and
// text the server chose (here a scriptName from the list) reaches it through
// the checks' details (escape ESC, CR, NUL from a server).
func TestTextReportEscapesServerText(t *testing.T) {
	srv := spectest.Start(t, sandbox.Options{})
	srv.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || r.URL.Path != "/connectors/v1" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Total-Count", "1")
		w.Write([]byte(`[{"name":"Evil","type":"custom Evil","scriptName":"evil\u001b[2J\r\u0000x","className":"sailpoint.connector.OpenConnectorAdapter","features":[],"directConnect":true,"connectorMetadata":{},"status":"RELEASED"}]`))
		return true
	})
	r := runOn(t, srv, "auto", "")
	if c := check(r, "details"); r.OK || c.Status != doctor.Fail || !strings.Contains(c.Detail, "\x1b[2J") {
		t.Fatalf("setup: details check %+v, want a failure naming the listed scriptName", c)
	}
	var buf bytes.Buffer
	if err := doctor.WriteText(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.ContainsAny(out, "\x1b\r\x00") {
		t.Errorf("the text report copies control characters from the server to the terminal:\n%q", out)
	}
	if !strings.Contains(out, `evil\x1b[2J\r\x00x`) {
		t.Errorf("the scriptName is not shown escaped:\n%s", out)
	}
}
