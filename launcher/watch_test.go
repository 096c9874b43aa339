package launcher

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/sdk"
)

// recorder is a Progress that keeps every change.
type recorder struct {
	changes []Change
	started bool
	ended   bool
}

func (r *recorder) Start(Snapshot)              { r.started = true }
func (r *recorder) Change(c Change, _ Snapshot) { r.changes = append(r.changes, c) }
func (r *recorder) Finish(Snapshot)             { r.ended = true }

// TestNotifyReportsPlacement checks that a shard whose allocation is
// created while it is still submitted is reported as a Placed change
// (state and reason unchanged), and that its running and complete
// changes carry the allocation and Nomad's task times.
func TestNotifyReportsPlacement(t *testing.T) {
	p, jobs := fixture()
	tr, err := newTracker(p, jobs, 1)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	r := newRunner(nil, p, tr, Options{Progress: rec}.withDefaults(), "")
	u := tr.byJob["job-a"]
	tr.registered(u, 10, time.Now())
	r.notify()
	if len(rec.changes) != 1 || rec.changes[0].To != Submitted || rec.changes[0].Placed {
		t.Fatalf("after registration: %+v, want one submitted change", rec.changes)
	}
	a := alloc("job-a", 0, api.AllocClientStatusPending, "n1", 11, 11)
	tr.observeAlloc("job-a", a)
	tr.settle(u, time.Now())
	r.notify()
	if len(rec.changes) != 2 {
		t.Fatalf("after placement: %d changes, want 2", len(rec.changes))
	}
	if c := rec.changes[1]; !c.Placed || c.From != Submitted || c.To != Submitted || c.Alloc != a.ID || c.Node != "n1" {
		t.Errorf("placement change %+v, want Placed submitted -> submitted on n1 with allocation %s", c, a.ID)
	}
	r.notify()
	if len(rec.changes) != 2 {
		t.Errorf("notify without news reported %+v", rec.changes[2:])
	}
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a.ClientStatus, a.ModifyIndex = api.AllocClientStatusRunning, 12
	a.TaskStates = map[string]*api.TaskState{"t": {State: "running", StartedAt: started}}
	tr.observeAlloc("job-a", a)
	tr.settle(u, time.Now())
	r.notify()
	if c := rec.changes[len(rec.changes)-1]; c.To != Running || c.Placed || !c.Started.Equal(started) || !c.Finished.IsZero() {
		t.Errorf("running change %+v, want running from %s, no finish", c, started)
	}
	a.ClientStatus, a.ModifyIndex = api.AllocClientStatusComplete, 13
	a.TaskStates = map[string]*api.TaskState{"t": {State: "dead", StartedAt: started, FinishedAt: started.Add(3 * time.Second)}}
	tr.observeAlloc("job-a", a)
	tr.observeJob("job-a", dead(10, 14))
	tr.settle(u, time.Now())
	r.notify()
	if c := rec.changes[len(rec.changes)-1]; c.To != Complete || !c.Finished.Equal(started.Add(3*time.Second)) {
		t.Errorf("complete change %+v, want the task's finish", c)
	}
}

// TestWatchRegistration checks how a watching runner follows the driving
// launcher's registrations: a first one, a stale one, a retry and a
// re-planned class.
func TestWatchRegistration(t *testing.T) {
	p, jobs := fixture()
	tr, err := newTracker(p, jobs, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(nil, p, tr, Options{}.withDefaults(), "")
	r.watch = &watching{}
	reg := func(id string, index uint64, meta map[string]string, stop bool) *api.Job {
		return &api.Job{ID: new(id), JobModifyIndex: new(index), Meta: meta, Stop: new(stop)}
	}
	a := tr.byJob["job-a"]
	r.watchRegistration(reg("job-a", 10, nil, true))
	if a.state != Pending {
		t.Fatalf("a stopped job's event registered job-a: %v", a.state)
	}
	r.watchRegistration(reg("job-a", 10, nil, false))
	if a.state != Submitted || a.attempt != 1 || a.since != 10 {
		t.Fatalf("job-a after its registration: %v attempt %d since %d", a.state, a.attempt, a.since)
	}
	a.state = Running
	r.watchRegistration(reg("job-a", 9, map[string]string{sdk.MetaAttempt: "2"}, false))
	if a.state != Running || a.attempt != 1 {
		t.Errorf("a stale registration moved job-a: %v attempt %d", a.state, a.attempt)
	}
	r.watchRegistration(reg("job-a", 20, map[string]string{sdk.MetaAttempt: "2"}, false))
	if a.state != Submitted || a.attempt != 2 || a.since != 20 {
		t.Errorf("job-a after its retry: %v attempt %d since %d, want submitted, attempt 2 since 20", a.state, a.attempt, a.since)
	}
	b := tr.byJob["job-b"]
	r.watchRegistration(reg("job-b", 30, map[string]string{sdk.MetaClass: "gpu"}, false))
	if b.shards[0].Class != "gpu" || b.shards[1].Class != "gpu" || !strings.Contains(b.note, "from cpu to gpu") || tr.byID["b1"] != b {
		t.Errorf("re-planned job-b: classes %s, %s, note %q", b.shards[0].Class, b.shards[1].Class, b.note)
	}
	if p.Shards[1].Class != "cpu" {
		t.Errorf("the plan's shard was changed: %s", p.Shards[1].Class)
	}
}

// TestPlacedChangesNotPrinted checks that the text progress leaves out
// allocation-only changes, and that Tee passes every call on.
func TestPlacedChangesNotPrinted(t *testing.T) {
	var sb strings.Builder
	rec := &recorder{}
	p := Tee(NewPlain(&sb), nil, rec)
	p.Start(Snapshot{Run: "r1"})
	p.Change(Change{Shard: "s1", From: Submitted, To: Submitted, Alloc: "abc", Placed: true}, Snapshot{})
	p.Finish(Snapshot{Run: "r1"})
	if strings.Contains(sb.String(), "s1") {
		t.Errorf("plain progress printed a placement:\n%s", sb.String())
	}
	if !rec.started || len(rec.changes) != 1 || !rec.ended {
		t.Errorf("Tee did not pass every call: %+v", rec)
	}
}
