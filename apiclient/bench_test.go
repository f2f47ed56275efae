package apiclient

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// BenchmarkGetDocument measures the client's own cost per call (token cache,
// pacer, request building, body cap) against a local server, unpaced.
func BenchmarkGetDocument(b *testing.B) {
	doc := make([]byte, 16<<10)
	f := newFake(b, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/xml")
		w.Write(doc)
	})
	c, err := New(Config{BaseURL: f.srv.URL, ClientID: testClientID, ClientSecret: testSecret, Rate: -1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.GetDocument(ctx, "acme", SourceConfig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutDocument covers the multipart path.
func BenchmarkPutDocument(b *testing.B) {
	doc := make([]byte, 16<<10)
	f := newFake(b, func(w http.ResponseWriter, r *http.Request, n int) {
		io.Copy(io.Discard, r.Body)
		writeJSON(w, 200, `{"status":"UPDATED"}`)
	})
	c, err := New(Config{BaseURL: f.srv.URL, ClientID: testClientID, ClientSecret: testSecret, Rate: -1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.PutDocument(ctx, "acme", SourceConfig, doc); err != nil {
			b.Fatal(err)
		}
	}
}
