package launcher

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// TestConcurrentlyOverlapsUpToTheLimit checks that concurrently keeps up
// to limit calls in flight (never more), starts them in index order and
// runs every call.
func TestConcurrentlyOverlapsUpToTheLimit(t *testing.T) {
	const n, limit = 40, 6
	var mu sync.Mutex
	inFlight, peak := 0, 0
	var started []int
	release := make(chan struct{})
	go func() {
		// Let the calls pile up before any returns, then let them go.
		time.Sleep(50 * time.Millisecond)
		close(release)
	}()
	errs := concurrently(n, limit, func(i int) error {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		started = append(started, i)
		mu.Unlock()
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		return nil
	})
	if peak != limit {
		t.Errorf("peak in flight %d, want %d", peak, limit)
	}
	if len(started) != n {
		t.Fatalf("%d calls, want %d", len(started), n)
	}
	// The first wave is 0..limit-1 in some order (goroutines start in any
	// order); a call beyond the first wave starts only after an earlier
	// index was handed out.
	seen := map[int]bool{}
	for _, i := range started[:limit] {
		seen[i] = true
	}
	for i := range limit {
		if !seen[i] {
			t.Errorf("call %d not in the first wave %v", i, started[:limit])
		}
	}
	if err := firstError(errs); err != nil {
		t.Errorf("error %v", err)
	}
}

// TestConcurrentlyStopsAfterAFailure checks that no call starts after one
// has failed, that the calls already started finish, and that the first
// failure by index is the one returned.
func TestConcurrentlyStopsAfterAFailure(t *testing.T) {
	boom := errors.New("boom")
	var mu sync.Mutex
	ran := map[int]bool{}
	errs := concurrently(10, 1, func(i int) error {
		mu.Lock()
		ran[i] = true
		mu.Unlock()
		if i == 3 {
			return boom
		}
		return nil
	})
	for i := range 10 {
		switch {
		case i < 3 && (errs[i] != nil || !ran[i]):
			t.Errorf("call %d: ran %v, error %v; want ran, nil", i, ran[i], errs[i])
		case i == 3 && !errors.Is(errs[i], boom):
			t.Errorf("call 3: error %v, want boom", errs[i])
		case i > 3 && (ran[i] || !errors.Is(errs[i], errNotStarted)):
			t.Errorf("call %d: ran %v, error %v; want not started", i, ran[i], errs[i])
		}
	}
	if err := firstError(errs); !errors.Is(err, boom) {
		t.Errorf("firstError %v, want boom", err)
	}
	if got := firstError(concurrently(3, 0, func(int) error { return nil })); got != nil {
		t.Errorf("limit 0 (taken as 1): %v", got)
	}
}
