package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/connvault/connvault/archive"
)

func TestGoldenReports(t *testing.T) {
	a, b, mapping := goldenSnapshots(t)
	r, err := Compare(a, b, Options{Mapping: mapping})
	if err != nil {
		t.Fatal(err)
	}
	o := ReportOptions{A: "nightly.tar.zst", B: "tenant:prod"}
	var md, page bytes.Buffer
	if err := WriteMarkdown(&md, r, o); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&page, r, o); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "report.md.golden", md.Bytes())
	checkGolden(t, "report.html.golden", page.Bytes())

	// Every changed connector has its own collapsible section, and every
	// unified diff of the text format is in the Markdown verbatim.
	sections := strings.Count(md.String(), "<details>")
	want := 0
	for _, c := range r.Connectors {
		if c.Status != StatusUnchanged || c.Renamed() {
			want++
			for _, ch := range c.Changes {
				if ch.Diff != "" && !(ch.Kind == KindDetail && len(ch.Old) <= inlineLimit && len(ch.New) <= inlineLimit) &&
					!strings.Contains(md.String(), ch.Diff) {
					t.Errorf("markdown lacks the diff of %s %s", c.Name, ch.Path)
				}
			}
		}
	}
	if sections != want {
		t.Errorf("markdown has %d sections, want %d", sections, want)
	}
	// The HTML marks the changed characters of a modified line: only "or
	// TSV " is new in "help=Upload a CSV or TSV file".
	if !strings.Contains(page.String(), "help=Upload a CSV <ins>or TSV </ins>file") {
		t.Errorf("the HTML does not mark the changed characters of the en.properties line")
	}
}

