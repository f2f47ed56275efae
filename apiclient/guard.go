package apiclient

// Guards against a hostile or broken server (issue 18): an answer is taken
// for what was asked only when it says so itself. A write is never carried
// over a redirect, and an answer about another connector is an error for the
// one requested.

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrRedirectedWrite marks a write (POST, PUT, PATCH, DELETE) answered with a
// redirect. Go's client would follow a 301-303 with a GET and report that
// GET's 200 as the write's answer, while the server stored nothing; the
// redirect is therefore returned as the answer, and it is a failure.
var ErrRedirectedWrite = errors.New("the server answered the write with a redirect")

// ErrWrongConnector marks an answer about another connector than the one
// requested: a create answered with another connector, a detail naming
// another scriptName. Nothing is read from or written to that other connector.
var ErrWrongConnector = errors.New("the server answered about another connector")

// redirectAllowed decides a redirect within the tenant's origin (the
// cross-origin check comes first). A write is never followed: the redirect
// itself becomes the answer (http.ErrUseLastResponse), which do reports as a
// failure. A read is followed only while it stays on the same connector: an
// answer fetched from another connector's path would be archived as this
// one's.
func redirectAllowed(req *http.Request, via []*http.Request) error {
	first := via[0]
	if first.Method != http.MethodGet && first.Method != http.MethodHead {
		return http.ErrUseLastResponse
	}
	if connectorOf(req.URL.EscapedPath()) != connectorOf(first.URL.EscapedPath()) {
		return http.ErrUseLastResponse
	}
	return nil
}

// connectorOf is the part of an API path that names one connector
// ("/v3/connectors/alpha" of "/v3/connectors/alpha/source-config"), or the
// whole path when it names none.
func connectorOf(path string) string {
	i := strings.Index(path, "/connectors/")
	if i < 0 {
		return path
	}
	rest := path[i+len("/connectors/"):]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		return path[:i+len("/connectors/")+j]
	}
	return path
}

// redirectHint explains a 3xx answer, which only arrives here when the
// redirect was not followed.
func redirectHint(hr *http.Response, method string) string {
	if hr == nil || hr.StatusCode < 300 || hr.StatusCode >= 400 {
		return ""
	}
	to := ""
	if loc := hr.Header.Get("Location"); loc != "" {
		to = " to " + clean(loc, maxSnippet)
	}
	if method != http.MethodGet && method != http.MethodHead {
		return fmt.Sprintf("Redirect%s not followed: a write is done only when its own answer says so, so nothing counts as written; check the tenant", to)
	}
	return fmt.Sprintf("The server redirected%s, away from the connector asked for: not followed, so nothing of another connector is taken for this one", to)
}

// redirectError marks a 3xx answer's *Error so errors.Is finds
// ErrRedirectedWrite for a write.
func redirectError(e *Error, hr *http.Response, method string) {
	if hr == nil || hr.StatusCode < 300 || hr.StatusCode >= 400 || e.Err != nil {
		return
	}
	if method != http.MethodGet && method != http.MethodHead {
		e.Err = ErrRedirectedWrite
	}
}
