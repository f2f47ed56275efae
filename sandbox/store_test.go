package sandbox

import (
	"bytes"
	"testing"
)

func TestSynthCacheKeepsWithinBudgetAndAnswersTheSame(t *testing.T) {
	s := newStore("org", "pod", synthConfig{size: 4000, locales: 2, seed: 1})
	s.addSynthetic(5)
	one := len(s.synth.doc(1, docSourceConfig, s.synth.name(1), s.order[0].scriptName))
	s.synthDocs.budget = 2*one + one/2 // room for two documents of that size
	for round := range 2 {
		for _, r := range s.order {
			for _, k := range []docKind{docSourceConfig, docApplication, docCorrelation} {
				got := s.doc(r, k)
				want := s.synth.doc(r.synth, k, r.name, r.scriptName)
				if !bytes.Equal(got, want) {
					t.Fatalf("round %d, %s %s: cached document differs from the derived one", round, r.scriptName, docNames[k])
				}
			}
		}
	}
	if s.synthDocs.bytes > s.synthDocs.budget || len(s.synthDocs.m) == 0 {
		t.Errorf("cache holds %d bytes in %d documents; budget %d", s.synthDocs.bytes, len(s.synthDocs.m), s.synthDocs.budget)
	}
	// A renamed connector's documents carry the new name, not the cached old one.
	r := *s.order[0]
	r.name = "Renamed"
	if bytes.Equal(s.doc(&r, docSourceConfig), s.doc(s.order[0], docSourceConfig)) {
		t.Error("a renamed connector got the document cached under its old name")
	}
}
