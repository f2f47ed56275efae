package apiclient

import (
	"errors"
	"net"
	"strings"
	"testing"
)

// TestNetworkHintNamesTheHost: a host that does not resolve, or an address
// where nothing answers, is named with what to check; other errors get no
// hint.
func TestNetworkHintNamesTheHost(t *testing.T) {
	dns := &net.DNSError{Err: "no such host", Name: "acme.identitynow.invalid", IsNotFound: true}
	if h := networkHint(errors.Join(errors.New("post"), dns)); !strings.Contains(h, "The host acme.identitynow.invalid does not resolve") || !strings.Contains(h, "TENANT.api.identitynow.com") {
		t.Errorf("DNS: %q", h)
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}, Err: errors.New("connection refused")}
	if h := networkHint(refused); !strings.Contains(h, "Nothing answered at 127.0.0.1:9") {
		t.Errorf("refused: %q", h)
	}
	if h := networkHint(errors.New("HTTP 500")); h != "" {
		t.Errorf("another error got a hint: %q", h)
	}
}
