// Command faults is connvault's fault suite. It exports and
// restores sandbox tenants under each fault kind the sandbox can inject
// (5xx answers, dropped connections, 429 storms with Retry-After, short-lived
// tokens, latency spikes, answers that stall mid-body) and under all of them
// at once, checks every run against a fault-free one, then plays each hostile
// server (hostile.go: answers about another connector, redirected
// writes, endless paging, a server that never answers, ...) and checks the
// safe outcome, and writes the figures to docs/reliability.md:
//
//	go run ./tools/faults
//
// An export under faults must give the fault-free archive's entries and
// content digest; a restore under faults, re-run until a run has nothing left
// to write, must leave the tenant as a fault-free restore does, with no
// connector created twice. Anything else counts as lost, and the command
// exits 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("faults", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := defaultConfig()
	out := fs.String("o", "", "write the report to `FILE` (default: docs/reliability.md of the module)")
	fs.IntVar(&c.Connectors, "connectors", c.Connectors, "synthetic connectors in the source tenant")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "seed for tenant content and fault dice")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || c.Connectors < 1 {
		fmt.Fprintln(stderr, "faults: usage: go run ./tools/faults [-o FILE] [-connectors N] [-seed N]")
		return 2
	}
	if *out == "" {
		root, err := moduleRoot()
		if err != nil {
			fmt.Fprintf(stderr, "faults: %v; give -o FILE\n", err)
			return 1
		}
		*out = filepath.Join(root, "docs", "reliability.md")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c.Log = func(format string, a ...any) { fmt.Fprintf(stderr, "faults: "+format+"\n", a...) }

	start := time.Now()
	rows, err := Run(ctx, c)
	if err != nil {
		fmt.Fprintf(stderr, "faults: %v\n", err)
		return 1
	}
	hdir, err := os.MkdirTemp("", "connvault-hostile-")
	if err != nil {
		fmt.Fprintf(stderr, "faults: %v\n", err)
		return 1
	}
	defer os.RemoveAll(hdir)
	hrows := runHostile(ctx, hdir, c.Log)
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintf(stderr, "faults: %v\n", err)
		return 1
	}
	trust, err := runTrust(ctx, root, c.Log)
	if err != nil {
		fmt.Fprintf(stderr, "faults: %v\n", err)
		return 1
	}
	report := withHostile(render(c, rows, time.Since(start)), hrows) + trustSection(trust)
	if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
		fmt.Fprintf(stderr, "faults: writing the report: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, table(rows))
	fmt.Fprint(stdout, "\n"+hostileTable(hrows))
	fmt.Fprintf(stderr, "faults: wrote %s in %.0fs\n", *out, time.Since(start).Seconds())
	if err := errors.Join(check(rows), checkHostile(hrows), checkTrust(trust)); err != nil {
		fmt.Fprintf(stderr, "faults: %v\n", err)
		return 1
	}
	return 0
}

func defaultConfig() config {
	return config{
		Connectors: 40, Locales: 3, DocSize: 4 << 10, Seed: 7,
		TokenTTL: 5 * time.Second, Slow: 120 * time.Millisecond,
		RateLimit: 100, RateWindow: time.Second, Spike: time.Second,
		StallShare: 0.01, Idle: 500 * time.Millisecond, MaxRuns: 5,
	}
}

