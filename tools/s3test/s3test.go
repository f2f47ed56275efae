// Package s3test starts a real S3-compatible server (versitygw with its posix
// backend) on 127.0.0.1 for tests and benchmarks.
//
// versitygw is found on PATH or in $(go env GOPATH)/bin; .ci/run installs it.
// When it is missing the test is skipped with a message saying how to install
// it, except in CI (CI=true), where that is a failure: the suite must skip
// none of the object-storage tests there.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Test credentials of the local server. They are only ever valid for a
// throw-away server bound to 127.0.0.1.
const (
	AccessKey = "connvault-test"
	SecretKey = "connvault-test-secret"
	Region    = "us-east-1"
)

// InstallHint is the command that installs the server.
const InstallHint = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// Server is a running versitygw.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	Root     string // the posix backend's directory: one subdirectory per bucket
}

// Query is the URL query that points gocloud's s3blob at this server.
func (s *Server) Query() string {
	return "endpoint=" + s.Endpoint + "&use_path_style=true&region=" + Region
}

// URL is an s3:// location in bucket (created if needed) under prefix,
// addressed to this server.
func (s *Server) URL(t testing.TB, bucket, prefix string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(s.Root, bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	u := "s3://" + bucket
	if prefix != "" {
		u += "/" + prefix
	}
	return u + "?" + s.Query()
}

// Find returns the versitygw binary's path, or "" when it is not installed.
func Find() string {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "versitygw")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// Start starts a server for the test (stopped at its cleanup) and sets the
// AWS environment (credentials, region, no shared config) to reach it, so
// the test must not be parallel.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Find()
	if bin == "" {
		msg := "versitygw (a local S3-compatible server) is not installed; install it with: " + InstallHint
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI runs every object-storage test)")
		}
		t.Skip(msg)
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           AccessKey,
		"AWS_SECRET_ACCESS_KEY":       SecretKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  Region,
		"AWS_PROFILE":                 "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_S3":         "",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
	root := t.TempDir()
	var lastErr error
	// A free port found by listening can be taken again before the server
	// binds it, so a failed start is retried on another port.
	for attempt := 0; attempt < 3; attempt++ {
		srv, err := start(t, bin, root)
		if err == nil {
			return srv
		}
		lastErr = err
	}
	t.Fatalf("starting versitygw: %v", lastErr)
	return nil
}

func start(t testing.TB, bin, root string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--port", addr, "--quiet", "posix", root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+AccessKey, "ROOT_SECRET_KEY="+SecretKey, "VGW_REGION="+Region)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		var d net.Dialer
		if c, err := d.DialContext(ctx, "tcp", addr); err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("versitygw exited (%v): %s", err, logs.String())
		case <-ctx.Done():
			stop()
			return nil, errors.New("versitygw did not listen within 15 s: " + logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Cleanup(stop)
	return &Server{Endpoint: "http://" + addr, Root: root}, nil
}
