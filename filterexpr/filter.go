package filterexpr

import (
	"fmt"
	"strings"
)

// The list endpoint's filter language, as the standard collection parameters
// describe it: `field op value`, combined with and/or/not and parentheses,
// precedence not > and > or. Operators and keywords are lower-case only;
// string values are double-quoted with `\\` and `\"` as the only escapes (the
// %23/%25/%26 escapes are URL encoding, undone before the parser sees the
// text). Value comparisons ignore case.

// maxFilterDepth bounds nesting so a hostile filter cannot exhaust the stack.
const maxFilterDepth = 64

// maxFilterLen bounds the filter text; real filters are a few hundred bytes.
const maxFilterLen = 8192

// filterFields lists each filterable field and the operators the spec allows on it.
var filterFields = map[string][]string{
	"name":          {"sw", "co"},
	"type":          {"sw", "co", "eq"},
	"directConnect": {"eq"},
	"category":      {"eq"},
	"features":      {"ca"},
	"labels":        {"ca"},
}

// knownOperators are the standard collection operators; a known operator on a
// field that does not support it is reported differently from a made-up one.
var knownOperators = map[string]bool{
	"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true,
	"sw": true, "co": true, "ca": true, "in": true, "pr": true, "isnull": true,
}

// filterError is a filter the list endpoint refuses (HTTP 400).
type filterError struct {
	Pos int // byte offset in the filter text
	Msg string
}

func (e *filterError) Error() string {
	return fmt.Sprintf("invalid filter at offset %d: %s", e.Pos, e.Msg)
}

// filterTarget is what a filter looks at in a connector.
type filterTarget struct {
	name, typ, category string
	directConnect       bool
	features, labels    []string
}

type filterExpr interface {
	eval(c *filterTarget) bool
	String() string
}

type andExpr struct{ l, r filterExpr }
type orExpr struct{ l, r filterExpr }
type notExpr struct{ e filterExpr }
type cmpExpr struct {
	field, op string
	values    []string // lower-cased
	b         bool     // directConnect
}

func (e andExpr) eval(c *filterTarget) bool { return e.l.eval(c) && e.r.eval(c) }
func (e orExpr) eval(c *filterTarget) bool  { return e.l.eval(c) || e.r.eval(c) }
func (e notExpr) eval(c *filterTarget) bool { return !e.e.eval(c) }

func (e cmpExpr) eval(c *filterTarget) bool {
	var s string
	switch e.field {
	case "directConnect":
		return c.directConnect == e.b
	case "features":
		return containsAll(c.features, e.values)
	case "labels":
		return containsAll(c.labels, e.values)
	case "name":
		s = c.name
	case "type":
		s = c.typ
	case "category":
		s = c.category
	}
	s = strings.ToLower(s)
	v := e.values[0]
	switch e.op {
	case "sw":
		return strings.HasPrefix(s, v)
	case "co":
		return strings.Contains(s, v)
	default: // eq
		return s == v
	}
}

func containsAll(have []string, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if strings.ToLower(h) == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokLParen
	tokRParen
	tokComma
	tokString
	tokWord
)

type token struct {
	kind tokKind
	text string // unescaped for strings
	pos  int
}

func lexFilter(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", i})
			i++
		case c == ',':
			toks = append(toks, token{tokComma, ",", i})
			i++
		case c == '"':
			start := i
			i++
			var b strings.Builder
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' {
					if i+1 >= len(s) {
						return nil, &filterError{i, "backslash at end of filter; write \\\\ for a literal backslash"}
					}
					n := s[i+1]
					if n != '\\' && n != '"' {
						return nil, &filterError{i, fmt.Sprintf("unknown escape \\%c; only \\\\ and \\\" are allowed in strings", n)}
					}
					b.WriteByte(n)
					i += 2
					continue
				}
				if c == '"' {
					closed = true
					i++
					break
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return nil, &filterError{start, "unterminated string; close it with \""}
			}
			toks = append(toks, token{tokString, b.String(), start})
		case isWordByte(c):
			start := i
			for i < len(s) && isWordByte(s[i]) {
				i++
			}
			toks = append(toks, token{tokWord, s[start:i], start})
		default:
			return nil, &filterError{i, fmt.Sprintf("unexpected character %q", rune(c))}
		}
	}
	toks = append(toks, token{tokEOF, "", len(s)})
	return toks, nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '+'
}

type filterParser struct {
	toks  []token
	i     int
	depth int
}

// parseFilter compiles a filter; an empty or blank filter matches everything.
func parseFilter(s string) (filterExpr, error) {
	if len(s) > maxFilterLen {
		return nil, &filterError{maxFilterLen, fmt.Sprintf("filter longer than %d bytes", maxFilterLen)}
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, &filterError{t.pos, fmt.Sprintf("unexpected %q; join conditions with and/or", t.text)}
	}
	return e, nil
}

func (p *filterParser) peek() token { return p.toks[p.i] }
func (p *filterParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *filterParser) isKeyword(kw string) bool {
	t := p.peek()
	return t.kind == tokWord && t.text == kw
}

