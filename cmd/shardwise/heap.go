package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// startHeapBytes is the least heap goal of a command (startHeap).
const startHeapBytes = 128 << 20

// startHeap keeps the garbage collector's heap goal at about goal bytes
// until the live heap reaches the point where GOGC alone would set a goal
// that high (half of it, at GOGC 100), then gives GOGC back its value. Go
// starts with a 4 MiB goal and doubles it each cycle as the heap grows, so
// a short command that builds a large graph collects a dozen times on the
// way up (14 times in `plan` of a 10,000-task graph, docs/benchmarks.md),
// marking the same young objects again and again. The Go compiler starts
// its heap the same way, for the same reason (cmd/compile's
// "AdjustStartingHeap", 128 MiB; Go issue 56546). A user's GOGC or
// GOMEMLIMIT is left as it is.
//
// After each collection a finalizer, on an object that is garbage from the
// start, reads the live heap and sets GOGC so that the next goal is goal:
// goal / live - 1, in percent.
func startHeap(goal int64) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	percent := debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	if percent <= 0 {
		return // collection off (debug.SetGCPercent(-1) before): nothing to start
	}
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	// sentinel is larger than the tiny allocator's 16 bytes, whose objects
	// may never be finalized.
	type sentinel [32]byte
	var afterGC func(*sentinel)
	afterGC = func(*sentinel) {
		metrics.Read(live)
		p := percent
		if live[0].Value.Kind() == metrics.KindUint64 {
			p = boostedPercent(live[0].Value.Uint64(), percent, goal)
		}
		debug.SetGCPercent(p)
		if p != percent {
			runtime.SetFinalizer(new(sentinel), afterGC)
		}
	}
	afterGC(nil)
}

// boostedPercent is the GOGC that sets the heap goal to goal after a
// collection that left live bytes, or percent when that is more. Before
// the first collection live is 0: it is taken as Go's first goal, 4 MiB,
// where that collection comes whatever GOGC says.
func boostedPercent(live uint64, percent int, goal int64) int {
	if live == 0 {
		live = 4 << 20
	}
	return max(int(float64(goal)/float64(live)*100)-100, percent)
}
