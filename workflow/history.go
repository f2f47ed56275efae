package workflow

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/retention"
	"github.com/connvault/connvault/storage"
	"golang.org/x/sync/errgroup"
)

// HistoryChunk is how much of an archive one read fetches when only its
// manifest (the first entry) is wanted: a 300-connector tenant's manifest
// compresses to a few tens of KiB, so one or two chunks do.
const HistoryChunk = 64 << 10

// HistoryOptions is one `connvault log`: the directory or bucket prefix of
// nightly archives, and what to keep.
type HistoryOptions struct {
	Location string
	// Connector keeps the changes of this scriptName only.
	Connector string
	// Since keeps the archives made at or after it (zero: all).
	Since time.Time
	// Tenant keeps one tenant's archives (by archive name); "" all.
	Tenant string
}

// History is what `connvault log` prints: per tenant, newest first, each
// archive in which something changed since the one before.
type History struct {
	Location string          `json:"location"`
	Tenants  []TenantHistory `json:"tenants"`
	// BytesRead is what reading the manifests fetched, in all; MaxPerArchive
	// the most any one archive cost.
	BytesRead     int64 `json:"bytesRead"`
	MaxPerArchive int64 `json:"maxBytesPerArchive"`
	Archives      int   `json:"archives"`
}

// TenantHistory is one tenant's archives that changed something.
type TenantHistory struct {
	Tenant  string         `json:"tenant"`
	Changes []ArchiveDelta `json:"changes"`
}

// ArchiveDelta is one archive and what changed in it since the tenant's
// archive before it.
type ArchiveDelta struct {
	Archive  string      `json:"archive"`
	Previous string      `json:"previous"`
	Time     time.Time   `json:"time"`
	Items    []DeltaItem `json:"items"`
}

// DeltaItem is one connector or document that changed, appeared or went.
type DeltaItem struct {
	Connector string `json:"connector"`
	// Document is the entry within the connector's folder
	// ("source-config.xml", "translations/de.properties"); "" when the
	// whole connector was added or removed.
	Document string `json:"document,omitempty"`
	Change   string `json:"change"` // "added", "removed", "changed"
}

