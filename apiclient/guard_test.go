package apiclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestWriteNeverFollowsRedirect (issue 18, defect 2): a PUT answered 303
// pointing at the connector's detail (which Go's client would fetch with a
// GET, 200) is a failed write, not a written one; so are a PATCH, a DELETE
// and a create answered with a redirect. Only the write itself reaches the
// server.
func TestWriteNeverFollowsRedirect(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if r.Method == http.MethodGet {
				// What following the redirect would have read: a valid
				// answer of every shape the writes expect.
				writeJSON(w, http.StatusOK, `{"name":"bravo","scriptName":"bravo","status":"UPDATED","updatedFiles":["x"]}`)
				return
			}
			http.Redirect(w, r, "/v3/connectors/bravo", status)
		})
		c := newTestClient(t, f, nil)
		ctx := context.Background()
		calls := map[string]func() error{
			"put": func() error {
				_, err := c.PutDocument(ctx, "alpha", SourceConfig, []byte("<x/>"))
				return err
			},
			"put translation": func() error {
				_, err := c.PutTranslation(ctx, "alpha", "fr", []byte("a=b"))
				return err
			},
			"patch": func() error {
				_, err := c.PatchConnector(ctx, "alpha", []JsonPatchOperation{{Op: "replace", Path: "/applicationXml", Value: "<a/>"}})
				return err
			},
			"delete": func() error { return c.DeleteConnector(ctx, "alpha") },
			"create": func() error {
				_, err := c.CreateConnector(ctx, V3CreateConnectorDto{Name: "alpha", ClassName: "x"})
				return err
			},
		}
		for name, call := range calls {
			before := len(f.requests())
			err := call()
			if !errors.Is(err, ErrRedirectedWrite) {
				t.Errorf("%d, %s: err = %v, want ErrRedirectedWrite", status, name, err)
				continue
			}
			if !strings.Contains(err.Error(), "not followed") || !strings.Contains(err.Error(), "/v3/connectors/bravo") {
				t.Errorf("%d, %s: the error does not say the redirect was not followed, or where it led: %v", status, name, err)
			}
			reqs := f.requests()[before:]
			for _, r := range reqs {
				if r.Method == http.MethodGet {
					t.Errorf("%d, %s: the redirect was followed (GET %s)", status, name, r.Path)
				}
			}
			if len(reqs) != 1 {
				t.Errorf("%d, %s: %d requests, want the write alone", status, name, len(reqs))
			}
		}
	}
}

// TestReadRedirectStaysOnConnector: a read redirected to another connector's
// path is not followed (its answer would be taken for this connector's); one
// within the same connector still is.
func TestReadRedirectStaysOnConnector(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch r.URL.Path {
		case "/v3/connectors/alpha/source-config":
			http.Redirect(w, r, "/v3/connectors/bravo/source-config", http.StatusFound)
		case "/v3/connectors/alpha/source-template":
			http.Redirect(w, r, "/v3/connectors/alpha/source-template-v2", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/xml")
			io.WriteString(w, "<doc path=\""+r.URL.Path+"\"/>")
		}
	})
	c := newTestClient(t, f, nil)
	b, err := c.GetDocument(context.Background(), "alpha", SourceConfig)
	if err == nil || b != nil || !strings.Contains(err.Error(), "HTTP 302") || !strings.Contains(err.Error(), "away from the connector") {
		t.Errorf("redirect to bravo: %q, %v; want an error and no document", b, err)
	}
	for _, r := range f.requests() {
		if strings.Contains(r.Path, "bravo") {
			t.Errorf("bravo's document was fetched: %s", r.Path)
		}
	}
	b, err = c.GetDocument(context.Background(), "alpha", SourceTemplate)
	if err != nil || !strings.Contains(string(b), "source-template-v2") {
		t.Errorf("redirect within alpha: %q, %v; want it followed", b, err)
	}
}
