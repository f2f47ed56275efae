package command

import (
	"testing"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/sandbox"
)

// inLayouts runs a hostile-server test through the CLI in the layout users
// get by default (auto, which picks /connectors/v1 on the sandbox) and with
// --api-version v3 (through SAIL_API_VERSION, so the test's command lines
// stay as they are): the defect-18 guards match paths, and the two layouts
// have different ones.
func inLayouts(t *testing.T, test func(t *testing.T, layout string)) {
	for _, layout := range []string{apiclient.VersionAuto, apiclient.VersionV3} {
		t.Run(layout, func(t *testing.T) { test(t, layout) })
	}
}

// clearSailEnvIn is clearSailEnv, then the layout inLayouts runs in.
func clearSailEnvIn(t *testing.T, layout string) {
	t.Helper()
	clearSailEnv(t)
	if layout != apiclient.VersionAuto {
		t.Setenv("SAIL_API_VERSION", layout)
	}
}

// usedLayout fails unless the tenant's API requests went to the layout
// asked for (auto: /connectors/v1) and not to the other path shape. v3 does
// not publish correlation-config, which then goes to another layout.
func usedLayout(t *testing.T, tn *sandbox.Tenant, layout string) {
	t.Helper()
	want, other := apiclient.VersionV1, apiclient.VersionV3
	if layout != apiclient.VersionAuto {
		want, other = layout, apiclient.VersionV1
	}
	by := tn.Stats().ByVersion
	if by[want] == 0 || layout == apiclient.VersionAuto && by[other] > 0 {
		t.Errorf("requests by layout %v: want them in %s (asked for %s)", by, want, layout)
	}
}
