package iocount

import (
	"bytes"
	"errors"
	"testing"
)

// shortWriter accepts at most max bytes a call and then fails.
type shortWriter struct{ max int }

func (s shortWriter) Write(p []byte) (int, error) {
	if len(p) > s.max {
		return s.max, errors.New("short write")
	}
	return len(p), nil
}

func TestWriterCountsWhatWasAccepted(t *testing.T) {
	var buf bytes.Buffer
	c := &Writer{W: &buf}
	for _, s := range []string{"abc", "", "defgh"} {
		if _, err := c.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if c.N != 8 || buf.String() != "abcdefgh" {
		t.Errorf("N = %d, wrote %q; want 8 and \"abcdefgh\"", c.N, buf.String())
	}
	s := &Writer{W: shortWriter{max: 2}}
	n, err := s.Write([]byte("hello"))
	if err == nil || n != 2 || s.N != 2 {
		t.Errorf("short write: n %d, err %v, N %d; want 2, an error, 2", n, err, s.N)
	}
}
