package command

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/internal/termtext"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check archives' integrity without a tenant; lists every problem",
		ArgsUsage: "ARCHIVE|DIR...",
		Description: "Reads each archive completely and checks it against its manifest: format and version, entry\n" +
			"names, sizes and SHA-256 hashes, nothing missing or extra. A partial archive (an export with\n" +
			"--keep-going that lost connectors) is intact but incomplete, and verify says so. A snapshot\n" +
			"directory is checked for a damaged layout, and the files changed since its export are listed\n" +
			"(they are not problems).\n" +
			"Exit codes: 0 every archive intact, 1 some archive or directory has a problem, 2 usage (an operand names nothing).",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the results as JSON"},
		},
		Action: runVerify,
	}
}

type verifyResult struct {
	Archive       string   `json:"archive"`
	OK            bool     `json:"ok"`
	Connectors    int      `json:"connectors,omitempty"`
	ContentDigest string   `json:"contentDigest,omitempty"`
	Problems      []string `json:"problems,omitempty"`
	// Partial is set for an intact archive of an export that lost
	// connectors (--keep-going); Skipped says which and why.
	Partial bool              `json:"partial"`
	Skipped []archive.Skipped `json:"skipped,omitempty"`
	// Changes lists, for a snapshot directory, the files edited, added or
	// removed since the export: not problems (see verifyDirArg).
	Changes []archive.FileChange `json:"changes,omitempty"`
}

func runVerify(c *cli.Context) error {
	if c.NArg() == 0 {
		return usagef("verify needs at least one archive file")
	}
	for _, path := range c.Args().Slice() {
		if err := mustExist(c.Context, path); err != nil {
			return err
		}
	}
	var results []verifyResult
	bad := 0
	for _, path := range c.Args().Slice() {
		if res, ok := verifyDirArg(path); ok {
			if !res.OK {
				bad++
			}
			results = append(results, res)
			continue
		}
		res := verifyResult{Archive: path}
		for _, p := range archivestore.Verify(c.Context, path) {
			res.Problems = append(res.Problems, p.Error())
		}
		res.OK = len(res.Problems) == 0
		if res.OK {
			if m, err := archivestore.ReadManifest(c.Context, path); err == nil {
				res.Connectors, res.ContentDigest = m.ConnectorCount, m.ContentDigest
				res.Partial, res.Skipped = m.Partial, m.Skipped
			}
		} else {
			bad++
		}
		results = append(results, res)
	}
	out := c.App.Writer
	if c.Bool("json") {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			if r.OK {
				if r.Partial {
					fmt.Fprintf(out, "%s: ok but partial: %d connectors, %s; the export lost %d:\n", termtext.Escape(r.Archive), r.Connectors, r.ContentDigest, len(r.Skipped))
					for _, sk := range r.Skipped {
						fmt.Fprintf(out, "  - %s: %s\n", termtext.Escape(sk.ScriptName), termtext.Escape(sk.Reason))
					}
				} else {
					fmt.Fprintf(out, "%s: ok (%d connectors, %s)\n", termtext.Escape(r.Archive), r.Connectors, r.ContentDigest)
				}
				if len(r.Changes) > 0 {
					fmt.Fprintf(out, "  %d file(s) changed since the export:\n", len(r.Changes))
				}
				for _, ch := range r.Changes {
					fmt.Fprintf(out, "  %-8s %s\n", ch.Change, termtext.Escape(ch.Path))
				}
				continue
			}
			fmt.Fprintf(out, "%s: %d problem(s)\n", termtext.Escape(r.Archive), len(r.Problems))
			for _, p := range r.Problems {
				fmt.Fprintf(out, "  - %s\n", termtext.Escape(p))
			}
		}
	}
	if bad > 0 {
		msg := fmt.Sprintf("%d of %d archive(s) failed verification", bad, len(results))
		fmt.Fprintln(c.App.ErrWriter, "connvault: "+msg)
		return &quietError{code: exitError, msg: msg}
	}
	return nil
}
