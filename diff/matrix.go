package diff

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/connvault/connvault/archive"
)

// A matrix compares any number of operands (tenants, archives, snapshot
// directories) at once: for each connector (by name) and document, which
// operands agree (the same digest) and which differ. `connvault diff A B C`
// prints one. Each operand is reduced to digests as it is read, so memory
// holds a few hashes per document, not the operands.

// MatrixSide is one operand's digests: connector name → document → digest.
type MatrixSide struct {
	Label string
	Docs  map[string]map[string]string
}

// NewMatrixSide starts an empty side.
func NewMatrixSide(label string) *MatrixSide {
	return &MatrixSide{Label: label, Docs: map[string]map[string]string{}}
}

// Add records a connector's digests: its detail's compared fields (the
// volatile ones and the document copies left out, as Compare does) as
// "detail", each document and each locale's translations.
func (s *MatrixSide) Add(c *archive.Connector) error {
	v, err := NewView(c)
	if err != nil {
		return fmt.Errorf("connector %q: %w", c.ScriptName, err)
	}
	name := v.Name
	if name == "" {
		name = c.ScriptName
	}
	docs := map[string]string{}
	skip := append(slices.Clone(VolatileFields), documentFields...)
	var keys []string
	for k := range v.Fields {
		if !slices.Contains(skip, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%q:%s\n", k, v.Fields[k])
	}
	docs["detail"] = hex.EncodeToString(h.Sum(nil))
	put := func(doc string, b []byte) {
		if b != nil {
			sum := sha256.Sum256(b)
			docs[doc] = hex.EncodeToString(sum[:])
		}
	}
	put("source-config", c.SourceConfig)
	put("source-template", c.SourceTemplate)
	put("correlation-config", c.CorrelationConfig)
	for loc, b := range c.Translations {
		put("translations/"+loc, b)
	}
	s.Docs[name] = docs
	return nil
}

// Matrix is the comparison of the sides.
type Matrix struct {
	Operands []string    `json:"operands"`
	Rows     []MatrixRow `json:"rows"`
	// Differ counts the rows where the operands do not all agree.
	Differ int `json:"differ"`
}

// MatrixRow is one connector's document across the operands. Groups gives,
// per operand, which of the row's distinct versions it holds: 1 for the
// first operand's, 2 for the next different one, ...; 0 where the operand
// lacks it.
type MatrixRow struct {
	Connector string `json:"connector"`
	Document  string `json:"document"`
	Groups    []int  `json:"groups"`
	Agree     bool   `json:"agree"`
}

// NewMatrix compares the sides, connectors and documents sorted.
func NewMatrix(sides []*MatrixSide) *Matrix {
	m := &Matrix{Rows: []MatrixRow{}}
	names := map[string]bool{}
	for _, s := range sides {
		m.Operands = append(m.Operands, s.Label)
		for n := range s.Docs {
			names[n] = true
		}
	}
	for _, name := range sortedKeys(names) {
		docs := map[string]bool{}
		for _, s := range sides {
			for d := range s.Docs[name] {
				docs[d] = true
			}
		}
		for _, doc := range sortedKeys(docs) {
			row := MatrixRow{Connector: name, Document: doc, Groups: make([]int, len(sides))}
			var seen []string
			for i, s := range sides {
				sum, ok := s.Docs[name][doc]
				if !ok {
					continue
				}
				g := slices.Index(seen, sum)
				if g < 0 {
					seen = append(seen, sum)
					g = len(seen) - 1
				}
				row.Groups[i] = g + 1
			}
			row.Agree = len(seen) == 1 && !slices.Contains(row.Groups, 0)
			if !row.Agree {
				m.Differ++
			}
			m.Rows = append(m.Rows, row)
		}
	}
	return m
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Equal reports whether every operand holds the same of everything.
func (m *Matrix) Equal() bool { return m.Differ == 0 }

// cell is a row's entry for operand i: "=" the same as the first operand's,
// "A", "B", ... the version it holds when they differ, "-" absent.
func (r MatrixRow) cell(i int) string {
	switch g := r.Groups[i]; {
	case g == 0:
		return "-"
	case r.Agree:
		return "="
	default:
		return string(rune('A' + g - 1))
	}
}

func (m *Matrix) verdict() string {
	switch {
	case m.Equal():
		return fmt.Sprintf("All %d operands agree on everything.", len(m.Operands))
	case m.Differ == 1:
		return "1 document differs between the operands."
	}
	return fmt.Sprintf("%d documents differ between the operands.", m.Differ)
}

const matrixLegend = "A, B, C: the versions of a document (operands with the same letter agree); -: absent."

// WriteText writes the rows that differ as a table, one column per operand
// (all rows with all).
func (m *Matrix) WriteText(w io.Writer, all bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "operands:")
	for i, o := range m.Operands {
		fmt.Fprintf(tw, "  %d\t%s\n", i+1, esc(o))
	}
	fmt.Fprintln(tw, m.verdict())
	if !m.Equal() || all {
		fmt.Fprintln(tw, matrixLegend)
		head := "CONNECTOR\tDOCUMENT"
		for i := range m.Operands {
			head += fmt.Sprintf("\t%d", i+1)
		}
		fmt.Fprintln(tw, head)
		for _, r := range m.Rows {
			if r.Agree && !all {
				continue
			}
			line := esc(r.Connector) + "\t" + r.Document
			for i := range m.Operands {
				line += "\t" + r.cell(i)
			}
			fmt.Fprintln(tw, line)
		}
	}
	return tw.Flush()
}

// WriteJSON writes the matrix as one JSON document.
func (m *Matrix) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Version int `json:"version"`
		*Matrix
		Equal bool `json:"equal"`
	}{1, m, m.Equal()})
}

