package command

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/connvault/connvault/tools/s3test"
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

// TestPromoteKeepsArchivesInABucket: --archive-dir takes a bucket URL like
// export's --output-dir: the source export, the target's pre-promotion
// backup and the snapshot after it all go there, and each verifies.
func TestPromoteKeepsArchivesInABucket(t *testing.T) {
	e, a, b := promotePair(t)
	s3 := s3test.Start(t)
	dirURL := s3.URL(t, "bkt", "promote")
	code, stdout, stderr := e.run(append(promoteArgs(a, dirURL, "--yes"), "--json")...)
	if code != 0 {
		t.Fatalf("promote --archive-dir URL: exit %d\n%s", code, stderr)
	}
	var res promotionJSON
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("promote --json: %v\n%s", err, stdout)
	}
	if !res.Verified || res.Report == nil || res.Report.Created == 0 {
		t.Fatalf("result %+v", res)
	}
	for _, p := range []string{res.SourceArchive, res.Backup, res.After} {
		if !strings.HasPrefix(p, "s3://bkt/promote/") {
			t.Errorf("archive %q is not under the bucket prefix", p)
			continue
		}
		if code, out, errOut := e.run("verify", p); code != 0 {
			t.Errorf("verify %s: exit %d\n%s%s", p, code, out, errOut)
		}
	}
	if got := len(objectNames(t, dirURL)); got != 3 {
		t.Errorf("%d objects under the prefix, want 3", got)
	}
	if d := b.Tenant.Stats().TotalRequests(); d == 0 {
		t.Error("the target saw no requests")
	}
}
