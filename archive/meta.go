package archive

import (
	"cmp"
	"slices"

	"github.com/connvault/connvault/domain"
)

// snapshotMeta is what a Writer or a DirWriter records about its snapshot:
// the Meta it was created with, completed by the Set methods while the
// export runs. Both writers embed it, so an archive and a directory record
// the same things in the same order.
type snapshotMeta struct {
	meta Meta
}

func newSnapshotMeta(m Meta) snapshotMeta {
	m.Skipped = slices.Clone(m.Skipped) // appended to: not the caller's
	return snapshotMeta{meta: m}
}

// SetPartial marks the snapshot partial (some connectors failed and the
// export went on) and records them; a DirWriter keeps their folders as they
// were. Call it before Close.
func (s *snapshotMeta) SetPartial(skipped []Skipped) {
	s.meta.Partial = true
	s.meta.Skipped = append(s.meta.Skipped, skipped...)
}

// SetSkipped records connectors that were meant to be saved but were not
// without making the snapshot partial (for example deleted between list and
// fetch). Call it before Close.
func (s *snapshotMeta) SetSkipped(skipped []Skipped) {
	s.meta.Skipped = append(s.meta.Skipped, skipped...)
}

// SetSource records where the snapshot came from, for what is known only
// once the export has run (the API layout --api-version auto chose). Call
// it before Close.
func (s *snapshotMeta) SetSource(src Source) { s.meta.Source = src }

// SetFetch records how the documents were read (domain.FetchFull or
// domain.FetchFromDetail) and every document read otherwise. Call it before
// Close.
func (s *snapshotMeta) SetFetch(mode string, sources []domain.DocumentSource) {
	s.meta.Fetch = mode
	s.meta.DocumentSources = append(s.meta.DocumentSources, sources...)
	slices.SortStableFunc(s.meta.DocumentSources, func(a, b domain.DocumentSource) int {
		return cmp.Or(cmp.Compare(a.ScriptName, b.ScriptName), cmp.Compare(a.Document, b.Document))
	})
}

// manifestMeta is the Meta as the manifest records it: createdAt in UTC
// without a monotonic reading, the skipped connectors sorted (nil when
// there are none), so equal snapshots give equal manifests.
func (s *snapshotMeta) manifestMeta() Meta {
	meta := s.meta
	if !meta.CreatedAt.IsZero() {
		meta.CreatedAt = meta.CreatedAt.UTC().Round(0)
	}
	slices.SortStableFunc(meta.Skipped, func(a, b Skipped) int {
		return cmp.Or(cmp.Compare(a.ScriptName, b.ScriptName), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Reason, b.Reason))
	})
	if len(meta.Skipped) == 0 {
		meta.Skipped = nil
	}
	return meta
}
