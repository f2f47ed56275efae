package sandbox

import "testing"

func TestCheckWellFormed(t *testing.T) {
	tests := []struct {
		doc string
		ok  bool
	}{
		{`<a/>`, true},
		{"\xef\xbb\xbf<?xml version=\"1.0\"?><a/>", true},
		{`<?xml version="1.0" encoding="ISO-8859-1"?><a>` + "\xfc" + `</a>`, true},
		{`<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`, true},
		{`<!DOCTYPE Application PUBLIC "sailpoint.dtd" "sailpoint.dtd"><Application/>`, true},
		{`<x:a xmlns:x="urn:x"><![CDATA[<not a tag>]]><!-- c --></x:a>`, true},
		{`<a>&amp;&#252;</a>`, true},
		{"  \n<a/>\n", true},
		{`<a>&e;</a>`, false},
		{`<?xml version="1.0" encoding="UTF-16"?><a/>`, false},
		{`<a><b></a>`, false},
		{`<a/><b/>`, false},
		{`text<a/>`, false},
		{`<a/>text`, false},
		{``, false},
		{`<!-- only a comment -->`, false},
		{`<a x="1" x="2"/>`, false},
		{`<a xmlns:p="urn:p" xmlns:q="urn:p" p:x="1" q:x="2"/>`, false},
	}
	for _, tc := range tests {
		err := checkWellFormed([]byte(tc.doc))
		if (err == nil) != tc.ok {
			t.Errorf("checkWellFormed(%q) = %v, want ok=%v", tc.doc, err, tc.ok)
		}
	}
}

func FuzzCheckWellFormed(f *testing.F) {
	for _, s := range []string{`<a/>`, `<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`, "\xef\xbb\xbf<a/>", `<a><![CDATA[x]]></a>`, `<?xml version="1.0" encoding="latin1"?><a/>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = checkWellFormed(data) // must not panic or hang
		_ = rootAttr(data, "fileUpload")
	})
}
