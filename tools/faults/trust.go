package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
)

// The places where a person, a copied configuration or a clock comes in, and
// connvault must not do the wrong thing silently: each case with what the
// tool does and the tests that show it, run here with `go test` so the table
// says their outcome.
type trustCase struct {
	Case, Does string
	Tests      []trustTest
}

type trustTest struct{ Pkg, Name string }

var trustCases = []trustCase{
	{"A byte that is not UTF-8, a document in ISO-8859-1", "shown as text: decoded as its XML declaration says, or invalid bytes as \\xNN, with a note; only a NUL makes a document binary (both sides' size and SHA-256)",
		[]trustTest{{"./command", "TestReportsShowEveryChange"}, {"./diff", "TestTextOutputIsTerminalSafe"}}},
	{"A lone CR, bidirectional overrides, zero-width characters", "escaped visibly in text, Markdown and HTML alike",
		[]trustTest{{"./command", "TestReportsShowEveryChange"}, {"./internal/termtext", "TestEscapeShowsInvisibleAndLineEnds"}}},
	{"A connector name with @someone, #123 or a URL", "in code in the Markdown report, where GitHub makes no mention, link or reference",
		[]trustTest{{"./command", "TestMarkdownReportKeepsTenantTextInert"}}},
	{"CRLF line ends from a Windows checkout", "export --format dir writes a .gitattributes (-text); reports say when documents differ only in line ends and show the CRs",
		[]trustTest{{"./command", "TestReportsShowEveryChange"}, {"./archive", "TestDirRoundTripFixture"}, {"./archive", "TestDirKeepsUsersGitAttributes"}}},
	{"Plain http:// or a password in the base URL", "refused before any request (exit 2, naming the setting and its origin) unless --allow-insecure-http; doctor fails a transport check",
		[]trustTest{{"./command", "TestBaseURLThatLeaksTheSecretRefused"}, {"./doctor", "TestTransportCheckFailsPlainHTTP"}}},
	{"A protected tenant under another spelling or address", "addresses compared canonically; the identity its token names is recorded on first contact and protects it at any address",
		[]trustTest{{"./command", "TestProtectedTenantUnderEverySpelling"}, {"./command", "TestProtectedTenantKnownByItsToken"}, {"./settings", "TestSameBaseURLAcrossSpellings"}}},
	{"A base URL that is not a SailPoint API host", "said loudly (--allow-host or allowHost vouch for a proxy); the documented workflows read the protected branch's tenants file",
		[]trustTest{{"./command", "TestForeignHostIsSaidLoudly"}, {"./examples", "TestDocsShowEveryExampleVerbatim"}}},
	{"Twenty tenants add at once, a symlinked or group-writable tenants file", "a locked read-modify-write keeps all; written through the link; refused when others can write it, warned when they can read it",
		[]trustTest{{"./command", "TestTenantsAddAtOnceKeepsEveryTenant"}, {"./command", "TestTenantsAddWritesThroughASymlink"}, {"./command", "TestTenantsFileWritableByOthersRefused"}}},
	{"A secret with a trailing newline, a BOM; --client-secret", "surrounding blanks and a BOM stripped (said at debug level); the flag warns once",
		[]trustTest{{"./command", "TestSecretAsUsersStoreIt"}, {"./command", "TestClientSecretFlagWarnsOnce"}}},
	{"Archives dated 2099 by a wrong clock", "kept, take no keep slot, named in a warning",
		[]trustTest{{"./retention", "TestPruneFutureArchivesTakeNoKeepSlot"}, {"./command", "TestPruneCLIWarnsAboutFutureAndFakeArchives"}}},
	{"Empty files named like the newest archives", "only a file whose manifest reads takes a keep slot; the rest are left alone and reported",
		[]trustTest{{"./retention", "TestPruneGivesNoKeepSlotToFilesThatAreNotArchives"}, {"./command", "TestPruneCLIWarnsAboutFutureAndFakeArchives"}}},
	{"A tenant that suddenly lists nothing", "exit 1, nothing written or removed, unless --allow-empty; a drop below half is a warning in the log and --json",
		[]trustTest{{"./command", "TestExportOfAnEmptyListKeepsTheSnapshot"}}},
	{"SIGTERM or SIGKILL in the write phase of export --format dir", "an interruption lets the write phase finish; after a SIGKILL verify names the interrupted export and the next export repairs it",
		[]trustTest{{"./archive", "TestDirWritePhaseFinishesWhenInterrupted"}, {"./archive", "TestDirInterruptedWhileWritingIsNamed"}, {"./command", "TestVerifyNamesAnInterruptedDirectoryExport"}}},
	{"X-Total-Count: 0 on pages that list connectors", "a warning; paging goes on while pages bring new connectors",
		[]trustTest{{"./command", "TestExportThroughALyingCount"}, {"./apiclient", "TestPageAllWarnsOnceAboutALyingCount"}}},
	{"A BOM in detail.json or manifest.json", "named as a byte-order mark",
		[]trustTest{{"./command", "TestByteOrderMarkIsNamed"}}},
	{"scriptNames that differ only in case; a hard-linked file", "warned at export, refused on a file system without case; a hard link is refused as links are",
		[]trustTest{{"./archive", "TestCaseClashesNamedAndRefusedWithoutCase"}, {"./command", "TestHardLinkedFileInASnapshotRefused"}}},
	{"A long export whose stderr is not a terminal", "logs done/total, rate and expected end at a steady interval",
		[]trustTest{{"./command", "TestExportWithoutTerminalLogsProgress"}}},
}

