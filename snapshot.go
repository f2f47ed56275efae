package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/workflow"
)

// tenantOperand is how a command line names a live tenant instead of an
// archive: `tenant:` (the tenant the flags configure) or `tenant:NAME` (that
// tenant of the tenants file, whatever the flags say).
const tenantOperand = "tenant:"

func isTenantOperand(arg string) bool { return strings.HasPrefix(arg, tenantOperand) }

// loadOperand reads an archive path or, for `tenant:[NAME]`, the live tenant into
// memory. sel, when not nil, is the selection to read the tenant with (the
// other side's, so both sides cover the same connectors).
func loadOperand(ctx context.Context, c *cli.Context, s *session, arg string, sel *archive.Selection) (*archive.Snapshot, error) {
	if !isTenantOperand(arg) {
		if err := archivestore.Exists(ctx, arg); err != nil {
			return nil, fmt.Errorf("archive %s: %w (give an archive file, %q for the tenant the flags configure, or %q for a named tenant)", arg, err, tenantOperand, tenantOperand+"NAME")
		}
		snap, err := archivestore.Read(ctx, arg)
		if err != nil {
			return nil, err
		}
		return snap, nil
	}
	var t *tenant
	var err error
	if name := strings.TrimPrefix(arg, tenantOperand); name != "" {
		t, err = connectNamed(c, s, name)
	} else {
		t, err = connect(ctx, c, s)
	}
	if err != nil {
		return nil, err
	}
	defer t.close()
	return workflow.ReadTenant(ctx, s.env(), t.Tenant, sel)
}
