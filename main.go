// Command connvault backs up, compares and restores the custom connectors of
// SailPoint Identity Security Cloud tenants. The commands live in package
// command; this file only runs them and exits with their code.
package main

import (
	"os"

	"github.com/connvault/connvault/command"
)

// version and buildDate may be stamped at build time with -ldflags
// "-X main.version=v1.2.3 -X main.buildDate=2026-12-05T00:00:00Z".
var (
	version   = ""
	buildDate = ""
)

func main() {
	command.SetBuild(version, buildDate)
	os.Exit(command.Main())
}