func (p *filterParser) enter() error {
	p.depth++
	if p.depth > maxFilterDepth {
		return &filterError{p.peek().pos, fmt.Sprintf("filter nested deeper than %d levels", maxFilterDepth)}
	}
	return nil
}

func (p *filterParser) parseOr() (filterExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("or") {
		p.next()
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = orExpr{l, r}
	}
	return l, nil
}

func (p *filterParser) parseAnd() (filterExpr, error) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("and") {
		p.next()
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = andExpr{l, r}
	}
	return l, nil
}

func (p *filterParser) parseNot() (filterExpr, error) {
	if p.isKeyword("not") {
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		e, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return notExpr{e}, nil
	}
	return p.parsePrimary()
}

func (p *filterParser) parsePrimary() (filterExpr, error) {
	t := p.next()
	switch t.kind {
	case tokLParen:
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, &filterError{c.pos, "missing closing parenthesis"}
		}
		return e, nil
	case tokWord:
		return p.parseComparison(t)
	case tokEOF:
		return nil, &filterError{t.pos, "filter ends where a condition was expected"}
	default:
		return nil, &filterError{t.pos, fmt.Sprintf("unexpected %q where a field name was expected", t.text)}
	}
}

func (p *filterParser) parseComparison(field token) (filterExpr, error) {
	ops, ok := filterFields[field.text]
	if !ok {
		return nil, &filterError{field.pos, fmt.Sprintf("filtering on %q is not supported; supported fields: name, type, directConnect, category, features, labels", field.text)}
	}
	opTok := p.next()
	if opTok.kind != tokWord {
		return nil, &filterError{opTok.pos, fmt.Sprintf("expected an operator after %s", field.text)}
	}
	op := opTok.text
	if !knownOperators[op] {
		if knownOperators[strings.ToLower(op)] {
			return nil, &filterError{opTok.pos, fmt.Sprintf("operator %q must be lower-case", op)}
		}
		return nil, &filterError{opTok.pos, fmt.Sprintf("unknown operator %q", op)}
	}
	allowed := false
	for _, o := range ops {
		if o == op {
			allowed = true
		}
	}
	if !allowed {
		return nil, &filterError{opTok.pos, fmt.Sprintf("operator %s is not supported on %s; use %s", op, field.text, strings.Join(ops, " or "))}
	}
	e := cmpExpr{field: field.text, op: op}
	v := p.next()
	switch v.kind {
	case tokString:
		e.values = []string{strings.ToLower(v.text)}
	case tokWord:
		// Bare literals are only meaningful for the boolean field (the spec's
		// example quotes it, `directConnect eq "true"`, but both forms occur).
		if field.text != "directConnect" {
			return nil, &filterError{v.pos, fmt.Sprintf("value %q for %s must be a double-quoted string", v.text, field.text)}
		}
		e.values = []string{strings.ToLower(v.text)}
	case tokLParen:
		if op != "ca" {
			return nil, &filterError{v.pos, fmt.Sprintf("a value list is only allowed with ca, not %s", op)}
		}
		for {
			s := p.next()
			if s.kind != tokString {
				return nil, &filterError{s.pos, "value lists hold double-quoted strings, like (\"A\",\"B\")"}
			}
			e.values = append(e.values, strings.ToLower(s.text))
			sep := p.next()
			if sep.kind == tokRParen {
				break
			}
			if sep.kind != tokComma {
				return nil, &filterError{sep.pos, "expected , or ) in value list"}
			}
		}
	default:
		return nil, &filterError{v.pos, fmt.Sprintf("expected a value after %s %s", field.text, op)}
	}
	if field.text == "directConnect" {
		switch e.values[0] {
		case "true":
			e.b = true
		case "false":
			e.b = false
		default:
			return nil, &filterError{v.pos, fmt.Sprintf("directConnect takes \"true\" or \"false\", not %q", v.text)}
		}
	}
	return e, nil
}

// String forms print a parsed filter in the filter language with only the
// parentheses its structure needs; the fuzz target checks that they parse
// back to the same form.
func (e andExpr) String() string {
	return group(e.l, isOr(e.l)) + " and " + group(e.r, isOr(e.r) || isAnd(e.r))
}
func (e orExpr) String() string  { return group(e.l, false) + " or " + group(e.r, isOr(e.r)) }
func (e notExpr) String() string { return "not " + group(e.e, isOr(e.e) || isAnd(e.e)) }

func isOr(e filterExpr) bool  { _, ok := e.(orExpr); return ok }
func isAnd(e filterExpr) bool { _, ok := e.(andExpr); return ok }

func group(e filterExpr, paren bool) string {
	if paren {
		return "(" + fmt.Sprint(e) + ")"
	}
	return fmt.Sprint(e)
}

func (e cmpExpr) String() string {
	q := make([]string, len(e.values))
	for i, v := range e.values {
		q[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
	}
	if e.op == "ca" {
		return e.field + " ca (" + strings.Join(q, ",") + ")"
	}
	return e.field + " " + e.op + " " + q[0]
}
