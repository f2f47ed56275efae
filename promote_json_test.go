package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestPromoteJSON: with --json, stdout holds one JSON document describing
// the promotion and nothing else; the plan goes to stderr.
func TestPromoteJSON(t *testing.T) {
	e, a, _ := promotePair(t)
	dir := t.TempDir()

	code, stdout, stderr := e.run(append(promoteArgs(a, dir, "--yes"), "--json")...)
	if code != 0 {
		t.Fatalf("promote --json: exit %d\n%s", code, stderr)
	}
	var res promotionJSON
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil || dec.More() {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
	}
	if res.Kind != "promotion" || res.From != "a" || res.To != "b" || !res.Verified || res.Differences != 0 ||
		res.Plan == nil || res.Plan.Create == 0 || res.Report == nil || res.Report.Created != res.Plan.Create || res.Writes == 0 {
		t.Errorf("result %+v", res)
	}
	for _, p := range []string{res.SourceArchive, res.Backup, res.After} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("archive %q: %v", p, err)
		}
	}
	if !strings.Contains(stderr, "+ create ") {
		t.Errorf("the plan should be on stderr with --json:\n%s", stderr)
	}

	// A second promotion plans nothing and says so.
	code, stdout, stderr = e.run(append(promoteArgs(a, dir, "--yes"), "--json")...)
	if code != 0 {
		t.Fatalf("second promote: exit %d\n%s", code, stderr)
	}
	res = promotionJSON{}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Writes != 0 || (res.Report != nil && res.Report.Created+res.Report.Updated+res.Report.Failed != 0) || !res.Verified {
		t.Errorf("second promotion: %+v", res)
	}
}

func TestPromoteArchiveDirMustBeLocal(t *testing.T) {
	e, _, b := promotePair(t)
	code, _, stderr := e.run("promote", "--from", "a", "--to", "b", "--archive-dir", "s3://bucket/prefix", "--dry-run")
	if code != exitUsage || !strings.Contains(stderr, "local directory") {
		t.Errorf("exit %d, %s", code, stderr)
	}
	if w := b.Tenant.Stats().TotalRequests(); w != 0 {
		t.Errorf("the refusal reached the target (%d requests)", w)
	}
}
