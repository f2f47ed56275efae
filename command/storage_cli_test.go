package command

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/connvault/connvault/retention"
	"github.com/connvault/connvault/sandbox"
	"github.com/connvault/connvault/sandbox/spectest"
	"github.com/connvault/connvault/storage"
	"github.com/connvault/connvault/tools/realistic"
	"github.com/connvault/connvault/tools/s3test"
)

// childArgsEnv makes the test binary run connvault with these arguments
// (JSON) and exit, so a test can SIGKILL a real export process.
const childArgsEnv = "CONNVAULT_TEST_CHILD_ARGS"

func init() {
	raw := os.Getenv(childArgsEnv)
	if raw == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		os.Stderr.WriteString("bad " + childArgsEnv + ": " + err.Error() + "\n")
		os.Exit(2)
	}
	os.Exit(run(context.Background(), append([]string{"connvault"}, args...), strings.NewReader(""), os.Stdout, os.Stderr))
}

// objectNames lists the names directly under an s3:// location.
func objectNames(t *testing.T, where string) []string {
	t.Helper()
	loc, err := storage.Open(context.Background(), where)
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	objs, err := loc.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.Name)
	}
	return names
}

// export to s3://, then verify, ls, diff against the
// tenant and restore --dry-run all read the archive from the bucket.
func TestObjectStorageEndToEnd(t *testing.T) {
	clearSailEnv(t)
	s3 := s3test.Start(t)
	srv := spectest.Start(t, sandbox.Options{})
	ctx := context.Background()
	dirURL := s3.URL(t, "bkt", "nightly")

	code, stdout, stderr := runCLI(t, ctx, append([]string{"export", "--output-dir", dirURL, "--json"}, tenantArgs(srv)...)...)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	var sum exportSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("export --json: %v\n%s", err, stdout)
	}
	name := storage.BaseName(sum.Archive)
	if want := "s3://bkt/nightly/" + name + "?" + s3.Query(); sum.Archive != want || !sum.Written {
		t.Fatalf("summary archive %q (written %v), want %q", sum.Archive, sum.Written, want)
	}
	// The posix backend keeps the object as a plain file: the bytes the
	// bucket holds are a complete archive of the tenant.
	onDisk := filepath.Join(s3.Root, "bkt", "nightly", name)
	checkArchiveMatchesTenant(t, onDisk, srv.Tenant)
	b, err := os.ReadFile(onDisk)
	if err != nil {
		t.Fatal(err)
	}
	loc, objName, err := storage.OpenObject(ctx, sum.Archive)
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	obj, err := loc.Open(ctx, objName)
	if err != nil {
		t.Fatal(err)
	}
	obj.Close()
	if h := sha256.Sum256(b); obj.SHA256 != hex.EncodeToString(h[:]) || obj.Size != sum.ArchiveSize {
		t.Errorf("object metadata sha256 %q size %d; the bytes hash to %x, size %d", obj.SHA256, obj.Size, h, len(b))
	}

	if code, out, errOut := runCLI(t, ctx, "verify", sum.Archive); code != 0 || !strings.Contains(out, ": ok (") {
		t.Errorf("verify: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, ctx, "ls", sum.Archive); code != 0 || !strings.Contains(out, sum.ContentDigest) {
		t.Errorf("ls: exit %d\n%s%s", code, out, errOut)
	}
	if code, out := diffExit(t, srv, sum.Archive); code != 0 {
		t.Errorf("diff against the tenant: exit %d, want 0 (same)\n%s", code, out)
	}
	code, out, errOut := runCLI(t, ctx, append([]string{"restore", "--dry-run"}, append(tenantArgs(srv), sum.Archive)...)...)
	if code != 0 || !strings.Contains(out, "0 to create, 0 to update") {
		t.Errorf("restore --dry-run: exit %d\n%s%s", code, out, errOut)
	}

	// restore from the bucket, with the pre-restore snapshot going to a
	// bucket prefix too; afterwards the tenant equals the archive again.
	mutateForUpdate(t, srv.Tenant)
	preURL := s3.URL(t, "bkt", "pre-restore")
	code, out, errOut = runCLI(t, ctx, append([]string{"restore", "--yes", "--backup-dir", preURL}, append(tenantArgs(srv), sum.Archive)...)...)
	if code != 0 {
		t.Fatalf("restore --backup-dir URL: exit %d\n%s%s", code, out, errOut)
	}
	pre := objectNames(t, preURL)
	if len(pre) != 1 {
		t.Fatalf("pre-restore prefix holds %v, want one snapshot", pre)
	}
	if code, out, _ := runCLI(t, ctx, "verify", "s3://bkt/pre-restore/"+pre[0]+"?"+s3.Query()); code != 0 {
		t.Errorf("verify the pre-restore snapshot: exit %d\n%s", code, out)
	}
	if code, out := diffExit(t, srv, sum.Archive); code != 0 {
		t.Errorf("diff after restore: exit %d, want 0\n%s", code, out)
	}

	// --if-changed compares with the newest archive in the bucket prefix.
	code, _, errOut = runCLI(t, ctx, append([]string{"export", "--output-dir", dirURL, "--if-changed"}, tenantArgs(srv)...)...)
	if code != 0 || !strings.Contains(errOut, "unchanged since") {
		t.Errorf("export --if-changed: exit %d\n%s", code, errOut)
	}
	if names := objectNames(t, dirURL); !slices.Equal(names, []string{name}) {
		t.Errorf("after an unchanged --if-changed export the prefix holds %v, want only %s", names, name)
	}

	// --output names the object itself.
	custom := "s3://bkt/adhoc/before-change.tar.zst?" + s3.Query()
	if code, _, errOut := runCLI(t, ctx, append([]string{"export", "--output", custom}, tenantArgs(srv)...)...); code != 0 {
		t.Fatalf("export --output URL: exit %d\n%s", code, errOut)
	}
	if code, out, _ := runCLI(t, ctx, "verify", custom); code != 0 {
		t.Errorf("verify %s: exit %d\n%s", custom, code, out)
	}

	// A missing object is one clear error, not a stack of driver codes.
	code, out, errOut = runCLI(t, ctx, "verify", "s3://bkt/nightly/missing.tar.zst?"+s3.Query())
	if code != exitUsage || !strings.Contains(errOut, "missing.tar.zst") || !strings.Contains(errOut, "no such object; check the archive's URL") {
		t.Errorf("verify of a missing object: exit %d\n%s%s", code, out, errOut)
	}
}

