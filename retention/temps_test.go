package retention

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connvault/connvault/archive"
)

// TestPruneResultListsRemovedTemporaryFiles: Result.Temps names the
// temporary files Prune removed (none in a dry run), for the command to say
// once, and the --json result leaves them out.
func TestPruneResultListsRemovedTemporaryFiles(t *testing.T) {
	dir, _, _ := pruneDir(t)
	stale := filepath.Join(dir, "."+FileName("acme", time.Date(2026, 10, 1, 3, 15, 0, 0, time.UTC))+".987654.spool")
	if err := os.WriteFile(stale, []byte("half an archive"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * archive.StaleAfter)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	res, err := Prune(context.Background(), dir, Policy{Last: 100}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Temps) != 0 || res.TempsErr != nil {
		t.Errorf("a dry run reports temporary files removed: %v, %v", res.Temps, res.TempsErr)
	}
	res, err = Prune(context.Background(), dir, Policy{Last: 100}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Temps, []string{stale}) || res.TempsErr != nil {
		t.Errorf("Temps %v (err %v), want [%s]", res.Temps, res.TempsErr, stale)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "spool") {
		t.Errorf("the JSON result names the temporary file: %s", b)
	}
}
