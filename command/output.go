package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/connvault/connvault/settings"
)

// jsonLines turns every line written to it into a JSON log record on w; a
// line that already is a JSON object (slog's JSON handler) passes as it is.
type jsonLines struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func newJSONLines(w io.Writer) *jsonLines { return &jsonLines{w: w} }

func (j *jsonLines) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.buf = append(j.buf, p...)
	for {
		i := bytes.IndexByte(j.buf, '\n')
		if i < 0 {
			break
		}
		line := string(j.buf[:i])
		j.buf = j.buf[i+1:]
		j.emit(line)
	}
	return len(p), nil
}

// Flush writes a last line without its newline (a prompt, say).
func (j *jsonLines) Flush() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.buf) > 0 {
		j.emit(string(j.buf))
		j.buf = nil
	}
}

func (j *jsonLines) emit(line string) {
	line = strings.TrimRight(line, "\r")
	if strings.TrimSpace(line) == "" {
		return
	}
	if strings.HasPrefix(line, "{") && json.Valid([]byte(line)) {
		_, _ = io.WriteString(j.w, line+"\n")
		return
	}
	level := "INFO"
	msg := strings.TrimPrefix(line, "connvault: ")
	for _, l := range []struct{ prefix, level string }{{"warn: ", "WARN"}, {"error: ", "ERROR"}, {"debug: ", "DEBUG"}} {
		if rest, ok := strings.CutPrefix(msg, l.prefix); ok {
			msg, level = rest, l.level
			break
		}
	}
	writeJSONLine(j.w, level, msg, nil)
}

// writeJSONLine writes one record shaped as slog's JSON handler writes them.
func writeJSONLine(w io.Writer, level, msg string, attrs map[string]any) {
	rec := map[string]any{"time": time.Now().Format(time.RFC3339Nano), "level": level, "msg": msg}
	for k, v := range attrs {
		rec[k] = v
	}
	b, _ := json.Marshal(rec)
	_, _ = w.Write(append(b, '\n'))
}

// routeStdLog sends the standard library's logger (which third-party
// packages, and slog's default, write through) to w with connvault's prefix,
// and returns what puts it back.
func routeStdLog(w io.Writer) func() {
	out, flags, prefix := log.Writer(), log.Flags(), log.Prefix()
	log.SetOutput(w)
	log.SetFlags(0)
	log.SetPrefix("connvault: ")
	return func() {
		log.SetOutput(out)
		log.SetFlags(flags)
		log.SetPrefix(prefix)
	}
}

// logFormatOf is --log-format as the command line or the environment give
// it, read before the command runs so that even a usage error is logged in
// the right format. The command resolves it again with everything else.
func logFormatOf(args []string) string {
	if v, ok := flagValue(args, "log-format"); ok {
		return v
	}
	for _, sp := range settings.Specs {
		if sp.Flag == "log-format" {
			return os.Getenv(sp.Env)
		}
	}
	return ""
}

// flagValue is the last value of --name (or -name) on the command line.
func flagValue(args []string, name string) (string, bool) {
	val, found := "", false
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		for _, p := range []string{"--" + name, "-" + name} {
			if a == p && i+1 < len(args) {
				val, found = args[i+1], true
			} else if v, ok := strings.CutPrefix(a, p+"="); ok {
				val, found = v, true
			}
		}
	}
	return val, found
}

// hasFlag reports whether the boolean --name is given (and not =false).
func hasFlag(args []string, name string) bool {
	on := false
	for _, a := range args[1:] {
		if a == "--" {
			break
		}
		switch a {
		case "--" + name, "-" + name, "--" + name + "=true", "-" + name + "=true":
			on = true
		case "--" + name + "=false", "-" + name + "=false":
			on = false
		}
	}
	return on
}

// writeJSON prints v as indented JSON: the --json output of every command.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// plural is "1 archive", "2 archives".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
