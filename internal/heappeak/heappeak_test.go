package heappeak

import (
	"runtime"
	"testing"
	"time"
)

// TestWatchSeesALiveAllocation holds 64 MiB live for a while and checks the
// peak covers most of it, and that a watch over nothing stays well below.
func TestWatchSeesALiveAllocation(t *testing.T) {
	stop := Watch()
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	time.Sleep(20 * time.Millisecond) // a few sampling ticks
	runtime.KeepAlive(buf)
	if peak := stop(); peak < 60<<20 {
		t.Errorf("peak %d bytes while 64 MiB were live", peak)
	}
	buf = nil
	stop = Watch()
	time.Sleep(5 * time.Millisecond)
	if peak := stop(); peak > 16<<20 {
		t.Errorf("peak %d bytes over no work", peak)
	}
}