// stallProxy forwards TCP to target until limit bytes have gone from
// clients to the server, then stops forwarding (the upload hangs half-sent)
// and closes stalled.
type stallProxy struct {
	ln      net.Listener
	target  string
	limit   int64
	sent    atomic.Int64
	stalled chan struct{}
	once    sync.Once
	done    chan struct{}
}

func startStallProxy(t *testing.T, target string, limit int64) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target, limit: limit, stalled: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(func() { close(p.done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.handle(c)
		}
	}()
	return p
}

func (p *stallProxy) handle(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	go io.Copy(c, s)
	buf := make([]byte, 16<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if p.sent.Add(int64(n)) > p.limit {
				p.once.Do(func() { close(p.stalled) })
				<-p.done
				return
			}
			if _, werr := s.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// an export killed (SIGKILL) while its upload is half
// sent leaves no object under the final name, nor anywhere in the prefix.
func TestExportKilledMidUploadLeavesNoObject(t *testing.T) {
	clearSailEnv(t)
	s3 := s3test.Start(t)
	srv := spectest.Start(t, sandbox.Options{Synthetic: 150, DocSize: 8 << 10})
	proxy := startStallProxy(t, strings.TrimPrefix(s3.Endpoint, "http://"), 64<<10)
	dirURL := s3.URL(t, "bkt", "nightly")
	viaProxy := strings.Replace(dirURL, s3.Endpoint, "http://"+proxy.ln.Addr().String(), 1)

	args, _ := json.Marshal(append([]string{"export", "--output-dir", viaProxy}, tenantArgs(srv)...))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(args), "TMPDIR="+t.TempDir())
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-proxy.stalled:
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		err := <-exited
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != -1 {
			t.Fatalf("export was not killed mid-upload (%v):\n%s", err, out.String())
		}
	case err := <-exited:
		t.Fatalf("export finished (%v) before its upload passed %d bytes; the test tenant is too small:\n%s", err, proxy.limit, out.String())
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("export never reached the upload:\n%s", out.String())
	}
	if names := objectNames(t, dirURL); len(names) != 0 {
		t.Errorf("killed export left %v in the bucket prefix", names)
	}
}

