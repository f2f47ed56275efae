package apiclient

// Guards against a hostile or broken server: an answer is taken
// for what was asked only when it says so itself. A write is never carried
// over a redirect, and an answer about another connector is an error for the
// one requested.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
// ("/v3/connectors/alpha" of "/v3/connectors/alpha/source-config",
// "/connectors/v1/alpha" of "/connectors/v1/alpha/translations/fr"), or the
// whole path when it names none.
func connectorOf(path string) string {
	i := strings.Index(path, "/connectors/")
	if i < 0 {
		return path
	}
	head := i + len("/connectors/")
	prev := path[strings.LastIndexByte(path[:i], '/')+1 : i]
	if !slices.Contains(Layouts, prev) && strings.HasPrefix(path[head:], VersionV1+"/") {
		// The per-service layout, /connectors/v1/{scriptName}; under a
		// yearly one (/v3/connectors/...) "v1" would be a scriptName.
		head += len(VersionV1) + 1
	}
	if j := strings.IndexByte(path[head:], '/'); j >= 0 {
		return path[:head+j]
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

// checkDetailFor refuses a detail that names another scriptName than the one
// asked for (GET /connectors/alpha answered with bravo's detail would be
// archived as alpha). A detail without a scriptName, or one that is not a
// JSON object, is left to the caller's decoding to judge.
func checkDetailFor(op, scriptName string, body []byte) error {
	got, ok := topLevelString(body, "scriptName")
	if !ok || got == scriptName {
		return nil
	}
	return fmt.Errorf("%w: the answer is the detail of scriptName %s, not %q; it is not used for %q",
		ErrWrongConnector, quoteShort(got), scriptName, scriptName)
}

// quoteShort quotes server text for an error message, cut to a readable length.
func quoteShort(s string) string {
	if len(s) > maxSnippet {
		s = s[:maxSnippet] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// topLevelString finds key among the members of the JSON object in b and
// returns its value when that is a string (the last one, as encoding/json
// keeps the last of duplicate keys). It does not decode anything else: a
// detail carries every document as a string, and a second full decode would
// double the cost of reading it. ok is false when b is not a well-formed
// object or the value is absent or not a string.
func topLevelString(b []byte, key string) (string, bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return "", false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return "", false
	}
	var val string
	found := false
	for {
		if i >= len(b) || b[i] != '"' {
			return "", false
		}
		end := stringEnd(b, i)
		if end < 0 {
			return "", false
		}
		k, kok := jsonString(b[i:end])
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return "", false
		}
		i = skipWS(b, i+1)
		vstart := i
		i = skipValue(b, i)
		if i < 0 {
			return "", false
		}
		if kok && k == key {
			v, vok := "", false
			if b[vstart] == '"' {
				v, vok = jsonString(b[vstart:i])
			}
			val, found = v, vok
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return "", false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			if skipWS(b, i+1) != len(b) {
				return "", false
			}
			return val, found
		default:
			return "", false
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string starting at b[i] == '"',
// or -1 when it does not end. It jumps from quote to quote (IndexByte is
// vectorised) and counts the backslashes before each: an odd run escapes it.
func stringEnd(b []byte, i int) int {
	i++
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return -1
		}
		q := i + j
		n := 0
		for k := q - 1; k >= i && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
}

// skipValue returns the index just past the value starting at b[i], or -1.
// Containers are skipped by counting brackets outside strings; their
// contents are not checked, which is the full decoder's job.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				if i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	default:
		start := i
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		if i == start {
			return -1
		}
		return i
	}
}

// jsonString decodes one JSON string literal (quotes included).
func jsonString(lit []byte) (string, bool) {
	if bytes.IndexByte(lit, '\\') < 0 {
		s := lit[1 : len(lit)-1]
		if !utf8.Valid(s) {
			return "", false
		}
		return string(s), true
	}
	var s string
	if json.Unmarshal(lit, &s) != nil {
		return "", false
	}
	return s, true
}

// wrongConnector turns a failed answer check into the call's *Error (nil
// stays nil).
func (c *Client) wrongConnector(r *request, resp *response, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: r.op, ScriptName: r.scriptName, Name: r.name, Method: r.method, Path: c.pathOf(r),
		StatusCode: resp.status, Err: err}
}

// checkCreated refuses a create's answer that is not the connector asked for:
// it must carry the requested name exactly and a scriptName that can address
// a connector. An answer naming another connector (an existing one, whose
// documents the caller would then overwrite) is ErrWrongConnector.
func checkCreated(name string, out V3ConnectorDto) error {
	if out.Name != name {
		return fmt.Errorf("%w: the answer to creating %q is connector %s (scriptName %s); nothing is written to it",
			ErrWrongConnector, name, quoteShort(out.Name), quoteShort(out.ScriptName))
	}
	if why := badScriptName(out.ScriptName); why != "" {
		return fmt.Errorf("%w: the answer to creating %q has a scriptName that %s; nothing is written to it",
			ErrWrongConnector, name, why)
	}
	return nil
}

// badScriptName says why s cannot address a connector, or returns "".
func badScriptName(s string) string {
	switch {
	case s == "":
		return "is empty"
	case s == "." || s == "..":
		return fmt.Sprintf("is %q", s)
	case strings.ContainsAny(s, "/\\"):
		return fmt.Sprintf("(%s) holds a slash", quoteShort(s))
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Sprintf("(%s) holds a control character", quoteShort(s))
		}
	}
	return ""
}

