package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
)

// passedThrough marks the request LoseCreateAnswers hands to the tenant, so
// the hook lets it by when the tenant calls it again.
type passedThrough struct{}

// LostCreates is a hook (Hook, for Tenant.SetHook, alone or called from
// another hook) that makes the tenant carry out the first create of each of
// its names and then drops the connection, so the client never hears back:
// the lost answer after which a restore must find the connector rather than
// create it again. Lost says which creates it did lose, so a test can show
// that case really happened.
type LostCreates struct {
	tn    *Tenant
	names []string
	mu    sync.Mutex
	lost  map[string]bool
}

// LoseCreateAnswers returns the hook that loses the answer to the first
// create of each name in names that the tenant carries out.
func LoseCreateAnswers(tn *Tenant, names ...string) *LostCreates {
	return &LostCreates{tn: tn, names: names, lost: map[string]bool{}}
}

// Lost is the names whose create the tenant carried out and whose answer the
// hook dropped, sorted.
func (l *LostCreates) Lost() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(maps.Keys(l.lost))
}

// Hook is the request hook.
func (l *LostCreates) Hook(w http.ResponseWriter, r *http.Request) bool {
	if r.Context().Value(passedThrough{}) != nil || RouteOf(r).Op != "createCustomConnector" {
		return false
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var in struct{ Name string }
	_ = json.Unmarshal(body, &in)
	l.mu.Lock()
	drop := slices.Contains(l.names, in.Name) && !l.lost[in.Name]
	l.mu.Unlock()
	if !drop {
		return false
	}
	// The mark rides on this request alone: a flag shared by the hook would
	// let every other request arriving meanwhile slip past it too, and stay
	// set when a dropped-connection fault panics out of here.
	rec := httptest.NewRecorder()
	l.tn.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), passedThrough{}, true)))
	// Only a create the tenant carried out counts as lost; after one that a
	// fault refused, the next create of the name is lost instead.
	if rec.Code/100 == 2 {
		l.mu.Lock()
		l.lost[in.Name] = true
		l.mu.Unlock()
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return true
		}
	}
	panic(http.ErrAbortHandler)
}
