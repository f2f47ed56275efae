package apiclient

import (
	"regexp"
	"strings"
	"sync"
)

// redactor removes from text every secret this client ever held: the client
// secret and each access token, the renewed ones' predecessors included (a
// 403 answered after a renewal may quote the old token),
// plus credentials in any request a server echoes back (Authorization,
// Cookie, access_token=..., whatever their value).
//
// How a secret is matched depends on its length, so that a very short one
// cannot mangle ordinary text: 16 bytes or more anywhere; 8 to 15 only as a
// whole word (not inside a longer run of token characters); shorter ones only
// where the credential patterns find them (after "Bearer", in an
// Authorization header), since as plain text they cannot be told from words.
type redactor struct {
	mu   sync.RWMutex
	held []string
}

const (
	redacted       = "REDACTED"
	redactAnywhere = 16
	redactWord     = 8
)

// add remembers s for every later scrub.
func (r *redactor) add(s string) {
	if s == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.held {
		if h == s {
			return
		}
	}
	r.held = append(r.held, s)
}

func (r *redactor) scrub(s string) string {
	if s == "" {
		return s
	}
	r.mu.RLock()
	for _, h := range r.held {
		s = redactOne(s, h)
	}
	r.mu.RUnlock()
	return redactCredentials(s)
}

// redactOne replaces secret in s as its length allows (see redactor).
func redactOne(s, secret string) string {
	switch {
	case len(secret) >= redactAnywhere:
		return strings.ReplaceAll(s, secret, redacted)
	case len(secret) < redactWord || !strings.Contains(s, secret):
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, secret)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(secret)
		whole := (i == 0 || !isTokenByte(s[i-1])) && (end == len(s) || !isTokenByte(s[end]))
		b.WriteString(s[:i])
		if whole {
			b.WriteString(redacted)
		} else {
			b.WriteString(secret)
		}
		s = s[end:]
	}
}

// isTokenByte reports whether c can be part of a token or secret (base64,
// base64url, JWT dots, URL-safe punctuation).
func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '='
}

var (
	// bearerRE finds a token after its scheme, "Bearer eyJ...", anywhere.
	// Eight characters at least, so that "invalid bearer token" stays.
	bearerRE = regexp.MustCompile(`(?i)\b(bearer)(\s+)[A-Za-z0-9\-._~+/=]{8,}`)
	// credentialRE finds the value of a credential header or parameter in
	// echoed text: `Authorization: Bearer x`, `"cookie":"x"`, `access_token=x`.
	credentialRE = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization|cookie|set-cookie|x-api-key|api[-_]?key|access[-_]token|refresh[-_]token|id[-_]token|client[-_]secret)(\\?["']?\s*[:=]\s*\\?["']?\[?)((?:bearer\s+)?[^"'\s,;&}\]\\]+)`)
)

func redactCredentials(s string) string {
	if !strings.ContainsAny(s, ":=") && !containsFold(s, "bearer") {
		return s
	}
	s = bearerRE.ReplaceAllString(s, "${1}${2}"+redacted)
	return credentialRE.ReplaceAllString(s, "${1}${2}"+redacted)
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), sub)
}

// scrubBody scrubs an error answer's body (at most maxErrorBody of it is
// ever decoded) before it is decoded and cut to message length.
func (c *Client) scrubBody(b []byte) []byte {
	if len(b) > maxErrorBody {
		b = b[:maxErrorBody]
	}
	return []byte(c.scrub(string(b)))
}
