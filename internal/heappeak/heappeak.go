// Package heappeak measures the peak live heap of a piece of work, for the
// tests that hold diff and restore planning to a memory bound (the hostile
// archive bomb): a test starts Watch, does the work and calls stop.
package heappeak

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Watch samples the live heap every millisecond until stop is called, and
// stop returns the highest value seen above the level at the start.
func Watch() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > base && ms.HeapAlloc-base > peak.Load() {
					peak.Store(ms.HeapAlloc - base)
				}
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}
