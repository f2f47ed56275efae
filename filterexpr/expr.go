// Package filterexpr parses and evaluates the filter language of the ISC list
// endpoints (standard collection parameters) for the fields the Connectors
// list supports. The sandbox answers list calls with it, and restore selects
// an archive's connectors with the same syntax an admin already uses for
// export, so one expression means the same thing everywhere.
package filterexpr

// Target is what a filter looks at in a connector.
type Target struct {
	Name, Type, Category string
	DirectConnect        bool
	Features, Labels     []string
}

// Expr is a compiled filter. The zero filter (from a blank expression) is nil
// and matches everything.
type Expr struct{ e filterExpr }

// Error is a syntax error or an unsupported field or operator; the list
// endpoint answers it with a 400.
type Error = filterError

// Parse compiles a filter expression. A blank expression gives nil, which
// matches everything.
func Parse(s string) (*Expr, error) {
	e, err := parseFilter(s)
	if err != nil || e == nil {
		return nil, err
	}
	return &Expr{e}, nil
}

// Match reports whether t satisfies the filter; a nil filter matches all.
func (x *Expr) Match(t Target) bool {
	if x == nil {
		return true
	}
	return x.e.eval(&filterTarget{name: t.Name, typ: t.Type, category: t.Category, directConnect: t.DirectConnect, features: t.Features, labels: t.Labels})
}

// String is the filter in a normalised form that parses back to the same filter.
func (x *Expr) String() string {
	if x == nil {
		return ""
	}
	return x.e.String()
}
