package parallel

import (
	"runtime"
	"sync/atomic"
	"testing"
)

func TestChunksCoverEachIndexOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, c := range []struct{ n, size int }{{0, 8}, {1, 8}, {8, 8}, {9, 8}, {1000, 7}, {5, 0}} {
		hits := make([]atomic.Int32, c.n)
		calls := atomic.Int32{}
		Chunks(c.n, c.size, func(lo, hi int) {
			calls.Add(1)
			if lo < 0 || hi > c.n || lo >= hi || hi-lo > max(c.size, 1) {
				t.Errorf("n %d size %d: range [%d, %d)", c.n, c.size, lo, hi)
			}
			for i := lo; i < hi; i++ {
				hits[i].Add(1)
			}
		})
		for i := range hits {
			if h := hits[i].Load(); h != 1 {
				t.Fatalf("n %d size %d: index %d done %d times", c.n, c.size, i, h)
			}
		}
		if c.n == 0 && calls.Load() != 0 {
			t.Errorf("n 0: %d calls", calls.Load())
		}
	}
}

// TestChunksWithStatePerGoroutine checks that every range is done once and
// that no state is used by two goroutines at once: each state counts the
// calls in flight on it.
func TestChunksWithStatePerGoroutine(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	type state struct{ busy atomic.Int32 }
	var made atomic.Int32
	hits := make([]atomic.Int32, 1000)
	ChunksWith(len(hits), 7, func() *state { made.Add(1); return new(state) }, func(st *state, lo, hi int) {
		if st.busy.Add(1) != 1 {
			t.Error("a state is used by two goroutines at once")
		}
		for i := lo; i < hi; i++ {
			hits[i].Add(1)
		}
		st.busy.Add(-1)
	})
	for i := range hits {
		if h := hits[i].Load(); h != 1 {
			t.Fatalf("index %d done %d times", i, h)
		}
	}
	if m := made.Load(); m < 1 || m > 4 {
		t.Errorf("%d states made for at most 4 goroutines", m)
	}
}
