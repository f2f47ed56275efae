package doctor

import (
	"fmt"
	"io"
	"strings"

	"github.com/connvault/connvault/internal/termtext"
)

// WriteText writes the report for a person: one line per check, what to do
// under each warning and failure, and the verdict. Details quote what the
// server chose (scriptNames, messages), so they are escaped for the
// terminal as every other command's output is.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "connvault doctor: %s\n", termtext.Escape(r.BaseURL))
	for _, ch := range r.Checks {
		fmt.Fprintf(&b, "  %-5s %-19s %s\n", strings.ToUpper(ch.Status), ch.Name, termtext.Escape(ch.Detail))
		if ch.Fix != "" {
			fmt.Fprintf(&b, "        %-19s what to do: %s\n", "", termtext.Escape(ch.Fix))
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
