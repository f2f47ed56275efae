package apiclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// pages serves a fixed sequence of pages by call order; past its end it
// repeats the last one forever (the hostile case).
type pages struct {
	seq   []Page
	calls int
}

func (p *pages) fetch(_ context.Context, offset int) (Page, error) {
	i := min(p.calls, len(p.seq)-1)
	p.calls++
	return p.seq[i], nil
}

func items(names ...string) []V3ConnectorDto {
	out := make([]V3ConnectorDto, len(names))
	for i, n := range names {
		out[i] = V3ConnectorDto{Name: n, ScriptName: n}
	}
	return out
}

func pageRun(fetch fetchPage, size, maxPages int) ([]string, error) {
	var got []string
	var err error
	pageAll(context.Background(), fetch, size, maxPages, nil, func(c V3ConnectorDto, e error) bool {
		if e != nil {
			err = e
			return false
		}
		got = append(got, c.ScriptName)
		return true
	})
	return got, err
}

func TestPageAll(t *testing.T) {
	for _, tc := range []struct {
		name    string
		seq     []Page
		want    string
		wantErr string
		calls   int
	}{
		{"ends at a short page", []Page{{Items: items("a", "b"), Total: -1}, {Items: items("c"), Total: -1}}, "a b c", "", 2},
		{"a total that is a multiple of the page", []Page{{Items: items("a", "b"), Total: 4}, {Items: items("c", "d"), Total: 4}, {Total: 4}}, "a b c d", "", 3},
		{"a shifted page repeats one", []Page{{Items: items("a", "b"), Total: -1}, {Items: items("b", "c"), Total: -1}, {Items: items("d"), Total: -1}}, "a b c d", "", 3},
		{"the same page forever", []Page{{Items: items("a", "b"), Total: -1}}, "a b", "repeats 2 of its 2", 2},
		{"more than the declared total", []Page{{Items: items("a", "b"), Total: 2}, {Items: items("c", "d"), Total: 2}, {Items: items("e"), Total: 2}}, "a b c d e", "", 3},
		{"a total of 0 on pages that list", []Page{{Items: items("a", "b"), Total: 0}, {Items: items("c"), Total: 0}}, "a b c", "", 2},
		{"a lying total, then the same page forever", []Page{{Items: items("a", "b"), Total: 0}, {Items: items("c", "d"), Total: 0}}, "a b c d", "repeats 2 of its 2", 3},
		{"new connectors forever", nil, "", "after 5 pages", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.seq != nil {
				p := &pages{seq: tc.seq}
				got, err := pageRun(p.fetch, 2, 5)
				pageCheck(t, got, err, tc.want, tc.wantErr, p.calls, tc.calls)
				return
			}
			n := 0
			fetch := func(context.Context, int) (Page, error) {
				n++
				return Page{Items: items(fmt.Sprint("x", 2*n), fmt.Sprint("x", 2*n+1)), Total: -1}, nil
			}
			got, err := pageRun(fetch, 2, 5)
			if len(got) != 10 {
				t.Errorf("yielded %d connectors before stopping, want the 10 of 5 pages", len(got))
			}
			pageCheck(t, nil, err, "", tc.wantErr, n, tc.calls)
		})
	}
}

func pageCheck(t *testing.T, got []string, err error, want, wantErr string, calls, wantCalls int) {
	t.Helper()
	if strings.Join(got, " ") != want {
		t.Errorf("yielded %q, want %q", got, want)
	}
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("err = %v", err)
	case wantErr != "" && (!errors.Is(err, ErrEndlessList) || !strings.Contains(err.Error(), wantErr)):
		t.Errorf("err = %v, want ErrEndlessList saying %q", err, wantErr)
	}
	if calls != wantCalls {
		t.Errorf("%d pages asked for, want %d", calls, wantCalls)
	}
}

