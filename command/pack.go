package command

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/storage"
	"github.com/connvault/connvault/workflow"
)

// The directory form of a snapshot on the command line (docs/gitops.md):
// export --format dir, pack, unpack, and verify's view of a directory.

func packCommand() *cli.Command {
	return &cli.Command{
		Name:      "pack",
		Usage:     "turn a snapshot directory into an archive",
		ArgsUsage: "DIR ARCHIVE",
		Description: "Writes the directory's connectors as they are (edited or not) into a new .tar.zst archive (a file\n" +
			"or an object URL), with the directory's source, selection and skipped connectors. An unedited\n" +
			"directory gives the content digest of the archive it was exported or unpacked from.\n" +
			"Exit codes: 0 written, 1 error (not a snapshot directory, a damaged layout), 2 usage.",
		Action: runPack,
	}
}

func unpackCommand() *cli.Command {
	return &cli.Command{
		Name:      "unpack",
		Usage:     "turn an archive into a snapshot directory",
		ArgsUsage: "ARCHIVE DIR",
		Description: "Checks the archive and writes its connectors into DIR as export --format dir does: only files whose\n" +
			"content differs are written, connectors not in the archive are removed from DIR/connectors, and\n" +
			"nothing outside DIR/connectors and DIR/manifest.json is touched.\n" +
			"Exit codes: 0 written, 1 error (a damaged archive: DIR is left as it was), 2 usage.",
		Action: runUnpack,
	}
}

func runPack(c *cli.Context) error {
	if c.NArg() != 2 {
		return usagef("pack needs a snapshot directory and an archive to write, got %d arguments", c.NArg())
	}
	s, err := newSession(c)
	if err != nil {
		return err
	}
	dir, out := c.Args().Get(0), c.Args().Get(1)
	if err := mustExist(c.Context, dir); err != nil {
		return err
	}
	if p, ok := storage.Local(dir); ok && !archive.IsDir(p) && looksLikeArchive(dir) {
		if _, err := os.Stat(p); err == nil {
			return usagef("pack %s: it is an archive, not a snapshot directory; to write it out as a directory, did you mean `connvault unpack %s %s`?", dir, dir, out)
		}
	}
	if p, ok := storage.Local(out); ok && archive.IsDir(p) {
		return usagef("pack into %s: it is a directory, and pack writes an archive; did you mean `connvault unpack %s %s`?", out, dir, out)
	}
	if p, ok := storage.Local(out); ok {
		if _, err := os.Lstat(p); err == nil {
			return usagef("pack: %s exists; connvault does not replace it: choose a new path", p)
		}
	}
	m, err := workflow.Pack(c.Context, s.env(), dir, out)
	if err != nil {
		return restoreError(s, err)
	}
	s.log.Info(fmt.Sprintf("wrote %s: %d connectors, digest %s", out, m.ConnectorCount, m.ContentDigest))
	return nil
}

func runUnpack(c *cli.Context) error {
	if c.NArg() != 2 {
		return usagef("unpack needs an archive and a directory to write, got %d arguments", c.NArg())
	}
	s, err := newSession(c)
	if err != nil {
		return err
	}
	arg, dir := c.Args().Get(0), c.Args().Get(1)
	// Operands of the wrong kind are a swapped command line (pack was
	// meant): refuse before anything is created.
	if p, ok := storage.Local(arg); ok && archive.IsDir(p) {
		return usagef("unpack %s: it is a directory, not an archive; to make an archive of a snapshot directory, did you mean `connvault pack %s %s`?", arg, arg, dir)
	}
	if looksLikeArchive(dir) {
		return usagef("unpack into %s: that is named like an archive, and unpack writes a snapshot directory; did you mean `connvault pack %s %s`?", dir, arg, dir)
	}
	if err := mustExist(c.Context, arg); err != nil {
		return err
	}
	m, err := workflow.Unpack(c.Context, s.env(), arg, dir)
	if err != nil {
		return restoreError(s, err)
	}
	s.log.Info(fmt.Sprintf("wrote %s: %d connectors, digest %s", dir, m.ConnectorCount, m.ContentDigest))
	return nil
}

// looksLikeArchive reports whether a path is named as archives are.
func looksLikeArchive(p string) bool {
	p = strings.ToLower(strings.TrimRight(p, "/"))
	for _, ext := range []string{".tar.zst", ".tzst", ".tar", ".zst", ".tar.gz", ".tgz"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}
