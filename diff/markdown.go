package diff

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"regexp"
	"strings"

	"github.com/connvault/connvault/internal/iocount"
	"github.com/connvault/connvault/internal/termtext"
)

// WriteMarkdown writes r as GitHub/GitLab-flavoured Markdown for a pull
// request comment: the summary table, then one collapsible section per
// connector that differs, with its unified diffs in diff code blocks.
func WriteMarkdown(w io.Writer, r *Result, o ReportOptions) error {
	return NewReport(r, o).WriteMarkdown(w)
}

// WriteMarkdown renders the report as Markdown (see the package function).
// Names and values are escaped so that nothing in a connector can break the
// layout or inject markup: text goes through HTML escaping (the collapsible
// sections are HTML), table cells escape '|', and code blocks use a fence
// longer than any run of backticks inside.
func (rep *Report) WriteMarkdown(w io.Writer) error {
	if rep.MaxBytes <= 0 {
		_, err := rep.writeMarkdown(w)
		return err
	}
	// Bounded: made in memory first, so a limit too small for the summary
	// is refused before anything is written.
	var buf bytes.Buffer
	head, err := rep.writeMarkdown(&buf)
	if err != nil {
		return err
	}
	if buf.Len() > rep.MaxBytes {
		return fmt.Errorf("%w: --max-bytes %d is smaller than the report's summary alone; the smallest size that works is %d", ErrMaxBytesTooSmall, rep.MaxBytes, head+markdownReserve)
	}
	_, err = buf.WriteTo(w)
	return err
}

// ErrMaxBytesTooSmall is a Report.MaxBytes below what the summary needs.
var ErrMaxBytesTooSmall = errors.New("the size limit is too small")

