package command

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
	"github.com/connvault/connvault/storage"
	"github.com/connvault/connvault/tools/s3test"
	"github.com/connvault/connvault/workflow"
)

// nightlyArchives exports a sandbox tenant into dir once a night for five
// nights, changing it between some of them, and returns the tenant's
// scriptNames touched and each night's time.
func nightlyArchives(t *testing.T, dir string) (changed, added, removed string, nights []time.Time) {
	t.Helper()
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{Synthetic: 120, DocSize: 4 << 10, Locales: 2})
	t.Cleanup(func() { utcNow = func() time.Time { return time.Now().UTC() } })
	rel := released(srv.Tenant)
	changed, removed = rel[0], rel[1]
	night := func(i int, change func()) {
		if change != nil {
			change()
		}
		at := time.Date(2026, 11, 20+i, 3, 15, 0, 0, time.UTC)
		nights = append(nights, at)
		utcNow = func() time.Time { return at }
		if code, _, stderr := runCLI(t, t.Context(), append([]string{"export", "-d", dir}, tenantArgs(srv)...)...); code != 0 {
			t.Fatalf("night %d: exit %d\n%s", i, code, stderr)
		}
	}
	night(0, nil)
	night(1, func() {
		if err := srv.Tenant.PutDocumentDirect(changed, apiclient.SourceConfig, []byte("<source-config><night-2/></source-config>\n")); err != nil {
			t.Fatal(err)
		}
	})
	night(2, nil)
	night(3, func() {
		made, err := srv.Tenant.CreateDirect(apiclient.V3CreateConnectorDto{Name: "New Night Four", ClassName: "sailpoint.connector.OpenConnectorAdapter"})
		if err != nil {
			t.Fatal(err)
		}
		added = made.ScriptName
		if err := srv.Tenant.SetStatusDirect(added, apiclient.StatusReleased); err != nil {
			t.Fatal(err)
		}
	})
	night(4, func() {
		if err := srv.Tenant.DeleteDirect(removed); err != nil {
			t.Fatal(err)
		}
	})
	return changed, added, removed, nights
}

func checkHistory(t *testing.T, h *workflow.History, changed, added, removed string, nights []time.Time) {
	t.Helper()
	if len(h.Tenants) != 1 {
		t.Fatalf("tenants %+v", h.Tenants)
	}
	got := h.Tenants[0].Changes
	if len(got) != 3 || !got[0].Time.Equal(nights[4]) || !got[1].Time.Equal(nights[3]) || !got[2].Time.Equal(nights[1]) {
		var times []time.Time
		for _, d := range got {
			times = append(times, d.Time)
		}
		t.Fatalf("changes at %v, want nights 5, 4 and 2, newest first", times)
	}
	want := [][]workflow.DeltaItem{
		{{Connector: removed, Change: "removed"}},
		{{Connector: added, Change: "added"}},
		{{Connector: changed, Document: "source-config.xml", Change: "changed"}, {Connector: changed, Document: "detail.json", Change: "changed"}},
	}
	for i, w := range want {
		items := got[i].Items
		for _, it := range w {
			if !slices.Contains(items, it) {
				t.Errorf("night %s: %+v lacks %+v", got[i].Time.Format(time.DateOnly), items, it)
			}
		}
		for _, it := range items {
			if it.Connector != w[0].Connector {
				t.Errorf("night %s names %+v, which did not change", got[i].Time.Format(time.DateOnly), it)
			}
		}
	}
	// Only the manifests are read: at most two chunks an archive, far less
	// than an archive.
	if h.Archives != 5 || h.MaxPerArchive > 2*workflow.HistoryChunk {
		t.Errorf("%d archives, at most %d bytes read from one (bound %d)", h.Archives, h.MaxPerArchive, 2*workflow.HistoryChunk)
	}
}

// TestLogNamesTheNightsAndDocumentsThatChanged: five nightly archives of a
// tenant changed on nights 2, 4 and 5: log names exactly those nights and
// what changed, reading only the manifests; --connector keeps one; --patch
// shows the document's diff.
func TestLogNamesTheNightsAndDocumentsThatChanged(t *testing.T) {
	dir := t.TempDir()
	changed, added, removed, nights := nightlyArchives(t, dir)
	code, stdout, stderr := runCLI(t, t.Context(), "log", dir, "--json")
	if code != 0 {
		t.Fatalf("log: exit %d\n%s", code, stderr)
	}
	var h workflow.History
	if err := json.Unmarshal([]byte(stdout), &h); err != nil {
		t.Fatalf("log --json: %v\n%s", err, stdout)
	}
	checkHistory(t, &h, changed, added, removed, nights)
	var smallest int64 = 1 << 62
	files, _ := filepath.Glob(filepath.Join(dir, "*.tar.zst"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			smallest = min(smallest, fi.Size())
		}
	}
	if h.MaxPerArchive*4 > smallest {
		t.Errorf("read %d bytes of an archive of %d: not only the manifest", h.MaxPerArchive, smallest)
	}

	code, stdout, _ = runCLI(t, t.Context(), "log", dir, "--connector", changed, "--patch")
	if code != 0 || strings.Contains(stdout, added) || !strings.Contains(stdout, "+<source-config><night-2/></source-config>") {
		t.Errorf("log --connector %s --patch: exit %d\n%s", changed, code, stdout)
	}
	code, stdout, _ = runCLI(t, t.Context(), "log", dir, "--since", nights[3].Format(time.DateOnly))
	if code != 0 || strings.Contains(stdout, changed) || !strings.Contains(stdout, removed) {
		t.Errorf("log --since: exit %d\n%s", code, stdout)
	}
}

// TestLogOverABucket: the same history over a bucket prefix, with range
// reads of the manifests only.
func TestLogOverABucket(t *testing.T) {
	s3 := s3test.Start(t)
	dir := t.TempDir()
	changed, added, removed, nights := nightlyArchives(t, dir)
	bucketURL := s3.URL(t, "bkt", "nightly/acme")
	loc, err := storage.Open(t.Context(), bucketURL)
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*.tar.zst"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		w, err := loc.Create(t.Context(), filepath.Base(f), storage.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runCLI(t, t.Context(), "log", bucketURL, "--json")
	if code != 0 {
		t.Fatalf("log over a bucket: exit %d\n%s", code, stderr)
	}
	var h workflow.History
	if err := json.Unmarshal([]byte(stdout), &h); err != nil {
		t.Fatal(err)
	}
	checkHistory(t, &h, changed, added, removed, nights)
}