// WriteMarkdown writes the matrix as a pull-request comment: the operands,
// the verdict and a table of the rows that differ, tenant text in code.
func (m *Matrix) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "## connvault diff: %d operands\n\n", len(m.Operands))
	for i, o := range m.Operands {
		fmt.Fprintf(bw, "%d. %s\n", i+1, mdCode(o))
	}
	fmt.Fprintf(bw, "\n**%s**\n\n", mdText(m.verdict()))
	if !m.Equal() {
		fmt.Fprintf(bw, "%s\n\n| connector | document |", mdText(matrixLegend))
		for i := range m.Operands {
			fmt.Fprintf(bw, " %d |", i+1)
		}
		bw.WriteString("\n|---|---|" + strings.Repeat(":-:|", len(m.Operands)) + "\n")
		for _, r := range m.Rows {
			if r.Agree {
				continue
			}
			fmt.Fprintf(bw, "| %s | %s |", strings.ReplaceAll(mdCode(r.Connector), "|", "\\|"), mdCode(r.Document))
			for i := range m.Operands {
				fmt.Fprintf(bw, " %s |", r.cell(i))
			}
			bw.WriteString("\n")
		}
	}
	return bw.Flush()
}

// WriteHTML writes the matrix as one self-contained page, every connector
// a heading over its documents' rows.
func (m *Matrix) WriteHTML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	e := visibleHTML
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	p("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	p("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n")
	p("<title>connvault diff: %d operands</title>\n<style>%s\ntd.v { text-align: center; font-family: ui-monospace, monospace; }\ntd.v.d { background: var(--del-bg); font-weight: 600; }</style>\n</head>\n<body>\n", len(m.Operands), pageStyle)
	p("<header>\n<h1>connvault diff: %d operands</h1>\n<ol>\n", len(m.Operands))
	for _, o := range m.Operands {
		p("<li><code>%s</code></li>\n", e(o))
	}
	p("</ol>\n</header>\n<main>\n<p class=\"verdict\">%s</p>\n<p>%s</p>\n", e(m.verdict()), e(matrixLegend))
	last := ""
	open := false
	for _, r := range m.Rows {
		if r.Connector != last {
			if open {
				p("</tbody>\n</table>\n</section>\n")
			}
			p("<section>\n<h2>%s</h2>\n<table class=\"summary\">\n<thead><tr><th>document</th>", e(r.Connector))
			for i := range m.Operands {
				p("<th>%d</th>", i+1)
			}
			p("</tr></thead>\n<tbody>\n")
			last, open = r.Connector, true
		}
		p("<tr><th scope=\"row\">%s</th>", e(r.Document))
		for i := range m.Operands {
			class := "v"
			if !r.Agree {
				class += " d"
			}
			p("<td class=\"%s\">%s</td>", class, html.EscapeString(r.cell(i)))
		}
		p("</tr>\n")
	}
	if open {
		p("</tbody>\n</table>\n</section>\n")
	}
	p("</main>\n</body>\n</html>\n")
	return bw.Flush()
}
