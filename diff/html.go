package diff

import (
	"bufio"
	"fmt"
	"html"
	"io"

	"github.com/connvault/connvault/internal/termtext"
)

// WriteHTML writes r as one self-contained HTML page for a change-approval
// board: the summary table, an index, then one section per connector that
// differs with its diffs as tables (line numbers, removed and added lines
// coloured, and within a changed line the changed characters marked). The
// page has no scripts and loads nothing: styles are inline, so it can be
// mailed, attached to a ticket or opened from a CI artifact as is.
func WriteHTML(w io.Writer, r *Result, o ReportOptions) error {
	return NewReport(r, o).WriteHTML(w)
}

// pageStyle is the page's only styling. Colours follow the usual diff
// conventions and meet contrast guidelines in light and dark mode.
const pageStyle = `
:root { color-scheme: light dark; --fg: #1f2328; --bg: #fff; --muted: #59636e; --line: #d1d9e0;
  --add-bg: #dafbe1; --add-mark: #8ee6a0; --del-bg: #ffebe9; --del-mark: #ffb3ad; --hunk: #ddf4ff; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #3d444d;
  --add-bg: #12361f; --add-mark: #1f6f35; --del-bg: #3c1618; --del-mark: #8e1d22; --hunk: #0c2d4b; } }
body { font: 14px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); background: var(--bg);
  margin: 0 auto; padding: 1.5em; max-width: 1200px; }
h1 { font-size: 1.6em; margin: 0 0 .3em; }
.context { color: var(--muted); margin: 0; }
.verdict { font-weight: 600; font-size: 1.1em; }
table.summary { border-collapse: collapse; margin: 1em 0; }
table.summary th, table.summary td { border: 1px solid var(--line); padding: .25em .8em; }
table.summary td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.summary td.n.nz { font-weight: 600; }
nav ul { padding-left: 1.2em; }
details.conn { border: 1px solid var(--line); border-radius: 6px; margin: 1em 0; }
details.conn > summary { padding: .5em .8em; cursor: pointer; font-size: 1.05em; }
details.conn > summary h2 { display: inline; font-size: 1em; font-weight: normal; margin: 0; }
details.conn > div.body { padding: 0 .8em .8em; }
.badge { display: inline-block; border-radius: 1em; padding: 0 .6em; font-size: .85em; font-weight: 600; border: 1px solid var(--line); }
.badge.add { background: var(--add-bg); } .badge.del { background: var(--del-bg); } .badge.mod { background: var(--hunk); }
code, .code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
ul.fields del { background: var(--del-bg); text-decoration: none; } ul.fields ins { background: var(--add-bg); text-decoration: none; }
div.file { border: 1px solid var(--line); border-radius: 6px; margin: .8em 0; overflow-x: auto; }
div.fname { padding: .3em .6em; border-bottom: 1px solid var(--line); font-weight: 600; }
table.diff { border-collapse: collapse; width: 100%; }
table.diff td { padding: 0 .5em; vertical-align: top; }
table.diff td.ln { color: var(--muted); text-align: right; user-select: none; width: 1%; white-space: nowrap; }
table.diff td.sign { user-select: none; width: 1%; }
table.diff td.code { white-space: pre-wrap; word-break: break-all; }
tr.add { background: var(--add-bg); } tr.del { background: var(--del-bg); }
tr.add ins, tr.del del { text-decoration: none; border-radius: 2px; }
tr.add ins { background: var(--add-mark); } tr.del del { background: var(--del-mark); }
tr.hunk td { background: var(--hunk); color: var(--muted); }
tr.note td { color: var(--muted); font-style: italic; }
`

