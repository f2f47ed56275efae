package archive

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// ManifestScanner reads the manifests of many archives, and only them: the
// first entry of each, with one zstd decoder reused from archive to archive.
// It is what `connvault log` reads a year of nightly archives with. It
// checks the format and version and the entries' shape, not the archive's
// other entries (Verify does that).
type ManifestScanner struct {
	zr *zstd.Decoder
}

// NewManifestScanner makes a scanner; Close it when done.
func NewManifestScanner() (*ManifestScanner, error) {
	zr, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(DefaultMaxWindow))
	if err != nil {
		return nil, err
	}
	return &ManifestScanner{zr: zr}, nil
}

// Close releases the decoder.
func (s *ManifestScanner) Close() { s.zr.Close() }

// Entries reads the manifest at the start of the archive r (name labels
// errors) and returns its entries.
func (s *ManifestScanner) Entries(r io.Reader, name string) ([]Entry, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	magic, err := br.Peek(len(zstdMagic))
	if err != nil || string(magic) != zstdMagic {
		return nil, newErr(name, "", ErrNotArchive, "not a zstd-compressed file; a connvault archive is a .tar.zst file written by connvault export", nil)
	}
	if err := s.zr.Reset(br); err != nil {
		return nil, newErr(name, "", ErrCorrupt, fmt.Sprintf("cannot read the compressed data: %v", err), err)
	}
	tr := tar.NewReader(s.zr)
	hdr, err := tr.Next()
	if err != nil {
		return nil, newErr(name, "", ErrCorrupt, fmt.Sprintf("cannot read the first tar entry: %v", err), err)
	}
	if hdr.Name != manifestName {
		return nil, newErr(name, hdr.Name, ErrNotArchive, "the first entry is not manifest.json: not a connvault archive", nil)
	}
	if hdr.Size > DefaultMaxManifestSize {
		return nil, newErr(name, manifestName, ErrLimit, fmt.Sprintf("manifest.json is %d bytes, more than %d", hdr.Size, DefaultMaxManifestSize), nil)
	}
	raw, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, newErr(name, manifestName, ErrTruncated, "the archive ends inside manifest.json", err)
		}
		return nil, newErr(name, manifestName, ErrCorrupt, fmt.Sprintf("cannot read manifest.json: %v", err), err)
	}
	var m struct {
		Format        string  `json:"format"`
		FormatVersion int     `json:"formatVersion"`
		Entries       []Entry `json:"entries"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, newErr(name, manifestName, ErrCorrupt, fmt.Sprintf("manifest.json is not valid JSON (%v)", err), err)
	}
	switch {
	case m.Format != FormatName:
		return nil, newErr(name, manifestName, ErrNotArchive, fmt.Sprintf("the manifest's format is %q, not %q", m.Format, FormatName), nil)
	case m.FormatVersion < MinVersion || m.FormatVersion > MaxVersion:
		return nil, newErr(name, manifestName, ErrUnsupportedVersion, fmt.Sprintf("format version %d; this connvault reads versions %d to %d", m.FormatVersion, MinVersion, MaxVersion), nil)
	}
	for _, e := range m.Entries {
		if _, ok := parseEntryPath(e.Path); !ok || !isHexSHA256(e.SHA256) {
			return nil, newErr(name, manifestName, ErrCorrupt, fmt.Sprintf("the manifest lists %q, which is not an entry of the layout", e.Path), nil)
		}
	}
	return m.Entries, nil
}
