package apiclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDecodeErrorBody(t *testing.T) {
	long := strings.Repeat("é", 1000)
	cases := []struct {
		name  string
		ctype string
		body  string
		want  Error
	}{
		{"ErrorResponseDto", "application/json",
			`{"detailCode":"404 Not found","trackingId":"b0c7","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"The server did not find a current representation for the target resource."}],"causes":[{"text":"no such connector"}]}`,
			Error{DetailCode: "404 Not found", TrackingID: "b0c7", Messages: []string{"The server did not find a current representation for the target resource.", "no such connector"}}},
		{"401 body", "application/json", `{"error":"JWT validation failed: JWT is expired"}`,
			Error{Messages: []string{"JWT validation failed: JWT is expired"}}},
		{"429 body", "application/json", `{"message":" Rate Limit Exceeded "}`,
			Error{Messages: []string{"Rate Limit Exceeded"}}},
		{"untyped error object", "", `{"error":{"code":7}}`, Error{Messages: []string{`{"code":7}`}}},
		{"HTML page", "text/html", "<html><head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center></body></html>",
			Error{Snippet: "502 Bad Gateway 502 Bad Gateway"}},
		{"garbage", "application/octet-stream", "\x00\x01\xff\xfe oops \x1b[31m", Error{Snippet: "oops [31m"}},
		{"JSON without known fields", "application/json", `{"foo":1}`, Error{Snippet: `{"foo":1}`}},
		{"truncated JSON", "application/json", `{"detailCode":"500.0 Int`, Error{Snippet: `{"detailCode":"500.0 Int`}},
		{"empty", "", "", Error{}},
		{"long message", "application/json", `{"messages":[{"text":"` + long + `"}]}`,
			Error{Messages: []string{strings.Repeat("é", maxMessageRunes) + "…"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e Error
			decodeErrorBody(&e, tc.ctype, []byte(tc.body))
			if d := cmp.Diff(tc.want, e, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("decoded (-want +got):\n%s", d)
			}
		})
	}
	var e Error
	decodeErrorBody(&e, "", []byte(`{"messages":[`+strings.Repeat(`{"text":"m"},`, 50)+`{"text":"m"}]}`))
	if len(e.Messages) != maxMessages {
		t.Errorf("%d messages kept, want the cap %d", len(e.Messages), maxMessages)
	}
}

func TestErrorMessages(t *testing.T) {
	cases := []struct {
		err  *Error
		want string
	}{
		{&Error{Op: "get connector", ScriptName: "acme", StatusCode: 404, DetailCode: "404 Not found", TrackingID: "t1", Messages: []string{"gone"}},
			`get connector "acme": HTTP 404 (404 Not found): gone [trackingId t1]`},
		{&Error{Op: "create connector", Name: "Acme", StatusCode: 503, Snippet: "busy", Attempts: 6},
			`create connector (name "Acme"): HTTP 503: "busy" (after 6 attempts)`},
		{&Error{Op: "list connectors", Err: syscall.ECONNRESET, Attempts: 2},
			`list connectors: connection reset by peer (after 2 attempts)`},
		{&Error{Op: "put source-config", ScriptName: "x", StatusCode: 200, Messages: []string{"unsupported xsd version"}, Err: ErrUpdateFailed},
			`put source-config "x": server reported status ERROR: unsupported xsd version`},
		{&Error{Op: "list connectors", Token: true, StatusCode: 401, Messages: []string{"Bad credentials"}, Hint: "Check it"},
			`list connectors: token request: HTTP 401: Bad credentials. Check it`},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q\n           want %q", got, tc.want)
		}
	}
	nf := fmt.Errorf("export: %w", &Error{StatusCode: 404})
	if !IsNotFound(nf) || IsNotFound(&Error{StatusCode: 403}) || IsNotFound(errors.New("404")) || IsNotFound(nil) {
		t.Error("IsNotFound misclassifies")
	}
}

