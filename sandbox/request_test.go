package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/connvault/connvault/sandbox"
)

// TestRouteOf: the same operation is recognised in every layout, escaped
// scriptNames come back unescaped, and what the tenant would not route is
// "unknown" with no layout.
func TestRouteOf(t *testing.T) {
	cases := []struct {
		method, path string
		want         sandbox.Route
	}{
		{http.MethodGet, "/connectors/v1", sandbox.Route{Op: "getConnectorList", Layout: "v1"}},
		{http.MethodGet, "/v3/connectors?limit=2", sandbox.Route{Op: "getConnectorList", Layout: "v3"}},
		{http.MethodPost, "/v2026/connectors", sandbox.Route{Op: "createCustomConnector", Layout: "v2026"}},
		{http.MethodGet, "/connectors/v1/okta", sandbox.Route{Op: "getConnector", Layout: "v1", ScriptName: "okta"}},
		{http.MethodGet, "/v3/connectors/okta", sandbox.Route{Op: "getConnector", Layout: "v3", ScriptName: "okta"}},
		{http.MethodGet, "/v3/connectors/a%2Fb", sandbox.Route{Op: "getConnector", Layout: "v3", ScriptName: "a/b"}},
		{http.MethodPut, "/connectors/v1/okta/source-template", sandbox.Route{Op: "putConnectorSourceTemplate", Layout: "v1", ScriptName: "okta"}},
		{http.MethodGet, "/v2024/connectors/okta/correlation-config", sandbox.Route{Op: "getConnectorCorrelationConfig", Layout: "v2024", ScriptName: "okta"}},
		{http.MethodGet, "/connectors/v1/okta/translations/fr", sandbox.Route{Op: "getConnectorTranslations", Layout: "v1", ScriptName: "okta", Locale: "fr"}},
		{http.MethodPost, "/oauth/token", sandbox.Route{Op: "requestAccessToken"}},
		{http.MethodPut, "/v3/connectors/okta", sandbox.Route{Op: "unknown"}},
		{http.MethodGet, "/beta/connectors", sandbox.Route{Op: "unknown"}},
		{http.MethodGet, "/connectors/v2/okta", sandbox.Route{Op: "unknown"}},
		{http.MethodGet, "/v3/connectors/okta/unknown", sandbox.Route{Op: "unknown"}},
	}
	for _, c := range cases {
		if got := sandbox.RouteOf(httptest.NewRequest(c.method, c.path, nil)); got != c.want {
			t.Errorf("%s %s: %+v, want %+v", c.method, c.path, got, c.want)
		}
	}
}
