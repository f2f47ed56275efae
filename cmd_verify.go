package main

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
			"names, sizes and SHA-256 hashes, nothing missing or extra. A snapshot directory is checked for a\n" +
			"damaged layout, and the files changed since its export are listed (they are not problems).\n" +
			"Exit code 1 when any archive or directory has a problem.",
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
	// Changes lists, for a snapshot directory, the files edited, added or
	// removed since the export: not problems (see verifyDirArg).
	Changes []archive.FileChange `json:"changes,omitempty"`
}

func runVerify(c *cli.Context) error {
	if c.NArg() == 0 {
		return usagef("verify needs at least one archive file")
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
				fmt.Fprintf(out, "%s: ok (%d connectors, %s)", termtext.Escape(r.Archive), r.Connectors, r.ContentDigest)
				if len(r.Changes) > 0 {
					fmt.Fprintf(out, "; %d file(s) changed since the export:", len(r.Changes))
				}
				fmt.Fprintln(out)
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
		fmt.Fprintf(c.App.ErrWriter, "connvault: %d of %d archive(s) failed verification\n", bad, len(results))
		return &quietError{code: exitError}
	}
	return nil
}
