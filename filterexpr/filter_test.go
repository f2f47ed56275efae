package filterexpr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseFilterMatches(t *testing.T) {
	ad := &filterTarget{name: "Active Directory", typ: "Active Directory - Direct", category: "directory", directConnect: true,
		features: []string{"PROVISIONING", "SEARCH"}, labels: []string{"Directory"}}
	odd := &filterTarget{name: `Odd "Quoted" \ Name #1 & 100%`, typ: "custom Odd", category: "custom", directConnect: false,
		features: []string{"SEARCH"}, labels: nil}
	tests := []struct {
		filter  string
		ad, odd bool
	}{
		{``, true, true},
		{`name sw "active"`, true, false},
		{`name sw "ACTIVE"`, true, false},
		{`name co "direct"`, true, false},
		{`type eq "active directory - direct"`, true, false},
		{`type sw "custom "`, false, true},
		{`type co "odd"`, false, true},
		{`directConnect eq "true"`, true, false},
		{`directConnect eq false`, false, true},
		{`category eq "Directory"`, true, false},
		{`features ca ("provisioning","SEARCH")`, true, false},
		{`features ca ("SEARCH")`, true, true},
		{`features ca "search"`, true, true},
		{`labels ca ("directory")`, true, false},
		{`not name sw "active"`, false, true},
		{`not not name sw "active"`, true, false},
		{`name sw "active" or type sw "custom"`, true, true},
		{`name sw "active" and type sw "custom"`, false, false},
		// precedence: not > and > or
		{`name sw "odd" or name sw "active" and directConnect eq "false"`, false, true},
		{`(name sw "odd" or name sw "active") and directConnect eq "false"`, false, true},
		{`(name sw "odd" or name sw "active") and directConnect eq "true"`, true, false},
		{`not name sw "odd" and not name sw "active"`, false, false},
		{`not (name sw "odd" and directConnect eq "true")`, true, true},
		{`((((name co "directory"))))`, true, false},
		// escapes: \" and \\ inside strings; #, & and % arrive URL-decoded
		{`name co "\"quoted\""`, false, true},
		{`name co "\\ name"`, false, true},
		{`name co "#1 & 100%"`, false, true},
		{"name   sw\t\"odd\"\n", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			e, err := parseFilter(tc.filter)
			if err != nil {
				t.Fatalf("parseFilter(%q): %v", tc.filter, err)
			}
			for _, c := range []struct {
				target *filterTarget
				want   bool
			}{{ad, tc.ad}, {odd, tc.odd}} {
				got := e == nil || e.eval(c.target)
				if got != c.want {
					t.Errorf("filter %q on %q = %v, want %v", tc.filter, c.target.name, got, c.want)
				}
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct{ filter, want string }{
		{`description sw "x"`, `filtering on "description" is not supported`},
		{`name eq "x"`, `operator eq is not supported on name`},
		{`directConnect sw "t"`, `operator sw is not supported on directConnect`},
		{`features eq "A"`, `operator eq is not supported on features`},
		{`name SW "x"`, `must be lower-case`},
		{`name like "x"`, `unknown operator "like"`},
		{`name sw x`, `must be a double-quoted string`},
		{`name sw "x`, `unterminated string`},
		{`name sw "x\n"`, `unknown escape`},
		{`name sw "x\`, `backslash at end`},
		{`(name sw "x"`, `missing closing parenthesis`},
		{`name sw "x")`, `unexpected ")"`},
		{`name sw "x" name sw "y"`, `unexpected "name"`},
		{`name sw "x" and`, `filter ends where a condition was expected`},
		{`name sw "x" AND name sw "y"`, `unexpected "AND"`},
		{`directConnect eq "yes"`, `directConnect takes "true" or "false"`},
		{`name sw ("a")`, `a value list is only allowed with ca`},
		{`features ca ("a" "b")`, `expected , or )`},
		{`features ca (a)`, `value lists hold double-quoted strings`},
		{`name sw`, `expected a value`},
		{`name`, `expected an operator`},
		{`name sw "a" ; drop`, `unexpected character ';'`},
		{strings.Repeat("(", 100) + `name sw "a"` + strings.Repeat(")", 100), `nested deeper`},
		{strings.Repeat("not ", 100) + `name sw "a"`, `nested deeper`},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			_, err := parseFilter(tc.filter)
			var fe *filterError
			if !errors.As(err, &fe) {
				t.Fatalf("parseFilter(%q) = %v, want a filterError", tc.filter, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseFilter(%q) error %q, want it to mention %q", tc.filter, err, tc.want)
			}
		})
	}
}

// FuzzParseFilter checks that the parser never panics, that every accepted
// filter prints to a form that parses back to itself, and that evaluation
// agrees between the two.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`name sw "a"`, `type eq "custom x" or not (directConnect eq "true" and features ca ("A","B"))`,
		`labels ca ("x") and category eq "y"`, `name co "\"\\"`, `((name sw "a"))`, `not not name co "b"`,
		`name sw "x`, `features ca (`, `directConnect eq true`, `name SW "a"`, "",
	} {
		f.Add(s)
	}
	target := &filterTarget{name: `a "b" \c`, typ: "custom a", category: "y", directConnect: true, features: []string{"A", "B"}, labels: []string{"x"}}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseFilter(s)
		if err != nil {
			var fe *filterError
			if !errors.As(err, &fe) {
				t.Fatalf("parseFilter(%q) returned a non-filterError: %v", s, err)
			}
			return
		}
		if e == nil {
			return
		}
		printed := fmt.Sprint(e)
		e2, err := parseFilter(printed)
		if err != nil {
			t.Fatalf("printed form %q of %q does not parse: %v", printed, s, err)
		}
		if p2 := fmt.Sprint(e2); p2 != printed {
			t.Fatalf("round trip changed %q to %q", printed, p2)
		}
		if e.eval(target) != e2.eval(target) {
			t.Fatalf("%q and its printed form %q disagree", s, printed)
		}
	})
}
