package command

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and buildDate are what main stamped (-ldflags "-X
// main.version=v1.2.3 -X main.buildDate=2026-12-05T00:00:00Z", handed over by
// SetBuild); otherwise they come from the build information Go records
// (module version, VCS revision and time).
var (
	version   = ""
	buildDate = ""
)

// SetBuild records the version and build date stamped into package main at
// link time; empty values leave the build information's.
func SetBuild(v, date string) {
	version, buildDate = v, date
}

// buildInfo is what --version prints.
type buildInfo struct {
	Version, Commit, Date, GoVersion string
	Modified                         bool
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Date: buildDate, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
		if info.GoVersion != "" {
			b.GoVersion = info.GoVersion
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}

// String is the --version line: "v1.2.3 (commit 0123abcd, built
// 2026-12-05T00:00:00Z, go1.26.0)".
func (b buildInfo) String() string {
	commit := b.Commit
	if commit == "" {
		commit = "unknown"
	} else if len(commit) > 12 {
		commit = commit[:12]
	}
	if b.Modified {
		commit += "+modified"
	}
	date := b.Date
	if date == "" {
		date = "unknown"
	}
	return fmt.Sprintf("%s (commit %s, built %s, %s)", b.Version, commit, date, b.GoVersion)
}

// toolVersion is the version recorded in manifests and the User-Agent.
func toolVersion() string { return readBuildInfo().Version }