// WriteHTML renders the report as one HTML page (see the package function).
// Every piece of text from a snapshot is HTML-escaped.
func (rep *Report) WriteHTML(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	e := visibleHTML
	// The report's notes and each section's are the same kind of list.
	notes := func(ns []string) {
		if len(ns) == 0 {
			return
		}
		p("<ul class=\"notes\">\n")
		for _, n := range ns {
			p("<li>%s</li>\n", e(n))
		}
		p("</ul>\n")
	}
	p("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	p("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	// No network at all, even if the page is later edited to add some.
	p("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n")
	p("<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", e(rep.Title), pageStyle)
	p("<header>\n<h1>%s</h1>\n", e(rep.Title))
	for _, c := range rep.Context {
		p("<p class=\"context\">%s</p>\n", e(c))
	}
	p("</header>\n<main>\n")
	if rep.Verdict != "" {
		p("<p class=\"verdict\">%s</p>\n", e(rep.Verdict))
	}
	if len(rep.Summary.Head) > 0 {
		p("<table class=\"summary\">\n<thead><tr>")
		for _, h := range rep.Summary.Head {
			p("<th>%s</th>", e(h))
		}
		p("</tr></thead>\n<tbody>\n")
		for _, row := range rep.Summary.Rows {
			p("<tr>")
			for i, c := range row {
				switch {
				case i == 0:
					p("<th scope=\"row\">%s</th>", e(c))
				case c != "0" && i < len(row)-1:
					p("<td class=\"n nz\">%s</td>", e(c))
				default:
					p("<td class=\"n\">%s</td>", e(c))
				}
			}
			p("</tr>\n")
		}
		p("</tbody>\n</table>\n")
	}
	notes(rep.Notes)
	if len(rep.Sections) > 1 {
		p("<nav><ul>\n")
		for i, s := range rep.Sections {
			p("<li><a href=\"#c%d\"><span class=\"badge %s\">%s</span> %s</a></li>\n", i+1, statusClass(s.Status), e(s.Status), e(s.Title))
		}
		p("</ul></nav>\n")
	}
	for i, s := range rep.Sections {
		// Open by default: a printed or scrolled report shows everything;
		// a reader can still fold a section away.
		// Each connector is a heading: screen readers move by headings.
		p("<details class=\"conn\" id=\"c%d\" open>\n<summary><h2><span class=\"badge %s\">%s</span> <b>%s</b>",
			i+1, statusClass(s.Status), e(s.Status), e(s.Title))
		if s.Where != "" {
			p(" <code>%s</code>", e(s.Where))
		}
		p("</h2></summary>\n<div class=\"body\">\n")
		if len(s.Fields) > 0 {
			p("<ul class=\"fields\">\n")
			for _, f := range s.Fields {
				p("<li><code>%s</code>: <del class=\"code\">%s</del> → <ins class=\"code\">%s</ins></li>\n", e(f.Field), e(f.Old), e(f.New))
			}
			p("</ul>\n")
		}
		notes(s.Notes)
		for _, d := range s.Diffs {
			writeHTMLDiff(bw, parseUnified(d))
		}
		p("</div>\n</details>\n")
	}
	p("</main>\n</body>\n</html>\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing HTML report: %w", err)
	}
	return nil
}

func writeHTMLDiff(w *bufio.Writer, fd fileDiff) {
	e := html.EscapeString
	fmt.Fprintf(w, "<div class=\"file\">\n<div class=\"fname code\" title=\"%s → %s\">%s</div>\n", e(fd.from), e(fd.to), e(fd.name()))
	w.WriteString("<table class=\"diff code\">\n")
	if len(fd.lines) == 0 {
		w.WriteString("<tr class=\"note\"><td colspan=\"4\">empty document on one side</td></tr>\n")
	}
	num := func(n int) string {
		if n == 0 {
			return ""
		}
		return fmt.Sprint(n)
	}
	for _, l := range fd.lines {
		switch l.kind {
		case '@':
			fmt.Fprintf(w, "<tr class=\"hunk\"><td colspan=\"4\">%s</td></tr>\n", e(l.text))
		case '\\':
			fmt.Fprintf(w, "<tr class=\"note\"><td colspan=\"4\">%s</td></tr>\n", e(l.text))
		case '-':
			fmt.Fprintf(w, "<tr class=\"del\"><td class=\"ln\">%s</td><td class=\"ln\"></td><td class=\"sign\">-</td><td class=\"code\">%s</td></tr>\n",
				num(l.oldNum), marked(l, "del"))
		case '+':
			fmt.Fprintf(w, "<tr class=\"add\"><td class=\"ln\"></td><td class=\"ln\">%s</td><td class=\"sign\">+</td><td class=\"code\">%s</td></tr>\n",
				num(l.newNum), marked(l, "ins"))
		default:
			fmt.Fprintf(w, "<tr class=\"ctx\"><td class=\"ln\">%s</td><td class=\"ln\">%s</td><td class=\"sign\"> </td><td class=\"code\">%s</td></tr>\n",
				num(l.oldNum), num(l.newNum), e(l.text))
		}
	}
	w.WriteString("</table>\n</div>\n")
}

// visibleHTML is tenant text as HTML: escaped for the page, and with
// control, bidirectional and zero-width characters shown as escapes.
func visibleHTML(s string) string { return html.EscapeString(termtext.Escape(s)) }

// marked is the escaped line with its changed characters inside tag.
func marked(l diffLine, tag string) string {
	e := html.EscapeString
	if l.markFrom >= l.markTo {
		return e(l.text)
	}
	return e(l.text[:l.markFrom]) + "<" + tag + ">" + e(l.text[l.markFrom:l.markTo]) + "</" + tag + ">" + e(l.text[l.markTo:])
}

// statusClass picks a badge colour for a status word.
func statusClass(s string) string {
	switch s {
	case string(StatusAdded), "create":
		return "add"
	case string(StatusRemoved):
		return "del"
	case string(StatusChanged), "update":
		return "mod"
	}
	return "other"
}
