package command

import (
	"context"
	"errors"
	"io/fs"
	"strings"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/storage"
	"github.com/connvault/connvault/workflow"
	"github.com/urfave/cli/v2"
)

// verifyDirArg verifies a snapshot directory when arg names one (ok false
// otherwise): a damaged layout is a problem; files changed since the export
// are listed as changes, since editing the directory is what it is for.
func verifyDirArg(arg string) (verifyResult, bool) {
	if !archivestore.IsSnapshotDir(arg) {
		return verifyResult{}, false
	}
	st := archivestore.VerifyDir(arg)
	res := verifyResult{Archive: arg, Changes: st.Changes}
	for _, pr := range st.Problems {
		res.Problems = append(res.Problems, pr.Error())
	}
	res.OK = len(res.Problems) == 0
	if st.Manifest != nil {
		res.Connectors, res.ContentDigest = st.Manifest.ConnectorCount, st.Manifest.ContentDigest
		res.Partial, res.Skipped = st.Manifest.Partial, st.Manifest.Skipped
	}
	return res, true
}

// tenantOperand is how a command line names a live tenant instead of an
// archive: `tenant:` (the tenant the flags configure) or `tenant:NAME` (that
// tenant of the tenants file, whatever the flags say).
const tenantOperand = "tenant:"

func isTenantOperand(arg string) bool { return strings.HasPrefix(arg, tenantOperand) }

// archiveSource streams an archive operand (a path or an object URL) one
// connector at a time; each pass opens it afresh, so diff holds a window of
// connectors, never the archive.
func archiveSource(arg string) diff.Source {
	return diff.ReaderSource(func(ctx context.Context) (archive.SnapshotReader, func(), error) {
		r, _, closeAll, err := archivestore.Open(ctx, arg)
		return r, closeAll, err
	})
}

// tenantSource streams a live tenant through the export pipeline, once: each
// connector is handed on as it arrives, in list order.
func tenantSource(s *session, t *tenant, sel *archive.Selection) diff.Source {
	return diff.Source{Each: func(ctx context.Context, emit func(*archive.Connector) error) error {
		return workflow.StreamTenant(ctx, s.env(), t.Tenant, sel, emit)
	}}
}

// connectOperand connects to the tenant a `tenant:[NAME]` operand names.
func connectOperand(ctx context.Context, c *cli.Context, s *session, arg string) (*tenant, error) {
	if name := strings.TrimPrefix(arg, tenantOperand); name != "" {
		return connectNamed(c, s, name)
	}
	return connect(ctx, c, s)
}

// mustExist is the one check of an operand that names an archive, a
// snapshot directory or a bucket object: one that names nothing is a usage
// error (exit 2) for every command, like a --output-dir that does not exist.
func mustExist(ctx context.Context, arg string) error {
	err := archivestore.Exists(ctx, arg)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist) && storage.IsBucket(arg):
		return usagef("%s: no such object; check the archive's URL", storage.BaseName(arg))
	case errors.Is(err, fs.ErrNotExist):
		return usagef("%s: no such archive or snapshot directory; check the path", arg)
	default:
		// The error names the location without what must not be printed
		// (credentials in a URL are refused by storage, never echoed).
		return err
	}
}
