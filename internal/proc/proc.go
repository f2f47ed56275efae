// Package proc tells whether a process of this host is still running: what
// connvault needs to tell a killed run's leftovers (spool directories,
// temporary files beside archives) from a live run's.
package proc

import (
	"errors"
	"hash/fnv"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

// Gone reports whether no process pid exists on this host. When in doubt (a
// process of another user, a platform without signal 0) it says no: a live
// run's files must never be removed.
func Gone(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return true // Windows: no such process
	}
	if runtime.GOOS == "windows" {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH)
}

// HostTag is a short, file-name-safe tag of this host's name (8 hex digits
// of its FNV-1a hash), or "" when the name is unknown. Files named with it
// and a PID can be told to be this host's: only then does Gone mean
// anything for them.
func HostTag() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return ""
	}
	f := fnv.New32a()
	f.Write([]byte(h))
	s := strconv.FormatUint(uint64(f.Sum32()), 16)
	for len(s) < 8 {
		s = "0" + s
	}
	return s
}
