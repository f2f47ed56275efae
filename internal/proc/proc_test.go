package proc

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestGone(t *testing.T) {
	if Gone(os.Getpid()) || Gone(os.Getppid()) {
		t.Error("a running process taken for gone")
	}
	if Gone(0) || Gone(-1) {
		t.Error("no PID at all taken for a process that is gone")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if !Gone(cmd.Process.Pid) {
		t.Errorf("pid %d exited and was waited for, yet not gone", cmd.Process.Pid)
	}
}

func TestHostTag(t *testing.T) {
	tag := HostTag()
	h, err := os.Hostname()
	if err != nil || h == "" {
		if tag != "" {
			t.Errorf("no host name, tag %q", tag)
		}
		return
	}
	if len(tag) != 8 || strings.Trim(tag, "0123456789abcdef") != "" || tag != HostTag() {
		t.Errorf("tag %q: want 8 stable lower-case hex digits", tag)
	}
}
