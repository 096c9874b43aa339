package main

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestStartHeap checks that startHeap raises GOGC so that the heap goal is
// the one asked for, gives GOGC back once a collection leaves a live heap
// of more than half the goal, and leaves a user's GOGC alone.
func TestStartHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	const goal = 64 << 20

	t.Setenv("GOGC", "200")
	startHeap(goal)
	if p := gcPercent(); p != 100 {
		t.Fatalf("with GOGC set: GOGC %d; want it untouched", p)
	}

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	runtime.GC() // a known live heap, far below the goal
	startHeap(goal)
	if p := gcPercent(); p <= 100 {
		t.Fatalf("started: GOGC %d; want it raised", p)
	}
	keep := make([]byte, 40<<20) // live: more than half the goal
	runtime.GC()
	for deadline := time.Now().Add(time.Minute); gcPercent() != 100; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC %d a minute after a collection with 40 MiB live; want 100 back", gcPercent())
		}
	}
	runtime.KeepAlive(keep)
}

// gcPercent reads GOGC without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestBoostedPercent(t *testing.T) {
	const goal = 128 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{{0, 3100}, {2 << 20, 6300}, {32 << 20, 300}, {63 << 20, 103}, {64 << 20, 100}, {100 << 20, 100}} {
		if got := boostedPercent(c.live, 100, goal); got != c.want {
			t.Errorf("live %d MiB: GOGC %d, want %d", c.live>>20, got, c.want)
		}
	}
}
