package command

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestInterspersedFlags(t *testing.T) {
	app := newApp(strings.NewReader(""), nil, nil)
	for _, tc := range []struct{ in, want string }{
		{"connvault diff a b --sandbox --format json", "connvault diff --sandbox --format json a b"},
		{"connvault --sandbox diff a --stat b", "connvault --sandbox diff --stat a b"},
		{"connvault diff a -- --weird", "connvault diff a -- --weird"},
		{"connvault diff --map=x=y a b", "connvault diff --map=x=y a b"},
		{"connvault restore x.tar.zst --only A --only B --yes", "connvault restore --only A --only B --yes x.tar.zst"},
		{"connvault verify a b c", "connvault verify a b c"},
		{"connvault nosuch a --x", "connvault nosuch a --x"},
		{"connvault --log-level debug export -o f", "connvault --log-level debug export -o f"},
		{"connvault restore x.tar.zst --help", "connvault restore --help"},
	} {
		got := strings.Join(interspersed(app, strings.Fields(tc.in)), " ")
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%q (-want +got):\n%s", tc.in, d)
		}
	}
}
