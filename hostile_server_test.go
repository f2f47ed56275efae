package main

// Hostile servers of issue 18 through the command line: each test asserts the
// safe outcome an operator sees (exit code, the error line, what is or is not
// on disk or in the tenant).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// TestExportRefusesDetailOfAnotherConnector (defect 4): GET
// /connectors/VICTIM answered with another connector's detail ends the export
// with the mismatch named and no archive; with --keep-going the victim is
// recorded as failed and every other connector is saved.
func TestExportRefusesDetailOfAnotherConnector(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	rel := released(srv.Tenant)
	victim, other := rel[1], rel[2]
	d, _ := srv.Tenant.Detail(other)
	body, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	hookDetail(srv.Tenant, victim, http.StatusOK, string(body))
	dir := t.TempDir()
	out := filepath.Join(dir, "x.tar.zst")

	code, _, stderr := runCLI(t, context.Background(), append([]string{"export", "-o", out}, tenantArgs(srv)...)...)
	checkFailure(t, code, stderr, exitError, `get connector "`+victim+`"`, `"`+other+`"`, "another connector")
	if left := leftovers(t, dir); len(left) != 0 {
		t.Errorf("a failed export left %v", left)
	}

	code, _, stderr = runCLI(t, context.Background(), append([]string{"export", "-o", out, "--keep-going"}, tenantArgs(srv)...)...)
	if code != exitPartial {
		t.Fatalf("--keep-going: exit %d, want 3; stderr:\n%s", code, stderr)
	}
	snap, err := archive.ReadFile(out, archive.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Connectors) != len(rel)-1 {
		t.Errorf("%d connectors archived, want %d", len(snap.Connectors), len(rel)-1)
	}
	for _, c := range snap.Connectors {
		if c.ScriptName == victim {
			t.Errorf("%s was archived with %s's detail", victim, other)
		}
		if c.ScriptName == other && !strings.Contains(string(c.Detail), `"scriptName":"`+other+`"`) {
			t.Errorf("%s's own detail is wrong", other)
		}
	}
	if !snap.Manifest.Partial || len(snap.Manifest.Skipped) != 1 || snap.Manifest.Skipped[0].ScriptName != victim {
		t.Errorf("manifest: partial %v, skipped %+v; want %s failed", snap.Manifest.Partial, snap.Manifest.Skipped, victim)
	}
	_ = os.Remove(out)
}

// holder creates a connector in tn directly, with a document, and returns
// its scriptName and a way to check it is untouched.
func holder(t *testing.T, tn *sandbox.Tenant, name string) (string, func() bool) {
	t.Helper()
	dto, err := tn.CreateDirect(apiclient.V3CreateConnectorDto{Name: name, ClassName: "sailpoint.connector.OpenConnectorAdapter"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.PutDocumentDirect(dto.ScriptName, apiclient.SourceConfig, []byte("<holder/>")); err != nil {
		t.Fatal(err)
	}
	before, _ := tn.Connector(dto.ScriptName)
	return dto.ScriptName, func() bool {
		after, _ := tn.Connector(dto.ScriptName)
		return reflect.DeepEqual(before, after)
	}
}

// TestRestoreCreateAnsweredWithAnotherConnector (defect 1): every create
// answered 200 with an existing connector, or 302 to its URL: each restored
// connector fails at its create, the existing connector is not written, and
// the run does not report success.
func TestRestoreCreateAnsweredWithAnotherConnector(t *testing.T) {
	clearSailEnv(t)
	a := spectest.Start(t, sandbox.Options{})
	path := exportCustom(t, a)
	for _, how := range []string{"200 with another connector", "302 to another connector", "200 with a second create's scriptName"} {
		t.Run(how, func(t *testing.T) {
			b := startSandbox(t, sandbox.Options{Empty: true})
			bravo, untouched := holder(t, b.Tenant, "Bravo Existing")
			var mu sync.Mutex
			first := ""
			b.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/connectors") {
					return false
				}
				var in apiclient.V3CreateConnectorDto
				body, _ := readBody(r)
				_ = json.Unmarshal(body, &in)
				switch how {
				case "302 to another connector":
					http.Redirect(w, r, strings.TrimSuffix(r.URL.Path, "/connectors")+"/connectors/"+bravo, http.StatusFound)
				case "200 with another connector":
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write([]byte(`{"name":"Bravo Existing","scriptName":"` + bravo + `","type":"custom Bravo Existing","status":"RELEASED"}`))
				default:
					// The name asked for, and the scriptName the first
					// create of the run was given.
					mu.Lock()
					if first == "" {
						mu.Unlock()
						return false
					}
					sn := first
					mu.Unlock()
					out, _ := json.Marshal(apiclient.V3ConnectorDto{Name: in.Name, ScriptName: sn, Status: "RELEASED"})
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write(out)
				}
				return true
			})
			if how == "200 with a second create's scriptName" {
				// Let the first create through and remember its scriptName.
				b.Tenant.SetHook(wrapFirstCreate(b.Tenant, &mu, &first))
			}
			code, rep, stderr := restore(t, b, path, "--no-backup", "--concurrency", "1")
			if code == 0 {
				t.Fatalf("exit 0: a restore whose creates were answered with another connector reported success\n%s", stderr)
			}
			if !untouched() {
				t.Errorf("%s was written through another connector's create", bravo)
			}
			created := 0
			for _, c := range rep.Connectors {
				if c.Created {
					created++
				}
				if c.Outcome == "failed" && (len(c.Failures) != 1 || c.Failures[0].Item != "create") {
					t.Errorf("%s: failures %+v, want the create alone", c.Name, c.Failures)
				}
			}
			if how == "200 with a second create's scriptName" {
				if created != 1 || rep.Summary.Failed != len(rep.Connectors)-1 {
					t.Errorf("summary %+v (%d created); want the first create alone to go through", rep.Summary, created)
				}
				// The first connector holds its own content only.
				snap := tenantAsSnapshot(t, b.Tenant)
				if len(snap.Connectors) != 2 {
					t.Errorf("the tenant holds %d connectors, want the holder and the first created", len(snap.Connectors))
				}
			} else if created != 0 || rep.Summary.Failed != len(rep.Connectors) {
				t.Errorf("summary %+v; want every connector failed at its create", rep.Summary)
			}
		})
	}
}

