package apiclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// shouldRetry is the one retry policy of the client (rclone style): it says
// whether a failed attempt is worth repeating, given the answer (if any) and
// the error (if any).
//
// 500 is retried. The spec lists 500 ("500.0 Internal Fault") for every
// operation as a generic server fault, not as an answer about the request, and
// the gateway produces it for transient backend trouble just like 502-504.
// Every request this client repeats is safe to repeat: GETs, PUTs of whole
// documents, DELETE (a 404 on a repeat counts as done) and PATCH with
// idempotent operations. Create never reaches a blind repeat (a 5xx there is
// ambiguous and settled by a lookup first), and a non-idempotent PATCH is
// reported instead of repeated.
func shouldRetry(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if errors.Is(err, errBodyTooLarge) {
		return false
	}
	if resp != nil && (err == nil || resp.StatusCode >= 400) {
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	return err != nil && retryableNetError(err)
}

// retryableNetError accepts the failures a restart, a load balancer or a
// flaky link produce, and refuses the ones that repeat identically
// (certificate problems, unknown hosts, bad URLs).
func retryableNetError(err error) bool {
	var verify *tls.CertificateVerificationError
	var cert x509.UnknownAuthorityError
	var host x509.HostnameError
	var inv x509.CertificateInvalidError
	if errors.As(err, &verify) || errors.As(err, &cert) || errors.As(err, &host) || errors.As(err, &inv) {
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTemporary || dns.IsTimeout
	}
	if errors.Is(err, errStalled) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	// net/http reports some broken connections only as text.
	msg := err.Error()
	for _, s := range []string{"connection reset", "broken pipe", "transport connection broken", "server closed idle connection", "GOAWAY", "http2: client connection lost"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// ambiguous reports whether a failed attempt may have been carried out by the
// server anyway: any 5xx, or a connection that failed after the request could
// have left. A refused dial never reached the server.
func ambiguous(resp *http.Response, err error) bool {
	if resp != nil && (err == nil || resp.StatusCode >= 400) {
		return resp.StatusCode >= 500
	}
	if err == nil {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	return !errors.Is(err, syscall.ECONNREFUSED)
}

// retryAfter reads Retry-After as delay-seconds or an HTTP date. ok is false
// when the header is missing or unreadable, so the caller backs off instead.
func retryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs != secs || secs < 0 { // NaN or negative: unusable
			return 0, false
		}
		if secs > maxRetryAfter.Seconds() {
			return maxRetryAfter, true
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return min(d, maxRetryAfter), true
	}
	return 0, false
}

// maxRetryAfter bounds what a server can ask for; anything longer is refused
// by the retry budget anyway, this only keeps arithmetic sane.
const maxRetryAfter = 24 * time.Hour

// backoff is the wait before attempt number attempt+1: exponential from base,
// capped, with jitter over the upper half so workers that failed together do
// not come back together.
func backoff(base, maxD time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
