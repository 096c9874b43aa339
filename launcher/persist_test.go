package launcher

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner/plan"
)

// fakeStore records the progress written and holds each write until the
// test releases it.
type fakeStore struct {
	started chan *runstate.Progress
	release chan error
}

func (f *fakeStore) write(ctx context.Context, p *runstate.Progress) error {
	f.started <- p
	return <-f.release
}

// wideRunner is a runner over n independent one-shard jobs whose progress
// goes to f.
func wideRunner(t *testing.T, n int, f *fakeStore) *runner {
	t.Helper()
	p := &plan.Plan{Run: "r1", Graph: "g"}
	var jobs []*api.Job
	for i := range n {
		id := fmt.Sprintf("job-%04d", i)
		p.Shards = append(p.Shards, &plan.Shard{ID: fmt.Sprintf("s%04d", i), Job: id, Class: "cpu"})
		jobs = append(jobs, testJob(id, "batch", 1))
	}
	tr, err := newTracker(p, jobs, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(nil, p, tr, Options{}.withDefaults(), "")
	r.sv = newSaver(f.write)
	return r
}

// TestProgressWritesCoalesce registers 1,000 jobs one event batch at a
// time while the first progress write is still in Nomad: the run loop
// goes on (it never waits for a write), only one write is in flight, and
// the next write carries every change made meanwhile. Before the saver,
// the loop wrote the whole progress after every batch and waited: 1,000
// writes of a growing state.
func TestProgressWritesCoalesce(t *testing.T) {
	const n = 1000
	f := &fakeStore{started: make(chan *runstate.Progress, n+1), release: make(chan error)}
	r := wideRunner(t, n, f)
	r.sv.every = 0
	ctx := context.Background()

	loopDone := make(chan error, 1)
	go func() {
		for i, u := range r.t.units {
			r.t.registered(u, uint64(i+1), t0)
			if err := r.persistLater(ctx, false); err != nil {
				loopDone <- err
				return
			}
		}
		loopDone <- nil
	}()
	first := <-f.started
	select {
	case err := <-loopDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute): // a guard against a hang, not a timing assertion
		t.Fatal("the run loop waited for the progress write in flight")
	}
	if len(first.Units) != 1 {
		t.Fatalf("first write has %d jobs, want 1", len(first.Units))
	}
	if r.sv.writes != 1 {
		t.Fatalf("%d writes started during one write in flight, want 1", r.sv.writes)
	}

	f.release <- nil
	if err := r.savedResult(ctx, <-r.saveResults()); err != nil {
		t.Fatal(err)
	}
	second := <-f.started
	if len(second.Units) != n || r.sv.writes != 2 {
		t.Fatalf("second write has %d jobs after %d writes, want %d jobs after 2", len(second.Units), r.sv.writes, n)
	}
	f.release <- nil
	if err := r.savedResult(ctx, <-r.saveResults()); err != nil {
		t.Fatal(err)
	}
	// Nothing changed since: an event batch that changes nothing writes
	// nothing.
	if err := r.persistLater(ctx, false); err != nil {
		t.Fatal(err)
	}
	if r.sv.writes != 2 || r.sv.inFlight {
		t.Fatalf("%d writes (in flight %v) after an unchanged batch, want 2 and none in flight", r.sv.writes, r.sv.inFlight)
	}
	if err := r.waitSave(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestProgressWritesSpaced holds a changed progress back until the
// interval has passed (the timer), but renews the lease at once.
func TestProgressWritesSpaced(t *testing.T) {
	f := &fakeStore{started: make(chan *runstate.Progress, 4), release: make(chan error, 4)}
	r := wideRunner(t, 3, f)
	r.sv.every = time.Hour
	ctx := context.Background()
	us := r.t.units

	r.t.registered(us[0], 1, t0)
	if err := r.persistLater(ctx, false); err != nil {
		t.Fatal(err)
	}
	<-f.started // the first write goes at once
	f.release <- nil
	if err := r.savedResult(ctx, <-r.saveResults()); err != nil {
		t.Fatal(err)
	}
	r.t.registered(us[1], 2, t0)
	if err := r.persistLater(ctx, false); err != nil {
		t.Fatal(err)
	}
	if r.sv.writes != 1 || r.saveTimer() == nil {
		t.Fatalf("%d writes, timer armed %v; want the change held back (1 write, timer armed)", r.sv.writes, r.saveTimer() != nil)
	}
	if err := r.persistLater(ctx, true); err != nil {
		t.Fatal(err)
	}
	if p := <-f.started; r.sv.writes != 2 || len(p.Units) != 2 {
		t.Fatalf("renewal: %d writes of %d jobs, want 2 writes, 2 jobs", r.sv.writes, len(p.Units))
	}
	// A launcher that lost the run is told so.
	f.release <- &runstate.HeldError{Run: "r1"}
	if err := r.savedResult(ctx, <-r.saveResults()); !lost(err) {
		t.Fatalf("savedResult after a lost lease: %v, want a HeldError", err)
	}
	if err := r.waitSave(ctx); err != nil {
		t.Fatal(err)
	}
}
