// Package parallel runs the independent iterations of a loop on every
// core, for the planner's per-task and per-shard passes.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Chunks calls fn on consecutive ranges [lo, hi) of at most size items that
// together cover [0, n), from up to GOMAXPROCS goroutines (one, the
// caller's, when n fits one range), and returns when every call has. The
// result is that of one loop over [0, n) when fn writes nothing that
// another range reads.
func Chunks(n, size int, fn func(lo, hi int)) {
	ChunksWith(n, size, func() struct{} { return struct{}{} }, func(_ struct{}, lo, hi int) { fn(lo, hi) })
}

// ChunksWith is Chunks with state per goroutine: each goroutine that runs
// ranges makes one state with newState and passes it to each of its fn
// calls, so that scratch buffers and caches carry over from range to
// range without being shared between goroutines.
func ChunksWith[S any](n, size int, newState func() S, fn func(st S, lo, hi int)) {
	size = max(size, 1)
	workers := min(runtime.GOMAXPROCS(0), (n+size-1)/size)
	if workers <= 1 {
		if n > 0 {
			fn(newState(), 0, n)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			st := newState()
			for {
				lo := int(next.Add(int64(size))) - size
				if lo >= n {
					return
				}
				fn(st, lo, min(lo+size, n))
			}
		})
	}
	wg.Wait()
}
