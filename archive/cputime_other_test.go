//go:build !unix

package archive

import "time"

// cpuTime is not measured here; the MB/cpu-s metric is then omitted.
func cpuTime() time.Duration { return 0 }