// wrapFirstCreate lets the tenant carry out the first create and records
// the scriptName it gave; later creates are answered with that scriptName
// (and the name asked for) without reaching the tenant.
func wrapFirstCreate(tn *sandbox.Tenant, mu *sync.Mutex, first *string) func(http.ResponseWriter, *http.Request) bool {
	var inner bypass
	return func(w http.ResponseWriter, r *http.Request) bool {
		if inner.on.Load() || r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/connectors") {
			return false
		}
		body, _ := readBody(r)
		var in apiclient.V3CreateConnectorDto
		_ = json.Unmarshal(body, &in)
		mu.Lock()
		sn := *first
		mu.Unlock()
		if sn == "" {
			inner.on.Store(true)
			rec := httptest.NewRecorder()
			tn.ServeHTTP(rec, r)
			inner.on.Store(false)
			var out apiclient.V3ConnectorDto
			_ = json.Unmarshal(rec.Body.Bytes(), &out)
			mu.Lock()
			*first = out.ScriptName
			mu.Unlock()
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return true
		}
		out, _ := json.Marshal(apiclient.V3ConnectorDto{Name: in.Name, ScriptName: sn, Status: "RELEASED"})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
		return true
	}
}

// TestRestoreWriteAnsweredWithRedirect (defect 2): every PUT answered 303
// to the connector's detail (which Go would fetch, 200) is a failed write:
// the run reports no document as written and exits non-zero.
func TestRestoreWriteAnsweredWithRedirect(t *testing.T) {
	clearSailEnv(t)
	a := spectest.Start(t, sandbox.Options{})
	path := exportCustom(t, a)
	b := startSandbox(t, sandbox.Options{Empty: true})
	b.Tenant.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPut {
			return false
		}
		detail := r.URL.Path[:strings.LastIndex(r.URL.Path, "/connectors/")+len("/connectors/")] +
			strings.SplitN(r.URL.Path[strings.LastIndex(r.URL.Path, "/connectors/")+len("/connectors/"):], "/", 2)[0]
		http.Redirect(w, r, detail, http.StatusSeeOther)
		return true
	})
	code, rep, stderr := restore(t, b, path, "--no-backup")
	if code == 0 {
		t.Fatalf("exit 0 although no PUT was answered by the write itself\n%s", stderr)
	}
	for _, c := range rep.Connectors {
		for _, w := range c.Written {
			if !strings.HasPrefix(w, "connectorMetadata") && !strings.HasPrefix(w, "applicationXml") {
				t.Errorf("%s: %s reported written, but its PUT was answered with a redirect", c.Name, w)
			}
		}
	}
	if !strings.Contains(stderr, "HTTP 303") || !strings.Contains(stderr, "not followed") {
		t.Errorf("stderr does not say the write was redirected and not followed:\n%s", stderr)
	}
	for _, sn := range b.Tenant.ScriptNames() {
		if c, _ := b.Tenant.Connector(sn); c.SourceConfig != nil || len(c.Translations) > 0 {
			t.Errorf("%s holds documents although every PUT was redirected", sn)
		}
	}
}

