package diff

import (
	"fmt"
	"strings"
)

// Report is what WriteMarkdown and WriteHTML render: a title, lines saying
// what was compared, a summary table, notes, then one section per connector
// that differs. A diff Result becomes one (NewReport); so does a restore plan
// (package importer), so both read the same in a pull request or in front of
// a change-approval board.
type Report struct {
	Title string
	// Context lines under the title, such as which snapshots were compared.
	Context []string
	// Verdict is one line such as "3 connectors differ." or "No differences.".
	Verdict  string
	Summary  Table
	Notes    []string
	Sections []Section
	// MaxBytes, when positive, bounds WriteMarkdown's output (a GitHub
	// comment holds at most 65,536 characters): diffs that would pass it
	// are replaced by a line naming them, whole sections when even that
	// does not fit, and a closing line says what was left out.
	MaxBytes int
}

// Table is a summary table: the first column labels the rows, the others
// are numbers.
type Table struct {
	Head []string
	Rows [][]string
}

// Section is one connector of a report.
type Section struct {
	// Status is the badge ("added", "removed", "changed", "create",
	// "update", ...); it also picks the colour.
	Status string
	Title  string
	// Where says where the connector lives, such as "a/x, b/y".
	Where string
	// Fields are short detail changes shown inline (old -> new).
	Fields []FieldChange
	// Notes are lines of text (planned writes, warnings).
	Notes []string
	// Diffs are unified diffs, each with its ---/+++ header lines.
	Diffs []string
}

// FieldChange is a detail field change short enough to show on one line;
// Old and New are compact JSON, or "(absent)".
type FieldChange struct {
	Field, Old, New string
}

// ReportOptions labels a diff report.
type ReportOptions struct {
	// Title heads the report; "connvault diff" when empty.
	Title string
	// A and B name the compared sides (archive paths, directories,
	// tenant:NAME); lines for them are left out when empty.
	A, B string
	// MaxBytes bounds the Markdown output (Report.MaxBytes).
	MaxBytes int
}

// NewReport turns a diff Result into a Report: the summary table of the
// text format, then one section per connector that differs or was paired
// through the mapping, with the same changes as the text format.
func NewReport(r *Result, o ReportOptions) *Report {
	rep := &Report{Title: o.Title, MaxBytes: o.MaxBytes}
	if rep.Title == "" {
		rep.Title = "connvault diff"
	}
	if o.A != "" {
		rep.Context = append(rep.Context, "A: "+o.A)
	}
	if o.B != "" {
		rep.Context = append(rep.Context, "B: "+o.B)
	}
	s := r.Summary
	differ := s.Connectors.Added + s.Connectors.Removed + s.Connectors.Changed
	switch {
	case r.Equal():
		rep.Verdict = "No differences."
	case differ == 1:
		rep.Verdict = "1 connector differs."
	default:
		rep.Verdict = fmt.Sprintf("%d connectors differ.", differ)
	}
	rep.Summary.Head = []string{"", "added", "removed", "changed", "unchanged"}
	row := func(label string, a, b, c, d int) {
		rep.Summary.Rows = append(rep.Summary.Rows, []string{label, fmt.Sprint(a), fmt.Sprint(b), fmt.Sprint(c), fmt.Sprint(d)})
	}
	row("connectors", s.Connectors.Added, s.Connectors.Removed, s.Connectors.Changed, s.Connectors.Unchanged)
	for _, it := range itemRows(s) {
		row(it.label, it.c.Added, it.c.Removed, it.c.Modified, it.c.Unchanged)
	}
	if n := s.Connectors.Renamed; n > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d connector(s) paired through the mapping", n))
	}
	if r.IgnoreWhitespace {
		rep.Notes = append(rep.Notes, "XML compared with whitespace runs normalised")
	}
	for _, u := range r.UnmatchedMappings {
		rep.Notes = append(rep.Notes, fmt.Sprintf("mapping %s=%s not used: %s", u.A, u.B, u.Reason))
	}
	for i := range r.Connectors {
		c := &r.Connectors[i]
		if !listed(c) {
			continue
		}
		sec := Section{Status: string(c.Status), Title: displayName(c), Where: where(c)}
		for _, ch := range c.Changes {
			if inline(ch) {
				sec.Fields = append(sec.Fields, FieldChange{Field: ch.Field, Old: jsonOrAbsent(ch.Old), New: jsonOrAbsent(ch.New)})
				continue
			}
			sec.Diffs = append(sec.Diffs, ch.Diff)
		}
		rep.Sections = append(rep.Sections, sec)
	}
	return rep
}