// ReadHistory reads the manifest of each archive directly in the location,
// only that (the first entry of each archive: a few chunks, range reads on a
// bucket), and compares each tenant's archives night after night by their
// entries' SHA-256.
func ReadHistory(ctx context.Context, o HistoryOptions) (*History, error) {
	loc, err := storage.Open(ctx, o.Location)
	if err != nil {
		return nil, err
	}
	defer loc.Close()
	list, err := retention.ScanLocation(ctx, loc)
	if err != nil {
		return nil, err
	}
	h := &History{Location: o.Location, Tenants: []TenantHistory{}}
	byTenant := map[string][]retention.Archive{}
	for _, a := range list {
		if o.Tenant == "" || a.Tenant == o.Tenant {
			byTenant[a.Tenant] = append(byTenant[a.Tenant], a)
		}
	}
	names := make([]string, 0, len(byTenant))
	for n := range byTenant {
		names = append(names, n)
	}
	slices.Sort(names)
	// The manifests are read concurrently, each worker with a decoder of
	// its own; the comparison then goes night after night.
	type read struct {
		entries map[string]string
		n       int64
		err     error
	}
	all := map[string][]read{}
	workers := max(1, min(runtime.GOMAXPROCS(0), 8))
	scanners := make(chan *archive.ManifestScanner, workers)
	for range workers {
		sc, err := archive.NewManifestScanner()
		if err != nil {
			return nil, err
		}
		defer sc.Close()
		scanners <- sc
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, tenant := range names {
		archives := byTenant[tenant]
		slices.SortFunc(archives, func(a, b retention.Archive) int { return a.Time.Compare(b.Time) })
		reads := make([]read, len(archives))
		all[tenant] = reads
		for i, a := range archives {
			g.Go(func() error {
				sc := <-scanners
				defer func() { scanners <- sc }()
				reads[i].entries, reads[i].n, reads[i].err = manifestEntries(gctx, sc, loc, storage.BaseName(a.Path))
				return gctx.Err()
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, tenant := range names {
		archives := byTenant[tenant]
		th := TenantHistory{Tenant: tenant, Changes: []ArchiveDelta{}}
		var prev map[string]string
		prevName := ""
		for i, a := range archives {
			r := all[tenant][i]
			h.Archives++
			h.BytesRead += r.n
			h.MaxPerArchive = max(h.MaxPerArchive, r.n)
			if r.err != nil {
				return nil, fmt.Errorf("%s: %w", a.Path, r.err)
			}
			if prev != nil && !a.Time.Before(o.Since) {
				if items := compareEntries(prev, r.entries, o.Connector); len(items) > 0 {
					th.Changes = append(th.Changes, ArchiveDelta{Archive: a.Path, Previous: prevName, Time: a.Time, Items: items})
				}
			}
			prev, prevName = r.entries, a.Path
		}
		slices.Reverse(th.Changes) // newest first
		h.Tenants = append(h.Tenants, th)
	}
	return h, nil
}

// manifestEntries reads an archive's manifest alone and returns its
// entries' SHA-256 by path, and the bytes fetched.
func manifestEntries(ctx context.Context, sc *archive.ManifestScanner, loc *storage.Location, name string) (map[string]string, int64, error) {
	r, err := loc.OpenHead(ctx, name, HistoryChunk)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	entries, err := sc.Entries(r, name)
	if err != nil {
		return nil, r.BytesRead, err
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		out[e.Path] = e.SHA256
	}
	return out, r.BytesRead, nil
}

// compareEntries lists what differs between two nights' entries: whole
// connectors added or removed, else each document changed, added or removed.
func compareEntries(before, after map[string]string, only string) []DeltaItem {
	split := func(p string) (string, string) {
		sn, doc, _ := strings.Cut(strings.TrimPrefix(p, "connectors/"), "/")
		return sn, doc
	}
	conns := func(m map[string]string) map[string]bool {
		out := map[string]bool{}
		for p := range m {
			sn, _ := split(p)
			out[sn] = true
		}
		return out
	}
	cb, ca := conns(before), conns(after)
	var items []DeltaItem
	for sn := range ca {
		if !cb[sn] && (only == "" || sn == only) {
			items = append(items, DeltaItem{Connector: sn, Change: "added"})
		}
	}
	for sn := range cb {
		if !ca[sn] && (only == "" || sn == only) {
			items = append(items, DeltaItem{Connector: sn, Change: "removed"})
		}
	}
	for p, sum := range after {
		sn, doc := split(p)
		if !cb[sn] || (only != "" && sn != only) {
			continue
		}
		switch was, ok := before[p]; {
		case !ok:
			items = append(items, DeltaItem{Connector: sn, Document: doc, Change: "added"})
		case was != sum:
			items = append(items, DeltaItem{Connector: sn, Document: doc, Change: "changed"})
		}
	}
	for p := range before {
		sn, doc := split(p)
		if _, ok := after[p]; !ok && ca[sn] && (only == "" || sn == only) {
			items = append(items, DeltaItem{Connector: sn, Document: doc, Change: "removed"})
		}
	}
	slices.SortFunc(items, func(a, b DeltaItem) int {
		if c := strings.Compare(a.Connector, b.Connector); c != 0 {
			return c
		}
		return strings.Compare(a.Document, b.Document)
	})
	return items
}

// DocumentPairs reads the documents d changed from its two archives (or
// directories), each read once: by "<scriptName>/<document>", the text
// before and after ("" where absent).
func DocumentPairs(ctx context.Context, d ArchiveDelta) (map[string][2]string, error) {
	want := map[string][]string{}
	for _, it := range d.Items {
		if it.Document != "" {
			want[it.Connector] = append(want[it.Connector], it.Document)
		}
	}
	out := map[string][2]string{}
	if len(want) == 0 {
		return out, nil
	}
	for i, path := range []string{d.Previous, d.Archive} {
		r, _, done, err := archivestore.Open(ctx, path)
		if err != nil {
			return nil, err
		}
		err = archive.Each(ctx, r, func(c *archive.Connector) error {
			for _, doc := range want[c.ScriptName] {
				pair := out[c.ScriptName+"/"+doc]
				pair[i] = documentOf(c, doc)
				out[c.ScriptName+"/"+doc] = pair
			}
			return nil
		})
		done()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return out, nil
}

func documentOf(c *archive.Connector, doc string) string {
	switch doc {
	case "detail.json":
		return string(c.Detail)
	case "source-config.xml":
		return string(c.SourceConfig)
	case "source-template.xml":
		return string(c.SourceTemplate)
	case "correlation-config.xml":
		return string(c.CorrelationConfig)
	}
	if loc, ok := strings.CutPrefix(doc, "translations/"); ok {
		return string(c.Translations[strings.TrimSuffix(loc, ".properties")])
	}
	return ""
}