// runTrust runs every test the cases name, one `go test -json` per package
// from the module root, and returns each test's outcome ("pass", "fail",
// "skip", or "not run").
func runTrust(ctx context.Context, root string, log func(string, ...any)) (map[trustTest]string, error) {
	byPkg := map[string][]string{}
	for _, c := range trustCases {
		for _, t := range c.Tests {
			byPkg[t.Pkg] = append(byPkg[t.Pkg], t.Name)
		}
	}
	pkgs := make([]string, 0, len(byPkg))
	for p := range byPkg {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	out := map[trustTest]string{}
	for _, pkg := range pkgs {
		names := byPkg[pkg]
		log("trust: go test %s (%d tests)", pkg, len(names))
		cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-json", "-run", "^("+strings.Join(names, "|")+")$", pkg)
		cmd.Dir = root
		raw, _ := cmd.Output() // a failing test exits 1; the events say which
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var ev struct{ Action, Test string }
			if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Test == "" || strings.Contains(ev.Test, "/") {
				continue
			}
			switch ev.Action {
			case "pass", "fail", "skip":
				out[trustTest{pkg, ev.Test}] = ev.Action
			}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// trustTable is the report's table of the cases, one row each, with every
// named test's outcome.
func trustTable(results map[trustTest]string) string {
	var b strings.Builder
	b.WriteString("| case | what connvault does | tests (package: outcome) |\n|---|---|---|\n")
	for _, c := range trustCases {
		var tests []string
		for _, t := range c.Tests {
			outcome := results[t]
			if outcome == "" {
				outcome = "not run"
			}
			tests = append(tests, fmt.Sprintf("`%s` (%s: %s)", t.Name, strings.TrimPrefix(t.Pkg, "./"), outcome))
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Case, c.Does, strings.Join(tests, ", "))
	}
	return b.String()
}

// checkTrust fails when a case's test did not pass.
func checkTrust(results map[trustTest]string) error {
	var bad []string
	for _, c := range trustCases {
		for _, t := range c.Tests {
			if results[t] != "pass" {
				bad = append(bad, fmt.Sprintf("%s %s: %s", t.Pkg, t.Name, map[bool]string{true: results[t], false: "not run"}[results[t] != ""]))
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("trust cases: %s", strings.Join(bad, "; "))
	}
	return nil
}

// trustSection is the report's section of the cases.
func trustSection(results map[trustTest]string) string {
	return "\n## Where people, copied configurations and clocks come in\n\n" +
		"Each case once made connvault do the wrong thing silently; the tests named reproduce it through the command line\n" +
		"(or the package that owns the rule) and were run by this suite with `go test`, with the outcome shown.\n\n" +
		trustTable(results)
}
