package export_test

import (
	"context"
	"sync"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/export"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// TestProgressKnowsTheTotalFromTheFirstPage: on a tenant of more than one
// page, every progress report carries the total the list declared on its
// first page, so a bar shows a true percentage from the start.
func TestProgressKnowsTheTotalFromTheFirstPage(t *testing.T) {
	srv := spectest.Start(t, sandbox.Options{Empty: true, Synthetic: 300, DocSize: 256, Locales: 1})
	c, err := apiclient.New(apiclient.Config{BaseURL: srv.URL, APIVersion: "v1", ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []export.Progress
	_, err = export.Run(context.Background(), c, export.Options{Concurrency: 4, Progress: func(p export.Progress) {
		mu.Lock()
		seen = append(seen, p)
		mu.Unlock()
	}}, func(*archive.Connector) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 300 {
		t.Fatalf("%d progress reports, want one per connector", len(seen))
	}
	for i, p := range seen {
		if p.Total != 300 {
			t.Fatalf("report %d: %+v, want the total 300 from the first page on", i, p)
		}
	}
}
