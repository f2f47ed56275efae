package sandbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"strings"
	"time"
)

// maxTokenRequest bounds the token request body; real ones are a few hundred bytes.
const maxTokenRequest = 64 << 10

// tokenResponse is OAuthTokenResponse as the tenant sends it.
type tokenResponse struct {
	AccessToken         string `json:"access_token"`
	TokenType           string `json:"token_type"`
	ExpiresIn           int    `json:"expires_in"`
	Scope               string `json:"scope"`
	AccessType          string `json:"accessType"`
	TenantID            string `json:"tenant_id"`
	Internal            bool   `json:"internal"`
	Pod                 string `json:"pod"`
	StrongAuthSupported bool   `json:"strong_auth_supported"`
	Org                 string `json:"org"`
	ClientID            string `json:"client_id"`
	StrongAuth          bool   `json:"strong_auth"`
	Enabled             bool   `json:"enabled"`
	JTI                 string `json:"jti"`
}

// serveToken implements the client-credentials grant of POST /oauth/token.
// Parameters may come in the query string, an x-www-form-urlencoded body or a
// multipart/form-data body (NOTES: all three are documented). HTTP Basic client
// authentication is not documented and is refused, so clients that try it
// first (x/oauth2's auto-detection) fall back to parameters.
func (t *Tenant) serveToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequest)
	var err error
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		err = r.ParseMultipartForm(maxTokenRequest)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		t.tokenError(w, "invalid_request: cannot read the token request: "+err.Error())
		return
	}
	grant := r.Form.Get("grant_type")
	if !strings.EqualFold(grant, "client_credentials") {
		t.tokenError(w, "unsupported_grant_type: the sandbox issues tokens for grant_type=client_credentials only")
		return
	}
	id, secret := r.Form.Get("client_id"), r.Form.Get("client_secret")
	want, known := t.opts.Clients[id]
	if id == "" || !known || subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 {
		t.tokenError(w, "invalid_client: unknown client_id or wrong client_secret")
		return
	}
	now := t.now()
	t.authMu.Lock()
	t.issued++
	jti := t.issued
	for k, v := range t.tokens { // keeps the table small on long runs
		if !now.Before(v.expires) {
			delete(t.tokens, k)
		}
	}
	tok := t.mintLocked(id, now, jti)
	t.authMu.Unlock()
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: tok,
		TokenType:   "bearer",
		ExpiresIn:   expiresIn(t.opts.TokenTTL),
		Scope:       "sp:scopes:all",
		AccessType:  "OFFLINE",
		TenantID:    t.opts.TenantID,
		Pod:         t.opts.Pod,
		Org:         t.opts.Org,
		ClientID:    id,
		Enabled:     true,
		JTI:         uuidFrom(fmt.Sprintf("jti:%s:%d", t.opts.Org, jti)),
	})
}

func expiresIn(ttl time.Duration) int {
	s := int(math.Ceil(ttl.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

func (t *Tenant) tokenError(w http.ResponseWriter, msg string) {
	t.stats.unauthorized()
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
}

// IssueToken returns a valid bearer token for clientID without a request, for
// tests that talk to the handler directly. It fails for an unknown client id.
func (t *Tenant) IssueToken(clientID string) (string, bool) {
	if _, ok := t.opts.Clients[clientID]; !ok {
		return "", false
	}
	t.authMu.Lock()
	t.issued++
	tok := t.mintLocked(clientID, t.now(), t.issued)
	t.authMu.Unlock()
	return tok, true
}

// jwtKey signs the sandbox's tokens; it only makes them look like a
// tenant's, nothing verifies the signature but the token table.
var jwtKey = func() []byte {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return b[:]
}()

// mintLocked issues a token for clientID and records it; t.authMu is held.
// The token is a JWT with the claims of a tenant's tokens (see the package
// comment), so clients can read the user level and scopes from it.
func (t *Tenant) mintLocked(clientID string, now time.Time, jti uint64) string {
	exp := now.Add(t.opts.TokenTTL)
	claims := map[string]any{
		"tenant_id": t.opts.TenantID,
		"pod":       t.opts.Pod,
		"org":       t.opts.Org,
		"client_id": clientID,
		"scope":     t.opts.Scopes,
		"exp":       exp.Unix(),
		"jti":       uuidFrom(fmt.Sprintf("jti:%s:%d", t.opts.Org, jti)),
		// A random part keeps two tokens of the same second apart.
		"nonce": randomHex(12),
	}
	if len(t.opts.Authorities) > 0 {
		claims["authorities"] = t.opts.Authorities
		claims["identity_id"] = uuidFrom("identity:" + clientID)
		claims["user_name"] = "sandbox.admin"
	}
	payload, _ := json.Marshal(claims)
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	body := head + "." + base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha256.New, jwtKey)
	mac.Write([]byte(body))
	tok := body + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	t.tokens[tok] = tokenInfo{clientID: clientID, expires: exp, authorities: t.opts.Authorities, scopes: t.opts.Scopes}
	return tok
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// uuidFrom makes a stable UUID-shaped identifier from s.
func uuidFrom(s string) string {
	h := sha256.Sum256([]byte(s))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
