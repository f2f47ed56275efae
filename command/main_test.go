package command

import (
	"fmt"
	"os"
	"testing"
)

// testTemp is a directory for the whole test binary's files (the secret
// files of tenantArgs), removed when the tests end.
var testTemp string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "connvault-command-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testTemp = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
