package diff

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/connvault/connvault/internal/termtext"
)

// TextOptions shapes WriteText's output.
type TextOptions struct {
	// Color adds ANSI colours (git's: red removed, green added, cyan hunk
	// headers, bold file headers). The caller decides, typically when
	// stdout is a terminal.
	Color bool
	// Stat writes the summary table only.
	Stat bool
	// NameOnly writes one line per connector that differs (and per renamed
	// connector): its status and name. Exclusive with Stat.
	NameOnly bool
}

// inlineLimit is the longest compact JSON value a detail change prints inline
// as "field: old -> new"; longer values print as a unified diff.
const inlineLimit = 64

// inline reports whether ch is shown as "field: old -> new" rather than as
// its unified diff, in the text report and the Markdown and HTML ones alike.
func inline(ch Change) bool {
	return ch.Kind == KindDetail && len(ch.Old) <= inlineLimit && len(ch.New) <= inlineLimit
}

// listed reports whether the reports show c: it differs, or it was paired
// under another name.
func listed(c *ConnectorDiff) bool {
	return c.Status != StatusUnchanged || c.Renamed()
}

// itemRow is a row of the summary table below "connectors".
type itemRow struct {
	label string
	c     ItemCounts
}

// itemRows are the summary table's rows below "connectors", in the order
// every report shows them.
func itemRows(s Summary) []itemRow {
	return []itemRow{
		{"detail fields", s.DetailFields},
		{"source-config", s.SourceConfig},
		{"source-template", s.SourceTemplate},
		{"correlation-config", s.CorrelationConfig},
		{"translations", s.Translations},
	}
}

// where names the scriptNames c has on each side, as "a/x, b/y".
func where(c *ConnectorDiff) string {
	var w []string
	if c.A != nil {
		w = append(w, "a/"+c.A.ScriptName)
	}
	if c.B != nil {
		w = append(w, "b/"+c.B.ScriptName)
	}
	return strings.Join(w, ", ")
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// WriteText writes r for people: the summary table, then one section per
// connector that differs or was renamed, with its changes. See
// docs/diff-format.md for the layout.
func WriteText(w io.Writer, r *Result, o TextOptions) error {
	if o.Stat && o.NameOnly {
		return errors.New("diff: Stat and NameOnly cannot both be set: pick the table or the names")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	t := textWriter{w: bw, color: o.Color}
	switch {
	case o.NameOnly:
		t.names(r)
	case o.Stat:
		t.table(r)
	default:
		t.table(r)
		t.connectors(r)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing diff: %w", err)
	}
	return nil
}

// textWriter writes through a bufio.Writer, which keeps the first write
// error and reports it at Flush.
type textWriter struct {
	w     *bufio.Writer
	color bool
}

func (t textWriter) paint(code, s string) string {
	if !t.color || code == "" || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (t textWriter) printf(format string, args ...any) {
	fmt.Fprintf(t.w, format, args...)
}

func (t textWriter) status(s Status) string {
	code := ansiYellow
	switch s {
	case StatusAdded:
		code = ansiGreen
	case StatusRemoved:
		code = ansiRed
	case StatusUnchanged:
		code = ""
	}
	word := fmt.Sprintf("%-9s", s)
	if code == "" {
		return word
	}
	return t.paint(code, strings.TrimRight(word, " ")) + word[len(s):]
}

func (t textWriter) table(r *Result) {
	s := r.Summary
	t.printf("%-20s %7s %7s %7s %9s\n", "", "added", "removed", "changed", "unchanged")
	t.printf("%-20s %7d %7d %7d %9d\n", "connectors", s.Connectors.Added, s.Connectors.Removed, s.Connectors.Changed, s.Connectors.Unchanged)
	for _, row := range itemRows(s) {
		t.printf("%-20s %7d %7d %7d %9d\n", row.label, row.c.Added, row.c.Removed, row.c.Modified, row.c.Unchanged)
	}
	if n := s.Connectors.Renamed; n > 0 {
		t.printf("%d connector(s) paired through the mapping\n", n)
	}
	for _, u := range r.UnmatchedMappings {
		t.printf("mapping %s=%s not used: %s\n", esc(u.A), esc(u.B), esc(u.Reason))
	}
}

func (t textWriter) names(r *Result) {
	for i := range r.Connectors {
		c := &r.Connectors[i]
		if !listed(c) {
			continue
		}
		t.printf("%s %s\n", t.status(c.Status), esc(displayName(c)))
	}
}

func displayName(c *ConnectorDiff) string {
	if c.Renamed() {
		return c.AKey + " -> " + c.BKey
	}
	return c.Name
}

func (t textWriter) connectors(r *Result) {
	for i := range r.Connectors {
		c := &r.Connectors[i]
		if !listed(c) {
			continue
		}
		t.printf("\n%s %s (%s)\n", t.status(c.Status), t.paint(ansiBold, esc(displayName(c))), esc(where(c)))
		for _, ch := range c.Changes {
			t.change(ch)
		}
	}
}

func (t textWriter) change(ch Change) {
	if inline(ch) {
		t.printf("%s: %s -> %s\n", esc(ch.Field), t.paint(ansiRed, jsonOrAbsent(ch.Old)), t.paint(ansiGreen, jsonOrAbsent(ch.New)))
		return
	}
	// The lines are the documents' own: escaped, so a control character in
	// one cannot act on the terminal (a binary document is only marked, see
	// unified).
	text := termtext.EscapeLines(ch.Diff)
	if !t.color {
		t.w.WriteString(text)
		return
	}
	// Each Diff is one file's: its first two lines are the ---/+++ headers,
	// and only after them does a leading '-' or '+' mean a changed line.
	for i, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		body := strings.TrimSuffix(line, "\n")
		code := ""
		switch {
		case i < 2:
			code = ansiBold
		case strings.HasPrefix(line, "@@"):
			code = ansiCyan
		case strings.HasPrefix(line, "-"):
			code = ansiRed
		case strings.HasPrefix(line, "+"):
			code = ansiGreen
		}
		t.w.WriteString(t.paint(code, body))
		t.w.WriteString(line[len(body):])
	}
}

// esc escapes names and values from the snapshots for the terminal.
func esc(s string) string { return termtext.Escape(s) }

func jsonOrAbsent(v []byte) string {
	if v == nil {
		return "(absent)"
	}
	return string(v)
}
