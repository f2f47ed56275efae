package sandbox_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
)

// TestConcurrentClients runs readers and writers at once (meaningful under
// -race): every writer's last document must be what the tenant holds.
func TestConcurrentClients(t *testing.T) {
	srv := spectest.Start(t, sandbox.Options{Synthetic: 8, DocSize: 2048})
	c := newClient(t, srv, "v3")
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sn := fmt.Sprintf("synthetic-connector-%05d", w+1)
			for i := 0; i < 10; i++ {
				doc := []byte(fmt.Sprintf("<Form n=\"%d\"/>", i))
				if _, err := c.PutDocument(ctx, sn, apiclient.SourceConfig, doc); err != nil {
					errs <- err
					return
				}
				if _, err := c.PatchConnector(ctx, sn, []apiclient.JsonPatchOperation{{Op: "add", Path: "/connectorMetadata/i", Value: i}}); err != nil {
					errs <- err
					return
				}
				if _, _, err := c.GetConnector(ctx, "okta", ""); err != nil {
					errs <- err
					return
				}
				if _, err := c.ListConnectors(ctx, apiclient.ListQuery{Filters: `name sw "synthetic"`, Limit: 5}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w := 0; w < 8; w++ {
		got, _ := srv.Tenant.Connector(fmt.Sprintf("synthetic-connector-%05d", w+1))
		if !bytes.Equal(got.SourceConfig, []byte(`<Form n="9"/>`)) || fmt.Sprint(got.Metadata["i"]) != "9" {
			t.Errorf("connector %d ends with %q, metadata %v", w+1, got.SourceConfig, got.Metadata["i"])
		}
	}
	if st := srv.Tenant.Stats(); st.Writes != 160 {
		t.Errorf("Stats.Writes = %d, want 160", st.Writes)
	}
}

// BenchmarkSyntheticDetail measures serving the detail of a synthetic
// connector with 100 KB documents (derived on every request).
func BenchmarkSyntheticDetail(b *testing.B) {
	srv, err := sandbox.Start(context.Background(), "", sandbox.Options{Empty: true, Synthetic: 100, DocSize: 100 << 10})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	c, err := apiclient.New(apiclient.Config{BaseURL: srv.URL, ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, Rate: -1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, raw, err := c.GetConnector(ctx, fmt.Sprintf("synthetic-connector-%05d", i%100+1), ""); err != nil || len(raw) < 300<<10 {
			b.Fatalf("detail: %v (%d bytes)", err, len(raw))
		}
	}
}
