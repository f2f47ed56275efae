package archive

import (
	"slices"

	"github.com/connvault/connvault/domain"
)

// SetSource records where the snapshot came from, for what is known only
// once the export has run (the API layout --api-version auto chose). Call
// it before Close.
func (w *Writer) SetSource(s Source) { w.meta.Source = s }

// SetFetch records how the documents were read (domain.FetchFull or
// domain.FetchFromDetail) and every document read otherwise. Call it before
// Close.
func (w *Writer) SetFetch(mode string, sources []domain.DocumentSource) {
	w.meta.Fetch = mode
	w.meta.DocumentSources = append(w.meta.DocumentSources, sources...)
	slices.SortStableFunc(w.meta.DocumentSources, func(a, b domain.DocumentSource) int {
		if a.ScriptName != b.ScriptName {
			if a.ScriptName < b.ScriptName {
				return -1
			}
			return 1
		}
		if a.Document < b.Document {
			return -1
		}
		if a.Document > b.Document {
			return 1
		}
		return 0
	})
}