// diffLine is one line of a unified diff, classified for rendering.
type diffLine struct {
	kind   byte // '-', '+', ' ', '@' (hunk header), '\\' (no newline note)
	text   string
	oldNum int // 0 when the line has no old side
	newNum int
	// marks are the byte ranges of text that differ from the paired line
	// (a removed line and the added line that replaces it).
	markFrom, markTo int
}

// fileDiff is one unified diff taken apart.
type fileDiff struct {
	from, to string // the ---/+++ labels
	lines    []diffLine
}

// name is the document the diff is about: its new label, or the old one
// when the document was removed.
func (fd fileDiff) name() string {
	if fd.to == "" || fd.to == "/dev/null" {
		return fd.from
	}
	return fd.to
}

// parseUnified reads a unified diff as WriteText prints it: two header
// lines, then hunks. Lines it does not recognise are kept as context, so a
// malformed diff still renders.
func parseUnified(s string) fileDiff {
	var fd fileDiff
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	i := 0
	if i < len(lines) && strings.HasPrefix(lines[i], "--- ") {
		fd.from = strings.TrimPrefix(lines[i], "--- ")
		i++
	}
	if i < len(lines) && strings.HasPrefix(lines[i], "+++ ") {
		fd.to = strings.TrimPrefix(lines[i], "+++ ")
		i++
	}
	oldN, newN := 0, 0
	inHunk := false
	for ; i < len(lines); i++ {
		l := lines[i]
		if l == "" && i == len(lines)-1 {
			break
		}
		kind, text := byte(' '), l
		if l != "" {
			kind, text = l[0], l[1:]
		}
		dl := diffLine{kind: kind, text: text}
		switch kind {
		case '@':
			var a, b int
			if _, err := fmt.Sscanf(l, "@@ -%d", &a); err == nil {
				oldN = a
			}
			if j := strings.Index(l, " +"); j >= 0 {
				if _, err := fmt.Sscanf(l[j:], " +%d", &b); err == nil {
					newN = b
				}
			}
			// "-0,0" means the side is empty: numbering starts at 1.
			oldN, newN = max(oldN, 1), max(newN, 1)
			dl.text = l
			inHunk = true
		case '-':
			dl.oldNum = oldN
			oldN++
		case '+':
			dl.newNum = newN
			newN++
		case '\\':
			dl.text = strings.TrimSpace(l[1:])
		case ' ':
			dl.text = text // "" for an empty line inside a hunk (some tools drop the space)
			dl.oldNum, dl.newNum = oldN, newN
			oldN++
			newN++
		default:
			if !inHunk {
				// A note in place of hunks, such as "Binary documents differ".
				dl.kind, dl.text = '\\', l
				break
			}
			dl.kind, dl.text = ' ', strings.TrimPrefix(l, " ")
			dl.oldNum, dl.newNum = oldN, newN
			oldN++
			newN++
		}
		fd.lines = append(fd.lines, dl)
	}
	markPairs(fd.lines)
	return fd
}

// markPairs pairs each run of removed lines with the run of added lines
// that follows it, line by line, and marks in each pair the part between
// their common prefix and common suffix: the changed characters.
func markPairs(ls []diffLine) {
	for i := 0; i < len(ls); {
		if ls[i].kind != '-' {
			i++
			continue
		}
		j := i
		for j < len(ls) && ls[j].kind == '-' {
			j++
		}
		k := j
		for k < len(ls) && ls[k].kind == '+' {
			k++
		}
		for n := 0; n < j-i && n < k-j; n++ {
			a, b := &ls[i+n], &ls[j+n]
			p, s := commonAffixes(a.text, b.text)
			a.markFrom, a.markTo = p, len(a.text)-s
			b.markFrom, b.markTo = p, len(b.text)-s
		}
		i = k
	}
}

// commonAffixes returns the byte lengths of the longest common prefix and
// suffix of a and b that end on rune boundaries and do not overlap.
func commonAffixes(a, b string) (int, int) {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	for p > 0 && p < len(a) && !isRuneStart(a[p]) {
		p--
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	for s > 0 && !isRuneStart(a[len(a)-s]) {
		s--
	}
	return p, s
}

func isRuneStart(c byte) bool { return c&0xC0 != 0x80 }
