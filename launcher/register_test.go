package launcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner/plan"
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

// allocEvent is an allocation event of job's allocation 0 in status,
// created at Raft index create.
func allocEvent(job, status string, create uint64) api.Event {
	return api.Event{Topic: api.TopicAllocation, Type: "AllocationUpdated", Index: create + 1,
		Payload: map[string]any{"Allocation": map[string]any{
			"ID": fmt.Sprintf("%s-%d", job, create), "JobID": job, "Name": job + ".g[0]", "NodeID": "n1", "NodeName": "n1",
			"ClientStatus": status, "DesiredStatus": "run", "CreateIndex": create, "ModifyIndex": create + 1}}}
}

// within runs step and fails the test if it has not returned after two
// minutes: a guard against the run loop waiting for a registration, not
// a timing assertion.
func within(t *testing.T, what string, step func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- step() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s waited for a registration in flight", what)
	}
}

// TestRegistrationsOverlapWaves: a shard that becomes ready while an
// earlier wave's registration is still in Nomad is registered at once,
// beside it, and the events about a job whose registration is in flight
// are applied once it is recorded. Before the registration pipeline the
// run loop waited for each wave's registrations, so on a loaded cluster
// the launcher registered one small wave at a time.
func TestRegistrationsOverlapWaves(t *testing.T) {
	p := &plan.Plan{Run: "r1", Graph: "g", Shards: []*plan.Shard{
		{ID: "a", Job: "job-a", Class: "cpu"}, {ID: "c", Job: "job-c", Class: "cpu"},
		{ID: "b", Job: "job-b", Class: "cpu", Upstream: []string{"a"}}}}
	tr, err := newTracker(p, []*api.Job{testJob("job-a", "batch", 1), testJob("job-c", "batch", 1), testJob("job-b", "batch", 1)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(nil, p, tr, Options{NoLocality: true}.withDefaults(), "")
	started := make(chan string, 8)
	release := map[string]chan uint64{"job-a": make(chan uint64), "job-b": make(chan uint64), "job-c": make(chan uint64)}
	r.register = func(j *api.Job, _ *api.WriteOptions) (uint64, error) {
		started <- *j.ID
		return <-release[*j.ID], nil
	}
	ctx := context.Background()
	a, b, c := tr.byJob["job-a"], tr.byJob["job-b"], tr.byJob["job-c"]

	within(t, "submitting the roots", func() error { return r.submitReady(ctx) })
	got := []string{<-started, <-started}
	if slices.Sort(got); got[0] != "job-a" || got[1] != "job-c" {
		t.Fatalf("registrations started %v, want job-a and job-c", got)
	}
	release["job-a"] <- 10
	within(t, "recording job-a", func() error { return r.registered(ctx, <-r.registrations()) })
	if a.state != Submitted || a.since != 10 {
		t.Fatalf("job-a %v since %d, want submitted since 10", a.state, a.since)
	}
	// job-a completes while job-c's registration is still in flight.
	within(t, "job-a's completion", func() error {
		return r.handle(ctx, streamMsg{events: []api.Event{allocEvent("job-a", "complete", 11)}})
	})
	if got := <-started; got != "job-b" || r.reg.busy != 2 {
		t.Fatalf("started %s with %d in flight, want job-b beside job-c (2)", got, r.reg.busy)
	}
	// An event about job-b before its registration is recorded waits.
	within(t, "an early event of job-b", func() error {
		return r.handle(ctx, streamMsg{events: []api.Event{allocEvent("job-b", "complete", 21)}})
	})
	if b.state != Pending || len(r.reg.deferred[b]) != 1 {
		t.Fatalf("job-b %v with %d deferred events, want pending with 1", b.state, len(r.reg.deferred[b]))
	}
	release["job-b"] <- 20
	within(t, "recording job-b", func() error { return r.registered(ctx, <-r.registrations()) })
	if b.state != Complete || len(r.reg.deferred) != 0 {
		t.Fatalf("job-b %v (%d jobs with deferred events), want complete from its deferred event", b.state, len(r.reg.deferred))
	}
	release["job-c"] <- 12
	within(t, "recording job-c", func() error { return r.registered(ctx, <-r.registrations()) })
	if c.state != Submitted || r.reg.busy != 0 || len(r.reg.queue) != 0 {
		t.Fatalf("job-c %v, %d in flight, %d queued; want submitted, none left", c.state, r.reg.busy, len(r.reg.queue))
	}
}

// TestRegistrationQueueKeepsTheLimit queues more ready shards than the
// register concurrency: no more start than the limit, the first limit
// together and the rest in plan order, each as a result is recorded.
func TestRegistrationQueueKeepsTheLimit(t *testing.T) {
	const n, limit = 20, 3
	f := &fakeStore{started: make(chan *runstate.Progress, 1), release: make(chan error)}
	r := wideRunner(t, n, f)
	r.sv = nil
	r.o.RegisterConcurrency, r.o.NoLocality = limit, true
	started := make(chan string, n)
	release := make(chan uint64)
	r.register = func(j *api.Job, _ *api.WriteOptions) (uint64, error) {
		started <- *j.ID
		return <-release, nil
	}
	ctx := context.Background()
	within(t, "submitting the wave", func() error { return r.submitReady(ctx) })
	var order []string
	for i := range n {
		if i < limit {
			order = append(order, <-started)
			continue
		}
		if r.reg.busy != limit || len(started) != 0 {
			t.Fatalf("%d in flight, %d more started, want %d and none", r.reg.busy, len(started), limit)
		}
		release <- uint64(i)
		within(t, "recording a registration", func() error { return r.registered(ctx, <-r.registrations()) })
		order = append(order, <-started)
	}
	for range limit {
		release <- 100
		within(t, "recording a registration", func() error { return r.registered(ctx, <-r.registrations()) })
	}
	// The first limit start together, in any order.
	slices.Sort(order[:limit])
	for i, id := range order {
		if want := fmt.Sprintf("job-%04d", i); id != want {
			t.Fatalf("registration %d was %s, want %s (plan order)", i, id, want)
		}
	}
	for _, u := range r.t.units {
		if u.state != Submitted {
			t.Fatalf("%s %v after its registration, want submitted", u.id, u.state)
		}
	}
}
