package export

import (
	"container/heap"
	"context"
	"sync"
)

// slots bounds the requests in flight and hands a freed slot to the waiting
// request of the oldest connector. The archive is written in list order, so
// the connector at the head of the window is the one everything waits for:
// served first-come, its last documents can queue behind the requests of
// thirty others while the window is full and the pool runs dry.
type slots struct {
	mu      sync.Mutex
	free    int
	waiters waitHeap
}

type waiter struct {
	seq     int
	ready   chan struct{}
	granted bool
	index   int
}

func newSlots(n int) *slots { return &slots{free: n} }

// acquire takes a slot for a request of connector seq (lower is older).
func (s *slots) acquire(ctx context.Context, seq int) error {
	s.mu.Lock()
	if s.free > 0 && len(s.waiters) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	w := &waiter{seq: seq, ready: make(chan struct{})}
	heap.Push(&s.waiters, w)
	s.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		if w.granted {
			// Granted while we gave up: pass the slot on.
			s.releaseLocked()
		} else {
			heap.Remove(&s.waiters, w.index)
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

func (s *slots) release() {
	s.mu.Lock()
	s.releaseLocked()
	s.mu.Unlock()
}

func (s *slots) releaseLocked() {
	if len(s.waiters) == 0 {
		s.free++
		return
	}
	w := heap.Pop(&s.waiters).(*waiter)
	w.granted = true
	close(w.ready)
}

type waitHeap []*waiter

func (h waitHeap) Len() int           { return len(h) }
func (h waitHeap) Less(i, j int) bool { return h[i].seq < h[j].seq }
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waitHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.index = -1
	return w
}
