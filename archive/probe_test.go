package archive

import (
	"errors"
	"strings"
	"testing"
)

// TestManifestVersionNotAnInteger: a formatVersion that is not an integer is
// named as such, not called invalid JSON.
func TestManifestVersionNotAnInteger(t *testing.T) {
	for _, tc := range []struct {
		raw, kind, want string
	}{
		{`{"format":"connvault-archive","formatVersion":"1"}`, "corrupt", `formatVersion is "1", which is not an integer`},
		{`{"format":"connvault-archive","formatVersion":1.5}`, "corrupt", `formatVersion is 1.5, which is not an integer`},
		{`{"format":"connvault-archive","formatVersion":[1]}`, "corrupt", `formatVersion is [1], which is not an integer`},
		{`{"format":7,"formatVersion":1}`, "not", `format is 7, not "connvault-archive"`},
		{`{"format":"connvault-archive",`, "corrupt", "not valid JSON"},
	} {
		_, perr := probeManifest([]byte(tc.raw))
		if perr == nil || !strings.Contains(perr.msg, tc.want) {
			t.Errorf("%s: %+v, want a message saying %q", tc.raw, perr, tc.want)
			continue
		}
		want := ErrCorrupt
		if tc.kind == "not" {
			want = ErrNotArchive
		}
		if !errors.Is(perr.kind, want) {
			t.Errorf("%s: kind %v, want %v", tc.raw, perr.kind, want)
		}
	}
	p, perr := probeManifest([]byte(`{"format":"connvault-archive","formatVersion":1}`))
	if perr != nil || p.FormatVersion == nil || *p.FormatVersion != 1 || *p.Format != FormatName {
		t.Errorf("a good manifest: %+v, %+v", p, perr)
	}
}
