package apiclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is a failed API call. StatusCode is 0 when no HTTP answer arrived
// (network failure, cancelled context); Err then holds the cause.
type Error struct {
	Op         string // what was attempted, e.g. "get connector"
	ScriptName string // the connector concerned, empty for list and create
	Name       string // the connector name, set by create
	Method     string
	Path       string // request path with its API version prefix, no query
	StatusCode int
	DetailCode string   // ErrorResponseDto.detailCode
	TrackingID string   // ErrorResponseDto.trackingId: quote it to SailPoint support
	Messages   []string // message texts from whichever error body the server sent
	Snippet    string   // start of a body that was not a known error shape, capped
	Hint       string   // what the user can do about it
	Attempts   int      // requests sent for this call, when more than one
	Token      bool     // the failure came from the token endpoint, not the API
	Err        error    // underlying cause (network error, ErrUpdateFailed, ...)
}

// ErrUpdateFailed marks a PUT that the server answered with HTTP 200 and
// UpdateDetail.status ERROR: the document was not stored.
var ErrUpdateFailed = errors.New("server reported status ERROR")

// ErrCreateOutcomeUnknown marks a create whose earlier attempt failed in transit
// and whose outcome could not be settled: the connector may exist on the tenant.
var ErrCreateOutcomeUnknown = errors.New("outcome of an earlier create attempt is unknown")

// errBodyTooLarge is returned when a response exceeds the configured cap.
var errBodyTooLarge = errors.New("response body too large")

