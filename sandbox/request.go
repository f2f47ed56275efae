package sandbox

import "net/http"

// Route is a request as the tenant routes it. Request hooks (SetHook) match
// on it rather than on one layout's paths, so a hook recognises the same
// operation whether the client asked through /connectors/v1/... or
// /{version}/connectors/....
type Route struct {
	// Op is the spec's operationId ("getConnectorList", "getConnector",
	// "putConnectorSourceTemplate", ...) as Stats names them,
	// "requestAccessToken" for the token endpoint, "unknown" for anything
	// else (an unknown path, or a method the path does not take).
	Op string
	// Layout is "v1" for /connectors/v1/..., the version ("v3", "v2026", ...)
	// for /{version}/connectors/...; empty for the token endpoint and
	// unknown requests.
	Layout string
	// ScriptName and Locale are the path's, unescaped ("a/b" for a%2Fb).
	ScriptName string
	Locale     string
}

// RouteOf routes r as ServeHTTP does. It does not check whether the tenant
// serves r's layout (Options.Layouts).
func RouteOf(r *http.Request) Route {
	rt, ok := route(r)
	if !ok {
		return Route{Op: opUnknown}
	}
	return Route{Op: rt.op, Layout: rt.version, ScriptName: rt.scriptName, Locale: rt.locale}
}
