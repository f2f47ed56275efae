package importer

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/connvault/connvault/archive"
)

// claims are the scriptNames a restore must never write a created
// connector's content to: those the target already had
// and those earlier creates of this run were given. Two creates answered
// with the same scriptName would otherwise overwrite each other, and a create
// answered with an existing connector would overwrite it.
type claims struct {
	mu    sync.Mutex
	owner map[string]string // scriptName -> whose it is, for the message
}

func newClaims(p *Plan, known []string) *claims {
	cl := &claims{owner: map[string]string{}}
	for _, sn := range known {
		cl.owner[sn] = "a connector the target already had"
	}
	for _, c := range p.Connectors {
		if c.TargetScriptName != "" {
			cl.owner[c.TargetScriptName] = fmt.Sprintf("target connector %q, which the target already had", c.TargetName)
		}
	}
	return cl
}

// ErrCreatedElsewhere marks a create whose answer points at a connector
// that is not the new one.
var ErrCreatedElsewhere = errors.New("the create's answer points at a connector that is not the new one")

// checkCreated accepts scriptName as the connector just created under name:
// no one else may hold it, and the tenant's own detail of it must carry that
// name (the create's answer alone is the server's word about itself). On
// success the scriptName is claimed for this connector.
func (cl *claims) checkCreated(ctx context.Context, t Tenant, name, scriptName string) error {
	cl.mu.Lock()
	who, taken := cl.owner[scriptName]
	if !taken {
		cl.owner[scriptName] = fmt.Sprintf("connector %q, created moments earlier by this restore", name)
	}
	cl.mu.Unlock()
	if taken {
		return fmt.Errorf("create connector (name %q): %w: the server answered with scriptName %q, which belongs to %s; nothing was written to it",
			name, ErrCreatedElsewhere, scriptName, who)
	}
	d, _, err := t.GetConnector(ctx, scriptName, "")
	if err != nil {
		return fmt.Errorf("create connector (name %q): created as scriptName %q, but reading it back to check failed, so nothing was written to it; run the restore again, it finds the connector by name: %w",
			name, scriptName, err)
	}
	if d.Name != name {
		return fmt.Errorf("create connector (name %q): %w: the server answered with scriptName %q, whose detail names connector %q; nothing was written to it",
			name, ErrCreatedElsewhere, scriptName, d.Name)
	}
	return nil
}

// ScriptNames lists the scriptNames of a snapshot's connectors, for
// ApplyOptions.TargetScriptNames.
func ScriptNames(s *archive.Snapshot) []string {
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s.Connectors))
	for _, c := range s.Connectors {
		if c != nil {
			out = append(out, c.ScriptName)
		}
	}
	return out
}