// check fails when any run lost something or a fault kind was not injected
// at all (a row without faults proves nothing).
func check(rows []row) error {
	var bad []string
	for _, r := range rows[1:] {
		if r.Lost > 0 {
			bad = append(bad, fmt.Sprintf("%s: lost %d (%s)", r.Name, r.Lost, strings.Join(r.LostWhat, "; ")))
		}
		if r.injected() == 0 {
			bad = append(bad, r.Name+": no fault was injected")
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", errLost, strings.Join(bad, "; "))
	}
	return nil
}

// moduleRoot finds the directory of go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// table is the report's Markdown table.
func table(rows []row) string {
	var b strings.Builder
	b.WriteString("| fault kind | API layout | settings | runs | requests | retries | faults injected | connectors | documents | lost | result |\n")
	b.WriteString("|---|---|---|--:|--:|--:|---|--:|--:|--:|---|\n")
	for _, r := range rows {
		runs := fmt.Sprint(r.Runs)
		if r.FailedRuns > 0 {
			runs = fmt.Sprintf("%d (%d re-run)", r.Runs, r.FailedRuns)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %d | %s | %d / %d | %d / %d | %d | %s |\n",
			r.Name, r.Layout, r.Settings, runs, r.Requests, r.Retries, faultText(r.Faults),
			r.Connectors, r.RestoredConns, r.Documents, r.RestoredDocs, r.Lost, r.result())
	}
	return b.String()
}

func render(c config, rows []row, took time.Duration) string {
	var b strings.Builder
	b.WriteString(`# Reliability

connvault is meant to run unattended against a gateway that misbehaves. This page is
generated by the fault suite; regenerate it with

    go run ./tools/faults

It exports a sandbox tenant and restores the archive into an empty one under each fault
kind the sandbox can inject, alone and all together, and compares every run with a
fault-free one (the first row):

- **export**: one run must succeed, verify, and give the fault-free archive's entries
  byte for byte (same content digest);
- **restore**: ` + "`restore --yes`" + ` is run again until a run finds nothing left to write
  (at most ` + fmt.Sprint(c.MaxRuns) + ` runs); the tenant must then equal the archive and the tenant a
  fault-free restore leaves, and no connector may have been created twice.

Anything missing, extra, different or duplicated counts as **lost**; the command exits 1
if anything is. Requests are what the tenants received (token requests included), retries
what the clients repeated, faults what was injected: ` + "`500`/`503`" + ` answers, dropped
connections (` + "`drop`" + `), ` + "`429`" + ` answers with Retry-After, ` + "`401`" + ` for expired
tokens, held requests (` + "`spike`" + `), answers stalled mid-body (` + "`stall`" + `) and, where tokens
are short-lived, the token fetches after each run's first (` + "`token refetch`" + `: renewals before
expiry, plus any fetch repeated after a token-endpoint fault).
Connectors and documents (XML documents and translations) are given as exported / restored.
Every scenario runs in the API layout users get by default (` + "`auto`" + `, which picks the per-service
` + "`/connectors/v1`" + ` on a tenant serving it); all the faults at once run again in the yearly ` + "`v3`" + ` layout,
whose paths differ, and are compared with the same fault-free baseline.

`)
	fmt.Fprintf(&b, "Tenant: %d synthetic custom connectors, %d locales, %d-byte documents, seed %d. Clients unpaced, 8 workers for reads and 4 connectors at a time for writes.\n\n",
		c.Connectors, c.Locales, c.DocSize, c.Seed)
	b.WriteString(table(rows))
	lost := 0
	for _, r := range rows {
		lost += r.Lost
	}
	fmt.Fprintf(&b, "\nGenerated %s with %s on %d CPUs in %.0f s. Lost in total: %d.\n",
		time.Now().UTC().Format("2006-01-02"), runtime.Version(), runtime.NumCPU(), took.Seconds(), lost)
	b.WriteString(`
Request and retry counts vary from run to run with timing (429 storms, token renewals);
the content checks do not.

## Also covered by ` + "`go test -race ./...`" + `

- ` + "`TestFaultsLoseNothing`" + ` (reliability_test.go): a smaller run of the same checks through the
  CLI itself, with every fault kind at once.
- ` + "`TestHostileServerAnswers`" + `: malformed JSON (detail and list), a wrong content type, an HTML
  error page, an HTML login page at 200, an endless body (capped at 128 MiB), a body that
  stalls mid-way (idle timeout), a connection cut mid-body, and a redirect to another host
  (refused: the other host receives nothing, so never the token). Each ends with exit 1,
  one error line naming the connector and the request, and no archive or temporary file.
- ` + "`TestBrokenArchiveFixtures`" + `, ` + "`TestRandomCorruption`" + `, ` + "`TestBadFlags`" + `, ` + "`TestBadMappingFiles`" + `
  (hostile_archive_test.go): every broken fixture through ls, verify, diff and restore;
  randomly damaged archives; malformed command lines and mapping files.
- ` + "`TestConcurrentExportsSameDirectory`" + `, ` + "`TestExportWhilePruneRuns`" + `: overlapping runs on one
  directory lose nothing.
- hostile_server_test.go, through the CLI against sandbox tenants playing the hostile part,
  the defect-1 to -5 guards each in the default layout (auto → /connectors/v1) and in v3:
  ` + "`TestRestoreCreateAnsweredWithAnotherConnector`" + ` (200 with another connector, 302 to one, a second
  create given the first one's scriptName: refused, the other connector untouched, exit not 0),
  ` + "`TestRestoreWriteAnsweredWithRedirect`" + ` (every PUT 303: nothing reported written),
  ` + "`TestRestoreLostCreateOfHiddenConnector`" + ` (one create), ` + "`TestExportRefusesDetailOfAnotherConnector`" + `,
  ` + "`TestEndlessPagingStops`" + ` (export and restore: 2 pages, nothing left), ` + "`TestLargeDocumentRoundTrips`" + `
  (a 17 MiB document through export, verify, ls, restore and the undo of a restore),
  ` + "`TestKeepGoingPastUnarchivableScriptNames`" + `, ` + "`TestServerTextReachesTerminalEscaped`" + ` (ESC, CR, NUL in
  names through export, ls, diff and the error line) and ` + "`TestSilentServerSaysWhatItRetries`" + `; in
  apiclient (the redirect, wrong-connector and lost-create guards in /connectors/v1 and v3)
  ` + "`TestRotatedTokenRedacted`" + `, ` + "`TestRedactShortSecrets`" + ` and the fuzz targets
  ` + "`FuzzPageAll`" + ` (paging), ` + "`FuzzCreateAnswer`" + ` (create/answer matching) and ` + "`FuzzTopLevelString`" + `;
  ` + "`FuzzEscape`" + ` in internal/termtext.
- ` + "`TestSecretsNeverLeak`" + `: export, diff and restore at debug level, in text and JSON logs, with
  servers that echo the credentials back, and an interrupted run: neither the client secret
  nor any issued token appears in any output, archive (raw or decompressed) or leftover
  file; archives are 0600 and no temporary file survives.
`)
	return b.String()
}
