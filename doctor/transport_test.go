package doctor

import "testing"

// TestTransportCheckFailsPlainHTTP: plain http:// to another machine fails
// the check (the secret travels in clear); https and this machine pass.
func TestTransportCheckFailsPlainHTTP(t *testing.T) {
	for url, fails := range map[string]bool{
		"http://acme.api.identitynow.com":  true,
		"http://10.1.2.3:8080":             true,
		"https://acme.api.identitynow.com": false,
		"http://127.0.0.1:4000":            false,
		"http://localhost:4000":            false,
		"http://[::1]:4000":                false,
	} {
		var got []Check
		checkTransport(url, func(c Check) { got = append(got, c) })
		if failed := len(got) == 1 && got[0].Status == Fail; failed != fails {
			t.Errorf("%s: checks %+v, want failing %v", url, got, fails)
		}
	}
}
