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
	size = max(size, 1)
	workers := min(runtime.GOMAXPROCS(0), (n+size-1)/size)
	if workers <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				lo := int(next.Add(int64(size))) - size
				if lo >= n {
					return
				}
				fn(lo, min(lo+size, n))
			}
		})
	}
	wg.Wait()
}
