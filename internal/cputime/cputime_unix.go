//go:build unix

// Package cputime reads the CPU time this process has used, for benchmarks:
// on a shared machine a benchmark's wall clock mostly measures the
// neighbours, so archive and importer report CPU seconds beside it.
package cputime

import (
	"syscall"
	"time"
)

// Process is the CPU time (user + system) this process has used, or 0 when
// it cannot be read.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