// prune over a bucket prefix keeps and removes exactly
// what it does over a directory holding the same names.
func TestPruneBucketMatchesDirectory(t *testing.T) {
	s3 := s3test.Start(t)
	ctx := context.Background()
	var names []string
	start := time.Date(2026, 8, 1, 2, 0, 0, 0, time.UTC)
	for i := 0; i < 70; i++ {
		at := start.Add(time.Duration(i*29) * time.Hour) // irregular: some days twice, some not at all
		names = append(names, retention.FileName("acme", at))
		if i%3 == 0 {
			names = append(names, retention.FileName("globex", at.Add(7*time.Minute)))
		}
	}
	strays := []string{".acme-connectors-20261123T031500Z.tar.zst.42.tmp", "README.txt", "acme-connectors-latest.tar.zst"}
	dir := t.TempDir()
	bucketURL := s3.URL(t, "bkt", "prune/here")
	loc, err := storage.Open(ctx, bucketURL)
	if err != nil {
		t.Fatal(err)
	}
	defer loc.Close()
	real := realistic.ArchiveBytes(t)
	for _, n := range append(slices.Clone(names), strays...) {
		data := []byte(n)
		if slices.Contains(names, n) {
			data = real
		}
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o600); err != nil {
			t.Fatal(err)
		}
		w, err := loc.Create(ctx, n, storage.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// A sub-prefix is not part of the prefix, as a subdirectory is not.
	sub, err := storage.Open(ctx, s3.URL(t, "bkt", "prune/here/older"))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := sub.Create(ctx, names[0], storage.WriteOptions{})
	w.Write([]byte("x"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sub.Close()

	type outcome struct {
		Tenant       string
		Keep, Remove []string
		Reasons      [][]string
	}
	prune := func(where string) []outcome {
		stdout, stderr, _ := runPruneCLI(t, where, "--keep-last", "3", "--keep-daily", "5", "--keep-weekly", "3", "--keep-monthly", "2", "--json")
		var res retention.Result
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatalf("prune %s --json: %v\n%s%s", where, err, stdout, stderr)
		}
		if len(res.Errors) != 0 {
			t.Fatalf("prune %s: errors %+v", where, res.Errors)
		}
		var out []outcome
		for _, tr := range res.Tenants {
			o := outcome{Tenant: tr.Tenant}
			for _, e := range tr.Keep {
				o.Keep = append(o.Keep, storage.BaseName(e.Path))
				o.Reasons = append(o.Reasons, e.Reasons)
			}
			for _, e := range tr.Remove {
				o.Remove = append(o.Remove, storage.BaseName(e.Path))
			}
			out = append(out, o)
		}
		return out
	}
	fromDir, fromBucket := prune(dir), prune(bucketURL)
	if d := cmp.Diff(fromDir, fromBucket); d != "" {
		t.Fatalf("prune decisions differ (-directory +bucket):\n%s", d)
	}
	removed := 0
	for _, o := range fromDir {
		removed += len(o.Remove)
	}
	if removed < len(names)/2 {
		t.Fatalf("the policy removed only %d of %d archives: the test data does not exercise it", removed, len(names))
	}
	var left []string
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if e.Name() != ".connvault.lock" { // the directory lock; a bucket has none
			left = append(left, e.Name())
		}
	}
	if d := cmp.Diff(left, objectNames(t, bucketURL)); d != "" {
		t.Errorf("what is left differs (-directory +bucket):\n%s", d)
	}
	for _, s := range strays {
		if !slices.Contains(left, s) {
			t.Errorf("prune removed %s, which is not an archive", s)
		}
	}
	if got := objectNames(t, s3.URL(t, "bkt", "prune/here/older")); len(got) != 1 {
		t.Errorf("prune touched the sub-prefix: it holds %v", got)
	}
}

// file:// URLs are local paths; other schemes are refused with one clear
// error instead of becoming odd relative paths.
func TestLocationForms(t *testing.T) {
	clearSailEnv(t)
	srv := spectest.Start(t, sandbox.Options{})
	ctx := context.Background()
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, ctx, append([]string{"export", "--output-dir", "file://" + dir, "--json"}, tenantArgs(srv)...)...)
	if code != 0 {
		t.Fatalf("export to file://: exit %d\n%s", code, stderr)
	}
	var sum exportSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(sum.Archive) != dir {
		t.Fatalf("archive %s is not in %s", sum.Archive, dir)
	}
	if code, out, _ := runCLI(t, ctx, "verify", "file://"+sum.Archive); code != 0 {
		t.Errorf("verify file://: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		append([]string{"export", "--output-dir", "ftp://host/backups"}, tenantArgs(srv)...),
		{"verify", "ftp://host/x.tar.zst"},
		{"ls", "s3://key:secret@bkt/x.tar.zst"},
	} {
		code, out, errOut := runCLI(t, ctx, args...)
		msg := out + errOut
		if code == 0 || !(strings.Contains(msg, "unsupported scheme") || strings.Contains(msg, "credentials do not go in the URL")) {
			t.Errorf("%v: exit %d, want a clear refusal:\n%s", args, code, msg)
		}
		if strings.Contains(msg, "secret@") || strings.Contains(msg, "key:secret") {
			t.Errorf("%v: the error repeats credentials from the URL:\n%s", args, msg)
		}
	}
	if _, err := os.Stat("ftp:"); err == nil {
		t.Error("an ftp:// location became a local directory")
	}
}