const (
	maxSnippet      = 200 // runes of an unrecognised body kept in an error
	maxMessages     = 10  // messages kept from one error body
	maxMessageRunes = 500
	maxErrorBody    = 64 << 10 // an error body is never worth more than this
)

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	switch {
	case e.ScriptName != "":
		fmt.Fprintf(&b, " %q", e.ScriptName)
	case e.Name != "":
		fmt.Fprintf(&b, " (name %q)", e.Name)
	}
	b.WriteString(": ")
	if e.Token {
		b.WriteString("token request: ")
	}
	switch {
	case errors.Is(e.Err, ErrUpdateFailed):
		b.WriteString(ErrUpdateFailed.Error())
	case e.StatusCode != 0:
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
		if e.DetailCode != "" {
			fmt.Fprintf(&b, " (%s)", e.DetailCode)
		}
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("failed")
	}
	if len(e.Messages) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Messages, "; "))
	} else if e.Snippet != "" {
		fmt.Fprintf(&b, ": %q", e.Snippet)
	}
	// A token refusal's hint says what the cause would repeat.
	if e.StatusCode != 0 && e.Err != nil && !errors.Is(e.Err, ErrUpdateFailed) && !(e.Token && e.Hint != "") {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.TrackingID != "" {
		fmt.Fprintf(&b, " [trackingId %s]", e.TrackingID)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.Hint != "" {
		b.WriteString(". ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// IsNotFound reports whether err is an API answer of 404, for example a
// connector deleted between list and fetch.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound && !e.Token
}

// decodeErrorBody fills the server-provided parts of e from an error answer.
// It understands ErrorResponseDto, the 401 {"error"} body and the 429
// {"message"} body; anything else becomes a short printable snippet, so an
// HTML page from a proxy or plain garbage still gives a readable error.
func decodeErrorBody(e *Error, contentType string, body []byte) {
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	trimmed := strings.TrimSpace(string(body))
	if strings.HasPrefix(trimmed, "{") {
		var dto struct {
			DetailCode any               `json:"detailCode"`
			TrackingID any               `json:"trackingId"`
			Messages   []json.RawMessage `json:"messages"`
			Causes     []json.RawMessage `json:"causes"`
			Error      any               `json:"error"`
			Message    any               `json:"message"`
		}
		if json.Unmarshal([]byte(trimmed), &dto) == nil {
			e.DetailCode = clean(scalarText(dto.DetailCode), maxSnippet)
			e.TrackingID = clean(scalarText(dto.TrackingID), maxSnippet)
			for _, list := range [][]json.RawMessage{dto.Messages, dto.Causes} {
				for _, raw := range list {
					if t := messageText(raw); t != "" {
						addMessage(e, t)
					}
				}
			}
			for _, v := range []any{dto.Error, dto.Message} {
				if t := scalarText(v); t != "" {
					addMessage(e, t)
				}
			}
			if e.DetailCode != "" || e.TrackingID != "" || len(e.Messages) > 0 {
				return
			}
		}
	}
	e.Snippet = snippet(contentType, body)
}

func addMessage(e *Error, t string) {
	t = clean(t, maxMessageRunes)
	if t == "" || len(e.Messages) >= maxMessages {
		return
	}
	e.Messages = append(e.Messages, t)
}

// messageText reads an ErrorMessageDto, tolerating a bare string in its place.
func messageText(raw json.RawMessage) string {
	var m struct {
		Text any `json:"text"`
	}
	if json.Unmarshal(raw, &m) == nil && m.Text != nil {
		return scalarText(m.Text)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// scalarText renders a JSON value the spec leaves untyped (401 error, 429
// message) as text; objects and arrays are rendered as compact JSON.
func scalarText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64, bool:
		return fmt.Sprint(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return ""
		}
		return string(b)
	}
}

// snippet turns an unrecognised body into one short printable line. HTML is
// reduced to its text so a proxy's error page reads as its message.
func snippet(contentType string, body []byte) string {
	if len(body) == 0 {
		return ""
	}
	s := string(body)
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "text/html" || strings.HasPrefix(strings.TrimSpace(strings.ToLower(s)), "<!doctype html") || strings.HasPrefix(strings.TrimSpace(strings.ToLower(s)), "<html") {
		s = stripTags(s)
	}
	return clean(s, maxSnippet)
}

func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>' && in:
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// clean makes s safe to print on one line: invalid UTF-8 and control
// characters become spaces, runs of space collapse, and the result is capped
// at max runes with an ellipsis.
func clean(s string, max int) string {
	var b strings.Builder
	n := 0
	space := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			space = n > 0
			continue
		}
		if n >= max {
			b.WriteString("…")
			return b.String()
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
			if n >= max {
				b.WriteString("…")
				return b.String()
			}
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// authHint says which scope and user level a call needs; 401 and 403 are
// almost always a credential or permission problem the user has to fix.
func authHint(status int, method string) string {
	scope := "idn:connector-config:manage"
	if method == http.MethodGet {
		scope = "idn:connector-config:read or idn:connector-config:manage"
	}
	levels := "a user level of ORG_ADMIN, SOURCE_ADMIN or SOURCE_SUBADMIN"
	switch status {
	case http.StatusUnauthorized:
		return fmt.Sprintf("The tenant refused a fresh token: check that the client id and secret belong to this tenant; the call needs scope %s and %s", scope, levels)
	case http.StatusForbidden:
		return fmt.Sprintf("This call needs scope %s and %s; a client-credentials token of a plain API client has no user context, so use a personal access token (PAT) of such a user", scope, levels)
	}
	return ""
}

// tokenHint explains a refusal by the token endpoint.
// networkHint says what to check when the tenant's host could not be
// reached at all, naming the host; "" for other errors.
func networkHint(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return fmt.Sprintf("The host %s does not resolve: check the base URL (SAIL_BASE_URL, --base-url or the tenant's baseUrl; an ISC API host looks like TENANT.api.identitynow.com) and this machine's DNS and proxy", dns.Name)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" && op.Addr != nil {
		return fmt.Sprintf("Nothing answered at %s: check the base URL (SAIL_BASE_URL, --base-url or the tenant's baseUrl) and the network (firewall, proxy)", op.Addr)
	}
	return ""
}

func tokenHint(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
		return "The token endpoint refused the client credentials: check the client id and secret (SAIL_CLIENT_ID, SAIL_CLIENT_SECRET) and the base URL (SAIL_BASE_URL)"
	}
	return ""
}