// TestRestoreLostCreateOfHiddenConnector (defect 3): the create of a
// DEVELOPMENT connector (which the list never shows) under a mapped name
// (so the archive's scriptName does not find it either) loses its answer;
// the retry finds it by probing the likely scriptName, and it is created
// once.
func TestRestoreLostCreateOfHiddenConnector(t *testing.T) {
	clearSailEnv(t)
	a := spectest.Start(t, sandbox.Options{})
	path := exportCustom(t, a)
	const from, to = "Legacy Mainframe RACF Bridge", "Mainframe Bridge (restored)"
	b := startSandbox(t, sandbox.Options{Empty: true})
	b.Tenant.SetHook(loseCreateAnswers(b.Tenant, to))
	code, rep, stderr := restore(t, b, path, "--no-backup", "--only", from, "--map", from+"="+to)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if n := b.Tenant.Stats().Creates[to]; n != 1 {
		t.Errorf("%d create requests reached the tenant, want 1", n)
	}
	if n := len(b.Tenant.ScriptNames()); n != 1 {
		t.Errorf("the tenant holds %d connectors, want 1", n)
	}
	if rep.Summary.Created != 1 {
		t.Errorf("summary %+v, want 1 created", rep.Summary)
	}
	sn := b.Tenant.ScriptNames()[0]
	if c, _ := b.Tenant.Connector(sn); c.Status != apiclient.StatusDevelopment || c.SourceConfig == nil {
		t.Errorf("%s: status %s, source-config %d bytes; want the DEVELOPMENT connector restored", sn, c.Status, len(c.SourceConfig))
	}
}

// samePageForever answers every list request with the same full page.
func samePageForever(tn *sandbox.Tenant, lists *atomic.Int32) {
	var page []apiclient.V3ConnectorDto
	for i := range apiclient.MaxPageSize {
		page = append(page, apiclient.V3ConnectorDto{Name: fmt.Sprintf("Ghost %d", i), ScriptName: fmt.Sprintf("ghost-%d", i), Type: "custom Ghost", Status: "RELEASED"})
	}
	body, _ := json.Marshal(page)
	tn.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if !isList(r) {
			return false
		}
		lists.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Total-Count", "1000000")
		_, _ = w.Write(body)
		return true
	})
}

// TestEndlessPagingStops (defect 5): a server answering every page with the
// same 250 connectors makes export and restore stop after the second page
// with the reason named, leaving no archive, no snapshot and no write.
func TestEndlessPagingStops(t *testing.T) {
	clearSailEnv(t)
	a := spectest.Start(t, sandbox.Options{})
	path := exportCustom(t, a)

	srv := startSandbox(t, sandbox.Options{})
	var lists atomic.Int32
	samePageForever(srv.Tenant, &lists)
	dir := t.TempDir()
	code, _, stderr := runCLI(t, context.Background(), append([]string{"export", "-d", dir}, tenantArgs(srv)...)...)
	checkFailure(t, code, stderr, exitError, "list connectors", "repeats 250 of its 250 connectors")
	if n := lists.Load(); n != 2 {
		t.Errorf("export asked for %d pages, want 2", n)
	}
	if left := leftovers(t, dir); len(left) != 0 {
		t.Errorf("export left %v", left)
	}

	lists.Store(0)
	backups := t.TempDir()
	before := srv.Tenant.Stats()
	code, _, stderr = runCLI(t, context.Background(), append(append([]string{"restore", "--yes", "--backup-dir", backups}, tenantArgs(srv)...), path)...)
	checkFailure(t, code, stderr, exitError, "list connectors", "repeats")
	if n := lists.Load(); n != 2 {
		t.Errorf("restore asked for %d pages, want 2", n)
	}
	if left := leftovers(t, backups); len(left) != 0 {
		t.Errorf("restore left %v in the backup directory", left)
	}
	after := srv.Tenant.Stats()
	if len(after.Creates) != len(before.Creates) {
		t.Errorf("restore created connectors: %v", after.Creates)
	}
}