// writeMarkdown writes the report and returns the size of its summary (all
// but the connector sections and the closing line).
func (rep *Report) writeMarkdown(w io.Writer) (int, error) {
	cw := &iocount.Writer{W: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	p("## %s\n\n", mdTenant(rep.Title))
	for _, c := range rep.Context {
		p("%s  \n", mdTenant(c))
	}
	if len(rep.Context) > 0 {
		p("\n")
	}
	if rep.Verdict != "" {
		p("**%s**\n\n", mdText(rep.Verdict))
	}
	if len(rep.Summary.Head) > 0 {
		p("|")
		for _, h := range rep.Summary.Head {
			p(" %s |", mdCell(h))
		}
		p("\n|")
		for i := range rep.Summary.Head {
			if i == 0 {
				p("---|")
			} else {
				p("---:|")
			}
		}
		p("\n")
		for _, row := range rep.Summary.Rows {
			p("|")
			for _, c := range row {
				p(" %s |", mdCell(c))
			}
			p("\n")
		}
		p("\n")
	}
	for _, n := range rep.Notes {
		p("- %s\n", mdTenant(n))
	}
	if len(rep.Notes) > 0 {
		p("\n")
	}
	omittedDiffs, omittedSections := 0, 0
	fits := func(n int) bool {
		return rep.MaxBytes <= 0 || int(cw.N)+bw.Buffered()+n+markdownReserve <= rep.MaxBytes
	}
	headLen := int(cw.N) + bw.Buffered()
	for _, s := range rep.Sections {
		var head, tail strings.Builder
		// A blank line after </summary> lets the Markdown inside render.
		// Tenant text in code: GitHub makes no mention, link or reference
		// of what is inside <code>.
		fmt.Fprintf(&head, "<details>\n<summary><b>%s</b> <code>%s</code>", html.EscapeString(oneLine(s.Status)), html.EscapeString(oneLine(s.Title)))
		if s.Where != "" {
			fmt.Fprintf(&head, " <code>%s</code>", html.EscapeString(oneLine(s.Where)))
		}
		head.WriteString("</summary>\n\n")
		for _, f := range s.Fields {
			fmt.Fprintf(&head, "- %s: %s → %s\n", mdCode(f.Field), mdCode(f.Old), mdCode(f.New))
		}
		for _, n := range s.Notes {
			fmt.Fprintf(&head, "- %s\n", mdTenant(n))
		}
		if len(s.Fields)+len(s.Notes) > 0 {
			head.WriteString("\n")
		}
		tail.WriteString("</details>\n\n")
		if !fits(head.Len() + tail.Len()) {
			omittedSections++
			continue
		}
		p("%s", head.String())
		for _, d := range s.Diffs {
			var block strings.Builder
			fence := codeFence(d)
			fmt.Fprintf(&block, "%sdiff\n%s", fence, d)
			if !strings.HasSuffix(d, "\n") {
				block.WriteString("\n")
			}
			fmt.Fprintf(&block, "%s\n\n", fence)
			if !fits(block.Len() + tail.Len()) {
				omittedDiffs++
				block.Reset()
				fmt.Fprintf(&block, "- diff of %s left out (size limit)\n\n", mdCode(parseUnified(d).name()))
			}
			p("%s", block.String())
		}
		p("%s", tail.String())
	}
	if omittedDiffs+omittedSections > 0 {
		p("**Shortened to stay under %d bytes:** %d diff(s) and %d connector section(s) left out; the text or HTML report has everything.\n",
			rep.MaxBytes, omittedDiffs, omittedSections)
	}
	if err := bw.Flush(); err != nil {
		return headLen, fmt.Errorf("writing markdown report: %w", err)
	}
	return headLen, nil
}

// markdownReserve is room kept under Report.MaxBytes for the closing tags
// and the note that says what was left out.
const markdownReserve = 300

// mdText escapes text for a Markdown paragraph or list item: HTML special
// characters, and the characters that start emphasis, links, code or
// headings, so a connector name is shown as written.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case strings.ContainsRune("\\`*_[]#|~!", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCell escapes a table cell (mdText escapes '|' too); text that would act
// goes in a code span, its '|' escaped as a table cell needs.
func mdCell(s string) string {
	if acts(s) {
		return strings.ReplaceAll(mdCode(s), "|", "\\|")
	}
	return mdText(s)
}

// mdTenant is a line that may hold tenant text (a connector name, a URL, a
// path): as mdText, or in a code span when GitHub would turn some of it into
// a mention, a link or a reference.
func mdTenant(s string) string {
	if acts(s) {
		return mdCode(s)
	}
	return mdText(s)
}

// acts reports whether GitHub would make something of s outside code: an
// @mention, a #123 or GH-123 reference, a URL or www. autolink, an e-mail
// address, a :emoji:.
func acts(s string) bool {
	return strings.ContainsAny(s, "@#") || strings.Contains(s, "://") || strings.Contains(strings.ToLower(s), "www.") ||
		strings.Contains(s, "GH-") || emoji.MatchString(s)
}

var emoji = regexp.MustCompile(`:[a-z][a-z0-9_+-]*:`)

// mdCode is an inline code span holding s literally: delimited by one more
// backtick than the longest run inside, padded with spaces when s starts or
// ends with a backtick. (Not for table cells, where '|' would need escaping.)
func mdCode(s string) string {
	s = oneLine(s)
	ticks := strings.Repeat("`", longestRun(s, '`')+1)
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || s == "" {
		pad = " "
	}
	return ticks + pad + s + pad + ticks
}

// codeFence is a backtick fence longer than any run of backticks in s (and
// at least three).
func codeFence(s string) string {
	return strings.Repeat("`", max(3, longestRun(s, '`')+1))
}

func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

// oneLine makes s one visible line: line breaks, other control characters,
// bidirectional controls and zero-width characters become escapes (\n,
// \u202e), so a name with a newline does not end a table row or a list item
// and nothing in it draws a picture other than its characters.
func oneLine(s string) string {
	return termtext.Escape(s)
}
