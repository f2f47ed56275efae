package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/filterexpr"
)

// docKind names a stored XML document.
type docKind int

const (
	docSourceConfig docKind = iota
	docSourceTemplate
	docCorrelation
	docApplication // applicationXml: only reachable through the detail and PATCH
	numDocs
)

var docNames = [numDocs]string{"source-config", "source-template", "correlation-config", "applicationXml"}

// record is one connector. Stored byte slices and the metadata map are never
// modified in place (a write replaces them), so a shallow copy taken under the
// lock stays valid after it is released.
type record struct {
	seq                                                int64
	name, typ, className, scriptName, status, category string
	custom, directConnect                              bool
	features, labels                                   []string
	metadata                                           map[string]any
	docs                                               [numDocs][]byte
	// written marks documents whose stored value replaces the synthetic
	// derivation (a nil stored value then means absent).
	written [numDocs]bool
	// trans holds stored translations; for synthetic connectors they override
	// the derived ones.
	trans map[string][]byte
	// synth is the 1-based synthetic index; 0 for connectors stored in full.
	synth int
}

type store struct {
	mu       sync.RWMutex
	org, pod string
	synth    synthConfig
	seq      int64
	order    []*record
	byScript map[string]*record
	byName   map[string]*record // keyed by lower-cased name

	synthDocs synthCache
}

func newStore(org, pod string, sc synthConfig) *store {
	return &store{org: org, pod: pod, synth: sc, byScript: map[string]*record{}, byName: map[string]*record{}, synthDocs: synthCache{budget: synthDocBudget}}
}

// errNotFound and errConflict let handlers pick the status; the wrapped text
// is what the client reads.
var (
	errNotFound = errors.New("not found")
	errBadInput = errors.New("bad input")
)

func (s *store) insertLocked(r *record) {
	s.seq++
	r.seq = s.seq
	s.order = append(s.order, r)
	s.byScript[r.scriptName] = r
	s.byName[strings.ToLower(r.name)] = r
}

// deriveScriptName applies the documented rule (see the package comment).
func deriveScriptName(name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(c)
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "connector"
	}
	return b.String()
}

// uniqueScriptNameLocked appends -2, -3, ... until the name is free.
func (s *store) uniqueScriptNameLocked(base string) string {
	if _, taken := s.byScript[base]; !taken {
		return base
	}
	for i := 2; ; i++ {
		c := base + "-" + strconv.Itoa(i)
		if _, taken := s.byScript[c]; !taken {
			return c
		}
	}
}

// snapshot copies a record so it can be read without the lock.
func (s *store) snapshot(scriptName string) (record, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.byScript[scriptName]
	if !ok {
		return record{}, false
	}
	c := *r
	c.trans = maps.Clone(r.trans)
	return c, true
}

// doc resolves one document of a snapshot: stored, derived or absent (nil).
func (s *store) doc(r *record, k docKind) []byte {
	if r.synth == 0 || r.written[k] {
		return r.docs[k]
	}
	return s.synthDocs.get(synthKey{r.synth, k, r.name, r.scriptName}, func() []byte {
		return s.synth.doc(r.synth, k, r.name, r.scriptName)
	})
}

// synthDocBudget is how many bytes of derived documents the sandbox keeps.
// Deriving them is the sandbox's main work, and it runs on the CPU the
// client being measured needs; a 5,000-connector tenant of 100 KB
// documents (1.5 GB) is still derived on every read past the budget.
const synthDocBudget = 256 << 20

type synthKey struct {
	i                int
	k                docKind
	name, scriptName string
}

// synthCache keeps derived documents up to a byte budget, first come first
// kept: they never change, so nothing is ever evicted.
type synthCache struct {
	mu     sync.Mutex
	m      map[synthKey][]byte
	bytes  int
	budget int
}

func (c *synthCache) get(k synthKey, derive func() []byte) []byte {
	c.mu.Lock()
	b, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return b
	}
	b = derive()
	c.mu.Lock()
	if c.bytes+len(b) <= c.budget {
		if c.m == nil {
			c.m = map[synthKey][]byte{}
		}
		if _, ok := c.m[k]; !ok {
			c.m[k] = b
			c.bytes += len(b)
		}
	}
	c.mu.Unlock()
	return b
}

// translations resolves every locale with a translation.
func (s *store) translations(r *record) map[string][]byte {
	out := map[string][]byte{}
	if r.synth != 0 {
		for _, l := range s.synth.localeSet(r.synth) {
			out[l] = s.synth.translation(r.synth, l, r.name)
		}
	}
	for l, v := range r.trans {
		if v == nil { // tombstone: removed directly
			delete(out, l)
			continue
		}
		out[l] = v
	}
	return out
}

func (s *store) translation(r *record, locale string) ([]byte, bool) {
	if v, ok := r.trans[locale]; ok {
		return v, v != nil
	}
	if r.synth != 0 && slices.Contains(s.synth.localeSet(r.synth), locale) {
		return s.synth.translation(r.synth, locale, r.name), true
	}
	return nil, false
}

