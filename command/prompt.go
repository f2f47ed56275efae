package command

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// confirm asks a yes/no question on w and reads the answer from r; only an
// explicit yes counts. Ctrl-C at the prompt (ctx cancelled) returns at once
// with the context's error, whatever the terminal is doing: the read goes on
// in the background until the process ends.
func confirm(ctx context.Context, r io.Reader, w io.Writer, question string) (bool, error) {
	fmt.Fprint(w, question)
	type answer struct {
		line string
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		got <- answer{line, err}
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(w)
		return false, fmt.Errorf("interrupted at the prompt, nothing was written: %w", ctx.Err())
	case a := <-got:
		if a.err != nil && !errors.Is(a.err, io.EOF) {
			return false, fmt.Errorf("reading the answer: %w", a.err)
		}
		return isYes(a.line), nil
	}
}

// isYes accepts y and yes in any case, surrounded by blanks.
func isYes(answer string) bool {
	a := strings.ToLower(strings.TrimSpace(answer))
	return a == "y" || a == "yes"
}