// TestAllConnectorsSamePageForever: a server answering every page with the
// same full page stops after the second page with ErrEndlessList.
func TestAllConnectorsSamePageForever(t *testing.T) {
	var page strings.Builder
	page.WriteString("[")
	for i := range MaxPageSize {
		if i > 0 {
			page.WriteString(",")
		}
		fmt.Fprintf(&page, `{"name":"c%d","scriptName":"c%d"}`, i, i)
	}
	page.WriteString("]")
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Query().Get("count") != "true" {
			t.Errorf("list without count=true: %s", r.URL.RawQuery)
		}
		w.Header().Set("X-Total-Count", strconv.Itoa(100000))
		writeJSON(w, 200, page.String())
	})
	c := newTestClient(t, f, nil)
	n := 0
	var err error
	for _, e := range c.AllConnectors(context.Background(), "", "") {
		if e != nil {
			err = e
			break
		}
		n++
	}
	if !errors.Is(err, ErrEndlessList) || n != MaxPageSize || len(f.requests()) != 2 {
		t.Errorf("%d connectors, %d requests, err %v; want %d, 2 and ErrEndlessList", n, len(f.requests()), err, MaxPageSize)
	}
}

// FuzzPageAll drives the paging logic with arbitrary page sequences (the
// last one repeated forever): it always ends within maxPages requests, never
// yields a scriptName twice, yields only what pages held, and yields nothing
// after an error.
func FuzzPageAll(f *testing.F) {
	f.Add([]byte{2, 255, 2, 'a', 'b', 1, 'c'})
	f.Add([]byte{2, 4, 2, 'a', 'b', 2, 'c', 'd', 0})
	f.Add([]byte{3, 255, 3, 'a', 'b', 'c'})
	f.Add([]byte{2, 1, 2, 'a', 'b', 2, 'b', 'c', 2, 'c', 'd'})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		size := int(data[0]%8) + 1
		total := -1
		if data[1] != 255 {
			total = int(data[1])
		}
		var seq []Page
		held := map[string]bool{}
		for i := 2; i < len(data); {
			n := min(int(data[i])%(size+1), len(data)-i-1)
			i++
			var its []V3ConnectorDto
			for _, b := range data[i : i+n] {
				sn := ""
				if b != 0 {
					sn = "c" + strconv.Itoa(int(b))
				}
				its = append(its, V3ConnectorDto{Name: sn, ScriptName: sn})
				held[sn] = true
			}
			i += n
			seq = append(seq, Page{Items: its, Total: total})
		}
		if len(seq) == 0 {
			return
		}
		const maxPages = 20
		p := &pages{seq: seq}
		seen := map[string]bool{}
		failed := false
		pageAll(context.Background(), p.fetch, size, maxPages, nil, func(c V3ConnectorDto, err error) bool {
			if failed {
				t.Fatalf("yielded %+v, %v after an error", c, err)
			}
			if err != nil {
				failed = true
				return false
			}
			if !held[c.ScriptName] {
				t.Fatalf("yielded %q, which no page held", c.ScriptName)
			}
			if c.ScriptName != "" && seen[c.ScriptName] {
				t.Fatalf("yielded %q twice", c.ScriptName)
			}
			seen[c.ScriptName] = true
			return true
		})
		if p.calls > maxPages {
			t.Fatalf("%d pages asked for, more than %d", p.calls, maxPages)
		}
	})
}

// TestPageAllWarnsOnceAboutALyingCount: a declared total that the pages
// contradict is said once, and every connector is still listed.
func TestPageAllWarnsOnceAboutALyingCount(t *testing.T) {
	p := &pages{seq: []Page{{Items: items("a", "b"), Total: 0}, {Items: items("c", "d"), Total: 0}, {Items: items("e"), Total: 0}}}
	var warnings []string
	var got []string
	pageAll(context.Background(), p.fetch, 2, 10, func(m string) { warnings = append(warnings, m) }, func(c V3ConnectorDto, err error) bool {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c.ScriptName)
		return true
	})
	if strings.Join(got, " ") != "a b c d e" || len(warnings) != 1 || !strings.Contains(warnings[0], "declared 0 connectors") {
		t.Errorf("listed %v, warnings %q", got, warnings)
	}
}
