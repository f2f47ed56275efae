package archive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// manifestProbe is what is read of a manifest before its version is known.
type manifestProbe struct {
	Format        *string
	FormatVersion *int
}

type probeError struct {
	kind error
	msg  string
	err  error
}

// probeManifest reads format and formatVersion, and says precisely what is
// wrong with them: a formatVersion of "1" or 1.5 is not "invalid JSON", it
// is a manifest whose version is not an integer.
func probeManifest(raw []byte) (manifestProbe, *probeError) {
	var fields struct {
		Format        json.RawMessage `json:"format"`
		FormatVersion json.RawMessage `json:"formatVersion"`
	}
	if bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		return manifestProbe{}, &probeError{ErrCorrupt, "manifest.json starts with a UTF-8 byte-order mark (EF BB BF), which JSON does not allow: the archive was altered; use another backup", nil}
	}
	if err := json.Unmarshal(raw, &fields); err != nil {
		return manifestProbe{}, &probeError{ErrCorrupt, fmt.Sprintf("manifest.json is not valid JSON (%v): the archive was damaged; use another backup", err), err}
	}
	var p manifestProbe
	if len(fields.Format) > 0 && !isNull(fields.Format) {
		var f string
		if json.Unmarshal(fields.Format, &f) != nil {
			return p, &probeError{ErrNotArchive, fmt.Sprintf("the manifest's format is %s, not %q: not a connvault archive", shortRaw(fields.Format), FormatName), nil}
		}
		p.Format = &f
	}
	if len(fields.FormatVersion) > 0 && !isNull(fields.FormatVersion) {
		v, err := strconv.Atoi(string(fields.FormatVersion))
		if err != nil {
			return p, &probeError{ErrCorrupt, fmt.Sprintf("the manifest's formatVersion is %s, which is not an integer (versions are whole numbers, %d to %d here): the archive was damaged or altered; use another backup",
				shortRaw(fields.FormatVersion), MinVersion, MaxVersion), nil}
		}
		p.FormatVersion = &v
	}
	return p, nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// shortRaw shows a JSON value in a message, cut to a readable length
// (valid JSON holds no raw control character, so it prints safely).
func shortRaw(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}
