package archive

import "encoding/hex"

// Digest is the content digest the archive will have, known before Close, so
// a nightly run can leave out an archive identical to the last one
// (export --if-changed) without ever writing it.
func (w *Writer) Digest() string {
	entries := make([]Entry, len(w.files))
	for i, f := range w.files {
		entries[i] = Entry{Path: f.path, Size: f.size, SHA256: hex.EncodeToString(f.sum[:])}
	}
	return ContentDigest(entries)
}
