// Package retention decides which connvault archives in a directory to keep,
// with the semantics of restic's forget --keep-* options, and removes the rest.
//
// Only files whose names parse as connvault archive names
// (<tenant>-connectors-<YYYYMMDDTHHMMSSZ>.tar.zst) are ever considered: temp
// files of a running export (".*.tmp"), the lock file and anything else in the
// directory are left alone.
package retention

import (
	"net"
	"net/url"
	"strings"
	"time"
)

const (
	// timeLayout is the UTC timestamp in archive names. It sorts
	// lexically in time order and has no characters that need quoting.
	timeLayout = "20060102T150405Z"
	nameInfix  = "-connectors-"
	nameSuffix = ".tar.zst"
)

// tenantHostSuffixes are the SailPoint API domains whose first DNS label is the
// tenant name, so "acme.api.identitynow.com" becomes "acme".
var tenantHostSuffixes = []string{
	".identitynow.com",
	".identitynow-demo.com",
}

// FileName returns the archive file name for tenant at t, for example
// "acme-connectors-20261122T031500Z.tar.zst". t is converted to UTC and
// truncated to the second. tenant should come from TenantFromBaseURL.
func FileName(tenant string, t time.Time) string {
	return tenant + nameInfix + t.UTC().Format(timeLayout) + nameSuffix
}

// TenantFromBaseURL derives the tenant part of archive names from an API base
// URL: the first DNS label for SailPoint hosts ("acme" for
// https://acme.api.identitynow.com), otherwise the whole host and port with
// dots and colons turned into '-' ("127-0-0-1-8080"). The result is lower-case
// and only has [a-z0-9-]; a URL without a usable host gives "unknown".
func TenantFromBaseURL(baseURL string) string {
	s := strings.TrimSpace(baseURL)
	if !strings.Contains(s, "://") {
		// A bare host ("acme.api.identitynow.com") would otherwise parse as a path.
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" {
		return "unknown"
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	for _, suf := range tenantHostSuffixes {
		if strings.HasSuffix(host, suf) && net.ParseIP(host) == nil {
			label, _, _ := strings.Cut(host, ".")
			if t := sanitize(label); t != "" {
				return t
			}
		}
	}
	if p := u.Port(); p != "" {
		host += ":" + p
	}
	if t := sanitize(host); t != "" {
		return t
	}
	return "unknown"
}

// sanitize maps every byte outside [a-z0-9-] to '-', so the tenant can never
// carry a path separator or a dot into a file name.
// Leading and trailing '-' are dropped (an IPv6 host like "::1" would otherwise
// give a file name that starts with '-' and reads as an option to rm or ls).
func sanitize(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !isTenantByte(c) {
			b[i] = '-'
		}
	}
	return strings.Trim(string(b), "-")
}

func isTenantByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
}

// ParseName reports whether name (a base name, not a path) is a connvault
// archive name and, if so, its tenant and UTC timestamp. Only the exact form
// FileName produces is accepted, so FileName(tenant, t) == name whenever ok.
func ParseName(name string) (tenant string, t time.Time, ok bool) {
	rest, found := strings.CutSuffix(name, nameSuffix)
	if !found || len(rest) < len(nameInfix)+len(timeLayout)+1 {
		return "", time.Time{}, false
	}
	stamp := rest[len(rest)-len(timeLayout):]
	rest = rest[:len(rest)-len(timeLayout)]
	tenant, found = strings.CutSuffix(rest, nameInfix)
	if !found || tenant == "" {
		return "", time.Time{}, false
	}
	for i := 0; i < len(tenant); i++ {
		if !isTenantByte(tenant[i]) {
			return "", time.Time{}, false
		}
	}
	t, err := time.Parse(timeLayout, stamp)
	// Re-formatting rejects stamps time.Parse tolerates but FileName never
	// writes, so a name maps to exactly one (tenant, time) and back.
	if err != nil || t.Format(timeLayout) != stamp {
		return "", time.Time{}, false
	}
	return tenant, t.UTC(), true
}
