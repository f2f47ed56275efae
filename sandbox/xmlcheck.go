package sandbox

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
)

// checkWellFormed reports whether data is one well-formed XML document. The
// decoder is used only to check; stored bytes are never re-serialised, since
// encoding/xml loses namespace prefixes, CDATA sections and comments.
func checkWellFormed(data []byte) error {
	// A UTF-8 byte order mark is allowed before the document; the decoder
	// would take it for text. The stored bytes keep it.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = charsetReader
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots > 1 {
					return fmt.Errorf("XML syntax error on line %d: more than one root element (<%s>)", lineOf(d, data), tok.Name.Local)
				}
			}
			depth++
			// encoding/xml does not reject repeated attributes; XML does.
			seen := make(map[xml.Name]bool, len(tok.Attr))
			for _, a := range tok.Attr {
				if seen[a.Name] {
					return fmt.Errorf("XML syntax error on line %d: attribute %s repeated in <%s>", lineOf(d, data), a.Name.Local, tok.Name.Local)
				}
				seen[a.Name] = true
			}
		case xml.EndElement:
			depth--
		case xml.Directive:
			// Entities declared in an internal DTD subset are legal in the
			// body; the decoder only knows the five predefined ones.
			for _, m := range entityDecl.FindAllSubmatch(tok, -1) {
				if d.Entity == nil {
					d.Entity = map[string]string{}
				}
				d.Entity[string(m[1])] = ""
			}
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(tok)) > 0 {
				return fmt.Errorf("XML syntax error on line %d: text outside the root element", lineOf(d, data))
			}
		}
	}
	if roots == 0 {
		return errors.New("XML syntax error: no root element")
	}
	return nil
}

var entityDecl = regexp.MustCompile(`<!ENTITY\s+([A-Za-z_:][-A-Za-z0-9._:]*)\s`)

func lineOf(d *xml.Decoder, data []byte) int {
	off := d.InputOffset()
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// charsetReader accepts the single-byte encodings connector XML declares in
// practice; anything else is reported rather than guessed.
func charsetReader(charset string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return in, nil
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1":
		b, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(b))
		for _, c := range b {
			out = utf8.AppendRune(out, rune(c))
		}
		return bytes.NewReader(out), nil
	}
	return nil, fmt.Errorf("unsupported XML encoding %q; use UTF-8", charset)
}
