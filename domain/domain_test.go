package domain

import (
	"bytes"
	"testing"
)

func TestDocumentAccessors(t *testing.T) {
	var c Connector
	for i, d := range Documents {
		if !d.Valid() {
			t.Fatalf("%s not valid", d)
		}
		if !c.SetDocument(d, []byte{byte('a' + i)}) {
			t.Fatalf("SetDocument(%s) refused", d)
		}
	}
	if !bytes.Equal(c.SourceTemplate, []byte("a")) || !bytes.Equal(c.SourceConfig, []byte("b")) || !bytes.Equal(c.CorrelationConfig, []byte("c")) {
		t.Fatalf("fields after SetDocument: %q %q %q", c.SourceConfig, c.SourceTemplate, c.CorrelationConfig)
	}
	for i, d := range Documents {
		if got := c.Document(d); !bytes.Equal(got, []byte{byte('a' + i)}) {
			t.Errorf("Document(%s) = %q", d, got)
		}
	}
	bogus := Document("applicationXml")
	if bogus.Valid() || c.Document(bogus) != nil || c.SetDocument(bogus, []byte("x")) {
		t.Errorf("%q treated as a document kind", bogus)
	}
}

func TestIsCustomType(t *testing.T) {
	for typ, want := range map[string]bool{
		"custom Acme":            true,
		"custom_exampleName":     true,
		"customAcme":             false,
		"Custom Acme":            false,
		"Active Directory":       false,
		"":                       false,
		"openconnector custom x": false,
	} {
		if got := IsCustomType(typ); got != want {
			t.Errorf("IsCustomType(%q) = %v, want %v", typ, got, want)
		}
	}
}

func TestStatusesAndLocales(t *testing.T) {
	if CreatableStatus(StatusDeprecated) || CreatableStatus("") || !CreatableStatus(StatusReleased) || !CreatableStatus(StatusDemo) {
		t.Error("CreatableStatus disagrees with the API: DEPRECATED and empty cannot be set, RELEASED and DEMO can")
	}
	if len(Locales) != 19 || !ValidLocale("zh-TW") || ValidLocale("zh-tw") || ValidLocale("") {
		t.Errorf("locales: %d, zh-TW valid %v", len(Locales), ValidLocale("zh-TW"))
	}
}
