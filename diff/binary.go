package diff

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// isBinary reports whether a document is not text: it holds a NUL byte or
// is not valid UTF-8 (as git decides, NUL first). Its lines would mean
// nothing in a unified diff, and its bytes must not reach a terminal.
func isBinary(s string) bool {
	return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s)
}

// binaryDiff marks a change of a binary document instead of showing its
// bytes: the ---/+++ headers and one line with both sizes.
func binaryDiff(la, lb, a, b string) string {
	return fmt.Sprintf("--- %s\n+++ %s\nBinary documents differ (%d bytes in a, %d in b)\n", la, lb, len(a), len(b))
}