func TestShouldRetry(t *testing.T) {
	ctx := context.Background()
	done, cancel := context.WithCancel(ctx)
	cancel()
	resp := func(code int) *http.Response { return &http.Response{StatusCode: code, Header: http.Header{}} }
	cases := []struct {
		name string
		ctx  context.Context
		resp *http.Response
		err  error
		want bool
	}{
		{"429", ctx, resp(429), nil, true},
		{"500", ctx, resp(500), nil, true},
		{"502", ctx, resp(502), nil, true},
		{"503", ctx, resp(503), nil, true},
		{"504", ctx, resp(504), nil, true},
		{"501", ctx, resp(501), nil, false},
		{"400", ctx, resp(400), nil, false},
		{"401", ctx, resp(401), nil, false},
		{"404", ctx, resp(404), nil, false},
		{"reset", ctx, nil, &net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{"refused", ctx, nil, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{"EOF", ctx, nil, fmt.Errorf("get: %w", io.EOF), true},
		{"unexpected EOF mid-body", ctx, resp(200), io.ErrUnexpectedEOF, true},
		{"timeout", ctx, nil, &net.DNSError{IsTimeout: true}, true},
		{"no such host", ctx, nil, &net.DNSError{IsNotFound: true}, false},
		{"too large", ctx, resp(200), errBodyTooLarge, false},
		{"cancelled", done, resp(503), nil, false},
		{"other error", ctx, nil, errors.New("unsupported protocol scheme"), false},
	}
	for _, tc := range cases {
		if got := shouldRetry(tc.ctx, tc.resp, tc.err); got != tc.want {
			t.Errorf("%s: shouldRetry = %v, want %v", tc.name, got, tc.want)
		}
	}
	if ambiguous(nil, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}) || !ambiguous(nil, io.EOF) ||
		!ambiguous(resp(500), nil) || ambiguous(resp(429), nil) {
		t.Error("ambiguous misclassifies")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"1.5", 1500 * time.Millisecond, true},
		{"-3", 0, false},
		{"NaN", 0, false},
		{"Sun, 01 Mar 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Sun, 01 Mar 2026 11:00:00 GMT", 0, true},
		{"1e300", maxRetryAfter, true},
		{"soon", 0, false},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.v != "" {
			h.Set("Retry-After", tc.v)
		}
		got, ok := retryAfter(h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Retry-After %q = %v, %v; want %v, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	for attempt := 1; attempt <= 12; attempt++ {
		full := min(100*time.Millisecond<<(attempt-1), 2*time.Second)
		for range 50 {
			d := backoff(100*time.Millisecond, 2*time.Second, attempt)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v]", attempt, d, full/2, full)
			}
		}
	}
}

// FuzzDecodeError feeds arbitrary error answers through decoding and
// formatting: never a panic, always one short printable line.
func FuzzDecodeError(f *testing.F) {
	f.Add(400, "application/json", []byte(`{"detailCode":"400.1 Bad Request Content","trackingId":"x","messages":[{"locale":"en-US","localeOrigin":"DEFAULT","text":"bad"}],"causes":[]}`))
	f.Add(401, "application/json", []byte(`{"error":"JWT validation failed: JWT is expired"}`))
	f.Add(429, "application/json", []byte(`{"message":" Rate Limit Exceeded "}`))
	f.Add(502, "text/html; charset=utf-8", []byte("<html><title>502</title><body>Bad <b>Gateway</b></body></html>"))
	f.Add(500, "", []byte("\xff\xfe\x00garbage\n\r\t"))
	f.Add(403, "application/json", []byte(`{"messages":["plain string",{"text":7},null]}`))
	f.Add(404, "application/json", []byte(`{"detailCode":{"nested":[1,2]},"trackingId":123}`))
	f.Add(400, "text/plain", []byte(strings.Repeat("a", 5000)))
	f.Fuzz(func(t *testing.T, status int, ctype string, body []byte) {
		e := &Error{Op: "get connector", ScriptName: "acme", StatusCode: status}
		decodeErrorBody(e, ctype, body)
		if len(e.Messages) > maxMessages {
			t.Fatalf("%d messages", len(e.Messages))
		}
		for _, s := range append([]string{e.DetailCode, e.TrackingID, e.Snippet}, e.Messages...) {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\n\r\x00") {
				t.Fatalf("unprintable field %q", s)
			}
			if utf8.RuneCountInString(s) > maxMessageRunes+1 {
				t.Fatalf("field of %d runes", utf8.RuneCountInString(s))
			}
		}
		if utf8.RuneCountInString(e.Snippet) > maxSnippet+1 {
			t.Fatalf("snippet of %d runes", utf8.RuneCountInString(e.Snippet))
		}
		msg := e.Error()
		if strings.ContainsAny(msg, "\n\r") {
			t.Fatalf("multi-line error %q", msg)
		}
		if len(msg) > 16<<10 {
			t.Fatalf("error of %d bytes", len(msg))
		}
	})
}

// FuzzRetryAfter: any header value gives a usable, bounded wait or none.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "1.5", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "1e400", "NaN", "Inf", "+Inf", "0x10"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{}
		h.Set("Retry-After", v)
		d, ok := retryAfter(h, now)
		if d < 0 || d > maxRetryAfter || (!ok && d != 0) {
			t.Fatalf("Retry-After %q gave %v, %v", v, d, ok)
		}
	})
}
