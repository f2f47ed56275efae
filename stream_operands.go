package main

import (
	"context"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/diff"
	"github.com/connvault/connvault/workflow"
)

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
