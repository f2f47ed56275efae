//go:build !unix

// Package cputime reads the CPU time this process has used, for benchmarks:
// on a shared machine a benchmark's wall clock mostly measures the
// neighbours, so archive and importer report CPU seconds beside it.
package cputime

import "time"

// Process is not measured here: it is 0, and benchmarks then omit their
// CPU metrics or report 0 CPU seconds.
func Process() time.Duration { return 0 }