// findCreated looks for a connector named exactly name through every means
// the API gives, after a create whose answer was lost: the list (filtered by
// name; it shows RELEASED connectors only), then a probe of each scriptName
// the server is likely to have derived from the name, so that one created as
// DEVELOPMENT or DEMO is found too. A probe that finds a connector of another
// name moves on to the next suffix (-2, -3, ...), as a server that keeps
// scriptNames unique would have. found is nil when nothing matched; err is
// set when a lookup itself failed, and then nothing can be concluded.
func (c *Client) findCreated(ctx context.Context, name string) (*V3ConnectorDto, error) {
	found, err := c.findByName(ctx, name)
	if err != nil || found != nil {
		return found, err
	}
	for _, base := range likelyScriptNames(name) {
		for i := 1; i <= maxSuffixProbes; i++ {
			sn := base
			if i > 1 {
				sn = fmt.Sprintf("%s-%d", base, i)
			}
			d, _, err := c.GetConnector(ctx, sn, "")
			if IsNotFound(err) {
				break // suffixes are handed out in order: none further
			}
			if errors.Is(err, ErrWrongConnector) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("probing scriptName %q: %w", sn, err)
			}
			if d.Name == name {
				c.log.InfoContext(ctx, "apiclient: found the connector an earlier create attempt made (the list hides it)", "name", name, "scriptName", sn, "status", d.Status)
				return &V3ConnectorDto{Name: d.Name, Type: d.Type, ScriptName: sn, ClassName: &d.ClassName,
					DirectConnect: d.DirectConnect, ConnectorMetadata: d.ConnectorMetadata, Status: d.Status}, nil
			}
		}
	}
	return nil, nil
}

// maxSuffixProbes bounds the probes of one derived scriptName (itself, then
// -2 .. -N).
const maxSuffixProbes = 8

// likelyScriptNames are the scriptNames a server may derive from a
// connector's name. The rule is not documented (the spec's examples are
// "servicenow" and "aScriptName"): lower case with runs of other characters
// as one dash (what the sandbox does), lower case with them dropped, lower
// camel case, and the name itself.
func likelyScriptNames(name string) []string {
	var dashed, squashed, camel strings.Builder
	dash, upper := false, false
	for _, r := range name {
		isAlnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !isAlnum {
			dash, upper = true, true
			continue
		}
		lr := unicode.ToLower(r)
		if dash && dashed.Len() > 0 {
			dashed.WriteByte('-')
		}
		dashed.WriteRune(lr)
		squashed.WriteRune(lr)
		switch {
		case camel.Len() == 0:
			camel.WriteRune(lr)
		case upper:
			camel.WriteRune(unicode.ToUpper(r))
		default:
			camel.WriteRune(r)
		}
		dash, upper = false, false
	}
	var out []string
	for _, s := range []string{dashed.String(), squashed.String(), camel.String(), name} {
		if s != "" && badScriptName(s) == "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// maxSilentAttempts bounds the attempts of one call that the server answers
// with silence: it accepted the connection and sent no answer within the
// header timeout, or stopped sending one for the idle timeout. Each costs a
// whole timeout (90 s by default), so six of them kept a nightly run silent
// for ten minutes; two say as much about a hung server as six.
const maxSilentAttempts = 2

// silentServer counts an attempt lost to silence and decides whether the
// call gives up: after the first, it says at info level what is retried
// (the run would otherwise look hung); at maxSilentAttempts it stops.
func (c *Client) silentServer(ctx context.Context, r *request, b *budget, err error, apiErr *Error, wait time.Duration) bool {
	if !silence(err) {
		return false
	}
	b.silent++
	if b.silent >= maxSilentAttempts {
		apiErr.Hint = joinHint(apiErr.Hint, fmt.Sprintf("The server took the request but sent no answer, %d times: given up instead of waiting through every retry; check the tenant's status and any proxy on the way", b.silent))
		return true
	}
	what := r.op
	if r.scriptName != "" {
		what += fmt.Sprintf(" %q", r.scriptName)
	}
	c.log.InfoContext(ctx, fmt.Sprintf("no answer from the server to %s (%s); retrying in %s, and giving up if it stays silent again", what, silenceText(err), wait.Round(time.Millisecond)),
		"method", r.method, "path", apiErr.Path)
	return false
}

// silence reports whether err is a timeout waiting for the server: no
// answer headers in time, or an answer that stopped arriving.
func silence(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, errStalled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func silenceText(err error) string {
	if errors.Is(err, errStalled) {
		return "the answer stopped arriving"
	}
	return "no answer within the timeout"
}

// ErrUnconfirmedWrite marks a PUT whose answer does not say the document was
// stored: no status, or one the API does not define. A write is done only
// when its own answer says so.
var ErrUnconfirmedWrite = errors.New("the answer does not confirm the write")

// checkUpdate accepts a PUT's answer only when it reports an outcome the API
// defines (UPDATED, UNCHANGED, SKIPPED; ERROR is handled before) and, when
// it names a connector, names the one written to.
func checkUpdate(scriptName string, ud *UpdateDetail) error {
	switch strings.ToUpper(ud.Status) {
	case UpdateUpdated, UpdateUnchanged, UpdateSkipped:
	default:
		return fmt.Errorf("%w: its status is %s, not UPDATED, UNCHANGED or SKIPPED; not counted as written", ErrUnconfirmedWrite, quoteShort(ud.Status))
	}
	if ud.ScriptName != "" && ud.ScriptName != scriptName {
		return fmt.Errorf("%w: the answer reports a write to scriptName %s, not %q; not counted as written", ErrWrongConnector, quoteShort(ud.ScriptName), scriptName)
	}
	return nil
}
