package doctor

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for a person: one line per check, what to do
// under each warning and failure, and the verdict.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "connvault doctor: %s\n", r.BaseURL)
	for _, ch := range r.Checks {
		fmt.Fprintf(&b, "  %-5s %-19s %s\n", strings.ToUpper(ch.Status), ch.Name, ch.Detail)
		if ch.Fix != "" {
			fmt.Fprintf(&b, "        %-19s what to do: %s\n", "", ch.Fix)
		}
	}
	if r.OK {
		b.WriteString("result: export and restore can work with these settings\n")
	} else {
		var failed []string
		for _, ch := range r.Checks {
			if ch.Status == Fail {
				failed = append(failed, ch.Name)
			}
		}
		fmt.Fprintf(&b, "result: export or restore cannot work until this is fixed: %s\n", strings.Join(failed, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