// A connector's name and content cannot inject markup or break the layout.
func TestReportEscaping(t *testing.T) {
	evil := "a|b <script>alert(1)</script> `x` **y**\nz"
	detail := func(name string) []byte {
		b, _ := json.Marshal(map[string]any{"name": name, "type": "custom x"})
		return append(b, '\n')
	}
	a := &archive.Snapshot{Connectors: []*archive.Connector{{ScriptName: "s", Detail: detail(evil), SourceConfig: []byte("<a>```</a>\n<b>x</b>\n")}}}
	b := &archive.Snapshot{Connectors: []*archive.Connector{{ScriptName: "s", Detail: detail(evil), SourceConfig: []byte("<a>```</a>\n<b>y</b>\n")}}}
	r, err := Compare(a, b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var md, page bytes.Buffer
	if err := WriteMarkdown(&md, r, ReportOptions{A: "x|y"}); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&page, r, ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{md.String(), page.String()} {
		if strings.Contains(out, "<script>") {
			t.Errorf("a name became markup:\n%s", out)
		}
	}
	if !strings.Contains(md.String(), "````diff\n") {
		t.Errorf("a diff holding ``` needs a longer fence:\n%s", md.String())
	}
	if strings.Contains(md.String(), "A: x|y") || strings.Contains(md.String(), "**y**\nz") {
		t.Errorf("markdown text is not escaped:\n%s", md.String())
	}
	if !strings.Contains(page.String(), "&lt;b&gt;<del>x</del>&lt;/b&gt;") {
		t.Errorf("HTML diff line not escaped or not marked:\n%s", page.String())
	}
}

func TestCommonAffixes(t *testing.T) {
	cases := []struct {
		a, b string
		p, s int
	}{
		{"abc", "abc", 3, 0},
		{"abc", "axc", 1, 1},
		{"", "x", 0, 0},
		{"aaa", "aa", 2, 0},
		{"été", "éta", 3, 0},
		{"xé", "yé", 0, 2},
		{"é", "è", 0, 0}, // two-byte runes sharing the first byte
	}
	for _, c := range cases {
		p, s := commonAffixes(c.a, c.b)
		if p != c.p || s != c.s {
			t.Errorf("commonAffixes(%q, %q) = %d, %d; want %d, %d", c.a, c.b, p, s, c.p, c.s)
		}
	}
}

func TestParseUnifiedNumbers(t *testing.T) {
	fd := parseUnified("--- a/x\n+++ b/x\n@@ -3,3 +3,3 @@\n a\n-b\n+B\n c\n\\ No newline at end of file\n")
	if fd.from != "a/x" || fd.to != "b/x" || len(fd.lines) != 6 {
		t.Fatalf("parsed %+v", fd)
	}
	want := []struct {
		kind     byte
		old, new int
	}{{'@', 0, 0}, {' ', 3, 3}, {'-', 4, 0}, {'+', 0, 4}, {' ', 5, 5}, {'\\', 0, 0}}
	for i, w := range want {
		l := fd.lines[i]
		if l.kind != w.kind || l.oldNum != w.old || l.newNum != w.new {
			t.Errorf("line %d: %c %d %d; want %c %d %d", i, l.kind, l.oldNum, l.newNum, w.kind, w.old, w.new)
		}
	}
	if l := fd.lines[2]; l.text[l.markFrom:l.markTo] != "b" {
		t.Errorf("marked %q", l.text[l.markFrom:l.markTo])
	}
}

// MaxBytes keeps a Markdown report under a size (a GitHub comment's limit),
// leaving out diffs and then sections, and saying so.
func TestMarkdownMaxBytes(t *testing.T) {
	a, b, mapping := goldenSnapshots(t)
	r, err := Compare(a, b, Options{Mapping: mapping})
	if err != nil {
		t.Fatal(err)
	}
	var full bytes.Buffer
	if err := WriteMarkdown(&full, r, ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{full.Len(), full.Len() - 1, 3000, 1500} {
		var out bytes.Buffer
		if err := WriteMarkdown(&out, r, ReportOptions{MaxBytes: limit}); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if out.Len() > limit {
			t.Errorf("limit %d: %d bytes", limit, out.Len())
		}
		shortened := strings.Contains(got, "Shortened to stay under")
		if shortened != (limit < full.Len()+markdownReserve) {
			t.Errorf("limit %d (full %d): shortened %v", limit, full.Len(), shortened)
		}
		if strings.Count(got, "<details>") != strings.Count(got, "</details>") {
			t.Errorf("limit %d: unbalanced sections", limit)
		}
	}
	// A limit below the summary is refused, naming the smallest that works,
	// and nothing is written; that smallest one works and holds.
	var out bytes.Buffer
	err = WriteMarkdown(&out, r, ReportOptions{MaxBytes: 100})
	m := regexp.MustCompile(`smallest size that works is (\d+)`).FindStringSubmatch(fmt.Sprint(err))
	if !errors.Is(err, ErrMaxBytesTooSmall) || m == nil || out.Len() != 0 {
		t.Fatalf("limit 100: %v, %d bytes written", err, out.Len())
	}
	least, _ := strconv.Atoi(m[1])
	out.Reset()
	if err := WriteMarkdown(&out, r, ReportOptions{MaxBytes: least}); err != nil || out.Len() > least {
		t.Errorf("limit %d (the smallest): %v, %d bytes", least, err, out.Len())
	}
}

// A diff without hunks (a binary document) renders its note, not a line.
func TestParseUnifiedNote(t *testing.T) {
	if fd := parseUnified("--- a\n+++ b\n@@ -1,3 +1,3 @@\n x\n\n-y\n+z\n"); len(fd.lines) != 5 || fd.lines[2].kind != ' ' || fd.lines[2].oldNum != 2 {
		t.Fatalf("an empty context line: %+v", fd.lines)
	}
	fd := parseUnified(binaryDiff("a/x/source-config.xml", "b/x/source-config.xml", "a\x00", "b\x00c"))
	if len(fd.lines) != 1 || fd.lines[0].kind != '\\' || !strings.HasPrefix(fd.lines[0].text, "Binary documents differ") {
		t.Fatalf("parsed %+v", fd.lines)
	}
}

// FuzzReportDiff renders arbitrary pairs of documents: no panic, the page
// holds no markup from the documents, and every marked range is inside its
// line on rune boundaries.
func FuzzReportDiff(f *testing.F) {
	f.Add("<a>\n<b x=\"1\"/>\n</a>\n", "<a>\n<b x=\"2\"/>\n</a>")
	f.Add("é\x00", "è")
	f.Add("", "-- x\n+++ y\n@@ -1 +1 @@\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		fd := parseUnified(unified("a/x", "b/x", a, b, false))
		for _, l := range fd.lines {
			if l.markFrom < 0 || l.markTo > len(l.text) || l.markFrom > l.markTo && l.markTo != 0 {
				t.Fatalf("mark %d..%d outside %q", l.markFrom, l.markTo, l.text)
			}
			if l.markFrom < l.markTo && (!isRuneStart(l.text[l.markFrom]) || l.markTo < len(l.text) && !isRuneStart(l.text[l.markTo])) {
				t.Fatalf("mark %d..%d splits a rune of %q", l.markFrom, l.markTo, l.text)
			}
		}
		sa := &archive.Snapshot{Connectors: []*archive.Connector{{ScriptName: "x", Detail: []byte(`{"name":"X"}`), SourceConfig: []byte(a)}}}
		sb := &archive.Snapshot{Connectors: []*archive.Connector{{ScriptName: "x", Detail: []byte(`{"name":"X"}`), SourceConfig: []byte(b)}}}
		r, err := Compare(sa, sb, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var page, md bytes.Buffer
		if err := WriteHTML(&page, r, ReportOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := WriteMarkdown(&md, r, ReportOptions{MaxBytes: 4096}); err != nil {
			t.Fatal(err)
		}
		// Every '<' on the page opens a tag the writer emits.
		p := page.String()
		for k := strings.IndexByte(p, '<'); k >= 0; k = nextLT(p, k) {
			if !writerTag.MatchString(p[k:min(len(p), k+20)]) {
				t.Fatalf("markup from a document reached the page at %q", p[k:min(len(p), k+40)])
			}
		}
	})
}

// writerTag matches the start of every tag WriteHTML writes.
var writerTag = regexp.MustCompile(`^<(!DOCTYPE html>|/?(html|head|meta|title|style|body|header|h1|h2|p|main|table|thead|tbody|tr|th|td|ul|li|nav|a|span|details|summary|b|code|div|del|ins)[ >])`)

func nextLT(s string, k int) int {
	n := strings.IndexByte(s[k+1:], '<')
	if n < 0 {
		return -1
	}
	return k + 1 + n
}
