package apiclient

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// What `connvault doctor` needs to see of a tenant beyond the 13 operations:
// the token's lifetime and claims, each layout on its own, and what every
// answer said about time and rate limits. Nothing here exposes the token or
// the secret.

// TokenInfo describes the access token the client holds.
type TokenInfo struct {
	Lifetime time.Duration // from expires_in; 0 when none was announced
	// JWT is set when the token is a JSON Web Token; Claims is then its
	// payload, decoded but not verified (only the tenant can verify it).
	JWT    bool
	Claims map[string]any
}

// TokenInfo fetches a token if none is cached and describes it.
func (c *Client) TokenInfo(ctx context.Context) (TokenInfo, error) {
	t, err := c.token(ctx, c.pacerFor("oauth"))
	if err != nil {
		return TokenInfo{}, err
	}
	info := TokenInfo{Lifetime: tokenLifetime(t)}
	info.Claims, info.JWT = jwtClaims(t.AccessToken)
	return info, nil
}

// TenantIdentity is the tenant the client's token names: its tenant_id
// claim (the org's name when there is none), fetching a token when none is
// held yet. It is "" when the token is not a JWT. However a base URL is
// spelled, the token says which tenant answered.
func (c *Client) TenantIdentity(ctx context.Context) (string, error) {
	if _, err := c.token(ctx, c.pacerFor("oauth")); err != nil {
		return "", err
	}
	return c.KnownTenantIdentity(), nil
}

// KnownTenantIdentity is TenantIdentity without a request: "" until a token
// was fetched.
func (c *Client) KnownTenantIdentity() string {
	if id := c.identity.Load(); id != nil {
		return *id
	}
	return ""
}

func identityOf(claims map[string]any) string {
	for _, k := range []string{"tenant_id", "org"} {
		if v, ok := claims[k].(string); ok && v != "" {
			return v
		}
	}
	return ""
}

// jwtClaims decodes the payload of a JWT, without verifying anything.
func jwtClaims(tok string) (map[string]any, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	if json.Unmarshal(raw, &claims) != nil {
		return nil, false
	}
	return claims, true
}

// ListIn fetches one page of the list through layout version, whatever
// layout the run uses.
func (c *Client) ListIn(ctx context.Context, version string, q ListQuery) (Page, error) {
	return c.listIn(ctx, version, q)
}

// GetDocumentIn fetches doc through layout version.
func (c *Client) GetDocumentIn(ctx context.Context, version, scriptName string, doc Document) ([]byte, error) {
	op := "get " + string(doc)
	if err := checkDocument(op, scriptName, doc); err != nil {
		return nil, err
	}
	r := &request{op: op, scriptName: scriptName, method: http.MethodGet, path: connectorPath(scriptName) + "/" + string(doc), accept: acceptXML, version: version}
	return c.getRaw(ctx, r)
}

// Observation is what one API answer said besides its body.
type Observation struct {
	Method, Path string // Path with its layout's prefix, no query
	Status       int
	Sent         time.Time     // client clock
	Latency      time.Duration // request sent to answer read
	Date         string        // the answer's Date header
	RateHeaders  http.Header   // Retry-After, X-RateLimit-* and RateLimit-* headers, when any
}

// Observe installs f, called after every API answer (not token requests).
// Call it before the first request; f must be safe for concurrent use.
func (c *Client) Observe(f func(Observation)) { c.observe = f }

func (c *Client) observed(r *request, hr *http.Response, sent time.Time) {
	if c.observe == nil || hr == nil {
		return
	}
	o := Observation{Method: r.method, Path: c.pathOf(r), Status: hr.StatusCode, Sent: sent, Latency: c.clock.Now().Sub(sent), Date: hr.Header.Get("Date")}
	for k, v := range hr.Header {
		lk := strings.ToLower(k)
		if lk == "retry-after" || strings.HasPrefix(lk, "x-ratelimit") || strings.HasPrefix(lk, "ratelimit") {
			if o.RateHeaders == nil {
				o.RateHeaders = http.Header{}
			}
			o.RateHeaders[k] = v
		}
	}
	c.observe(o)
}