// list returns copies of the RELEASED connectors the filter matches, in
// creation order.
func (s *store) list(f *filterexpr.Expr) []record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []record
	for _, r := range s.order {
		if r.status != apiclient.StatusReleased {
			continue
		}
		if !f.Match(filterexpr.Target{Name: r.name, Type: r.typ, Category: r.category, DirectConnect: r.directConnect, Features: r.features, Labels: r.labels}) {
			continue
		}
		out = append(out, *r)
	}
	return out
}

// create adds a custom connector as POST /connectors does.
func (s *store) create(in apiclient.V3CreateConnectorDto) (record, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return record{}, fmt.Errorf("%w: name is required", errBadInput)
	}
	if strings.TrimSpace(in.ClassName) == "" {
		return record{}, fmt.Errorf("%w: className is required (sailpoint.connector.OpenConnectorAdapter for open connectors)", errBadInput)
	}
	status := in.Status
	switch status {
	case "":
		status = apiclient.StatusReleased
	case apiclient.StatusDevelopment, apiclient.StatusDemo, apiclient.StatusReleased:
	default:
		return record{}, fmt.Errorf("%w: status %q is not one of DEVELOPMENT, DEMO, RELEASED", errBadInput, in.Status)
	}
	typ := in.Type
	if typ == "" {
		typ = "custom " + name
	}
	direct := true
	if in.DirectConnect != nil {
		direct = *in.DirectConnect
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, dup := s.byName[strings.ToLower(name)]; dup {
		return record{}, fmt.Errorf("%w: a connector named %q already exists (scriptName %s); names must be unique per tenant", errBadInput, old.name, old.scriptName)
	}
	r := &record{
		name: name, typ: typ, className: in.ClassName, status: status, custom: true, directConnect: direct,
		category: "custom",
	}
	r.scriptName = s.uniqueScriptNameLocked(deriveScriptName(name))
	r.docs[docApplication] = applicationStub(in.ClassName, name, typ)
	s.insertLocked(r)
	return *r, nil
}

// applicationStub is the applicationXml a new connector gets, in the shape of
// the spec's example.
func applicationStub(className, name, typ string) []byte {
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0' encoding='UTF-8'?>\n<!DOCTYPE Application PUBLIC \"sailpoint.dtd\" \"sailpoint.dtd\">\n<Application connector=\"")
	xmlAttrEscape(&b, className)
	b.WriteString("\" name=\"")
	xmlAttrEscape(&b, name)
	b.WriteString("\" type=\"")
	xmlAttrEscape(&b, typ)
	b.WriteString("\"/>\n")
	return b.Bytes()
}

func xmlAttrEscape(b *bytes.Buffer, s string) {
	for _, c := range s {
		switch c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		case '\n':
			b.WriteString("&#10;")
		case '\r':
			b.WriteString("&#13;")
		case '\t':
			b.WriteString("&#9;")
		default:
			b.WriteRune(c)
		}
	}
}

// putDoc stores a document and reports whether it changed. data nil removes it.
func (s *store) putDoc(scriptName string, k docKind, data []byte) (changed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byScript[scriptName]
	if !ok {
		return false, fmt.Errorf("%w: connector %q", errNotFound, scriptName)
	}
	old := s.doc(r, k)
	if (old == nil) == (data == nil) && bytes.Equal(old, data) {
		return false, nil
	}
	r.docs[k] = bytes.Clone(data)
	if data != nil && r.docs[k] == nil {
		r.docs[k] = []byte{}
	}
	r.written[k] = true
	return true, nil
}

// putTranslation stores one locale's text and reports whether it changed.
func (s *store) putTranslation(scriptName, locale string, data []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byScript[scriptName]
	if !ok {
		return false, fmt.Errorf("%w: connector %q", errNotFound, scriptName)
	}
	if old, had := s.translation(r, locale); had && bytes.Equal(old, data) {
		return false, nil
	}
	t := maps.Clone(r.trans)
	if t == nil {
		t = map[string][]byte{}
	}
	t[locale] = append([]byte{}, data...)
	r.trans = t
	return true, nil
}

func (s *store) delete(scriptName string, builtInAllowed bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byScript[scriptName]
	if !ok {
		return fmt.Errorf("%w: connector %q", errNotFound, scriptName)
	}
	if !r.custom && !builtInAllowed {
		return fmt.Errorf("%w: %s (%s) is a built-in connector; only custom connectors can be deleted", errBadInput, r.scriptName, r.name)
	}
	delete(s.byScript, scriptName)
	delete(s.byName, strings.ToLower(r.name))
	s.order = slices.DeleteFunc(s.order, func(x *record) bool { return x == r })
	return nil
}

// update runs fn on a copy of the record under the write lock and stores the
// copy only when fn succeeds, so a failed PATCH changes nothing.
func (s *store) update(scriptName string, fn func(r *record) error) (record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byScript[scriptName]
	if !ok {
		return record{}, fmt.Errorf("%w: connector %q", errNotFound, scriptName)
	}
	c := *r
	if err := fn(&c); err != nil {
		return record{}, err
	}
	*r = c
	out := c
	out.trans = maps.Clone(c.trans)
	return out, nil
}

// sourceMeta is what the detail derives from the tenant and the stored source-config.
func (s *store) s3Location(scriptName string) string {
	return s.pod + "/" + s.org + "/connectorFiles/" + scriptName
}
