package apiclient

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestRotatedTokenRedacted: after a 401 forced a new
// token, a 403 whose body quotes the old token and echoes the request's
// headers prints neither token nor header value.
func TestRotatedTokenRedacted(t *testing.T) {
	f := newFake(t, nil)
	f.api = func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 0 {
			writeJSON(w, 200, `{"name":"warm","scriptName":"warm"}`)
			return
		}
		// Every token issued so far, the first (rotated away) included.
		writeJSON(w, 403, fmt.Sprintf(`{"detailCode":"403","messages":[{"text":"token TOKEN-1-abcdefghijkl is not allowed; request was GET %s with headers map[Authorization:[%s] Cookie:[session=zzz123]] and {\"authorization\": \"%s\"}"}],"causes":["access_token=TOKEN-2-abcdefghijkl&x=1"]}`,
			r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Authorization")))
	}
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	if _, _, err := c.GetConnector(ctx, "warm", ""); err != nil {
		t.Fatal(err)
	}
	f.revokeAll() // the next call gets a 401 and renews its token
	_, _, err := c.GetConnector(ctx, "victim", "")
	if err == nil {
		t.Fatal("want a 403")
	}
	if f.tokens() != 2 {
		t.Fatalf("%d tokens issued, want 2 (the test needs a rotation)", f.tokens())
	}
	msg := err.Error()
	for _, leak := range []string{"TOKEN-1", "TOKEN-2", "zzz123", "abcdefghijkl"} {
		if strings.Contains(msg, leak) {
			t.Errorf("the error holds %q:\n%s", leak, msg)
		}
	}
	if !strings.Contains(msg, "is not allowed") || !strings.Contains(msg, "REDACTED") {
		t.Errorf("the message lost its words or was not redacted:\n%s", msg)
	}
}

// TestRedactShortSecrets: a secret too short to tell from text is not
// replaced in ordinary words, a medium one only as a whole word, a long one
// anywhere; credentials after Bearer or in echoed headers always go.
func TestRedactShortSecrets(t *testing.T) {
	var r redactor
	for _, s := range []string{"ab", "a", "e", "abcdefgh12", "LONGTOKENabcdefghijklmnop"} {
		r.add(s)
	}
	for _, tc := range []struct{ in, want string }{
		{"a table about abs and an ab", "a table about abs and an ab"},
		{"the server has been renamed", "the server has been renamed"},
		{"key abcdefgh12 and xabcdefgh12y", "key REDACTED and xabcdefgh12y"},
		{"stuckLONGTOKENabcdefghijklmnopthere", "stuckREDACTEDthere"},
		{"Authorization: Bearer ab", "Authorization: REDACTED"},
		{`{"Authorization":"Bearer ab","x":1}`, `{"Authorization":"REDACTED","x":1}`},
		{"sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "sent Bearer REDACTED"},
		{"Invalid bearer token: Basic auth is not supported", "Invalid bearer token: Basic auth is not supported"},
		{"cookie=ab; path=/", "cookie=REDACTED; path=/"},
		{"no credentials: name is basic", "no credentials: name is basic"},
	} {
		if got := r.scrub(tc.in); got != tc.want {
			t.Errorf("scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
