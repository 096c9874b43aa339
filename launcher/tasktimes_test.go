package launcher

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner/plan"
)

// keepPlan is a Replanner that never moves a job.
type keepPlan struct{}

func (keepPlan) Replan(context.Context, ReplanRequest) ([]Move, error) { return nil, nil }

// TestTaskTimesReachTheReplanner: a fused shard's per-task runtimes, once
// read from its complete allocation, are in the completion record the
// Replanner gets (ReplanRequest.Done), in the summary, in the stored
// progress and in a unit restored from it; a new registration forgets
// them. The read is skipped (no Nomad call: the runner has no client)
// without a Replanner, and for a one-task shard or a split piece.
func TestTaskTimesReachTheReplanner(t *testing.T) {
	p := &plan.Plan{Run: "r1", Graph: "g", Shards: []*plan.Shard{
		{ID: "f", Job: "job-f", Class: "cpu", Tasks: []string{"x", "y"}},
		{ID: "s0", Job: "job-s", Class: "cpu", Tasks: []string{"z"}, Split: &plan.Split{Task: "z", Index: 0, Count: 2}, Upstream: []string{"f"}},
		{ID: "s1", Job: "job-s", Class: "cpu", Tasks: []string{"z"}, Split: &plan.Split{Task: "z", Index: 1, Count: 2}, Upstream: []string{"f"}},
		{ID: "h", Job: "job-h", Class: "cpu", Tasks: []string{"w"}, Upstream: []string{"f"}},
	}}
	jobs := []*api.Job{testJob("job-f", "batch", 1), testJob("job-s", "batch", 2), testJob("job-h", "batch", 1)}
	tr, err := newTracker(p, jobs, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{plan: p, t: tr, nodes: newNodeCache(nil)}
	r.nodes.class["n1"], r.nodes.name["n1"] = "cpu", "node-1"
	f := tr.byJob["job-f"]
	tr.registered(f, 10, time.Now())
	tr.observeAlloc("job-f", allocInfo{ID: "f1", NodeID: "n1", Index: 0, ClientStatus: api.AllocClientStatusComplete, CreateIndex: 11, ModifyIndex: 12})
	if v := tr.settle(f, time.Now()); v != done {
		t.Fatalf("settle = %v, want done", v)
	}
	r.readTaskTimes(t.Context(), f) // no Replanner: nothing to read for
	if f.taskSeconds != nil {
		t.Fatalf("task times %v read without a Replanner", f.taskSeconds)
	}
	r.o.Replanner = keepPlan{}
	for _, job := range []string{"job-s", "job-h"} {
		u := tr.byJob[job]
		tr.registered(u, 20, time.Now())
		for i := range u.count {
			tr.observeAlloc(job, allocInfo{ID: job + string(rune('0'+i)), NodeID: "n1", Index: i, ClientStatus: api.AllocClientStatusComplete, CreateIndex: 21, ModifyIndex: 22})
		}
		tr.settle(u, time.Now())
		r.readTaskTimes(t.Context(), u) // untimed: must not call Nomad
		if u.taskSeconds != nil {
			t.Errorf("%s: task times %v for a shard whose script does not time its tasks", job, u.taskSeconds)
		}
	}

	f.taskSeconds = []float64{1.5, 2.5} // as readTaskTimes stores them
	req := r.replanRequest(t.Context(), nil)
	var got []float64
	for _, d := range req.Done {
		if d.Shard == "f" {
			got = d.TaskSeconds
		} else if d.TaskSeconds != nil {
			t.Errorf("Done %s carries task times %v", d.Shard, d.TaskSeconds)
		}
	}
	if !slices.Equal(got, []float64{1.5, 2.5}) {
		t.Errorf("Done f task times %v, want [1.5 2.5]", got)
	}
	var sb strings.Builder
	if err := r.report().WriteSummary(&sb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "per-task times of fused shards (run order):\n  f: 1.5s 2.5s\n") {
		t.Errorf("summary lacks f's task times:\n%s", sb.String())
	}
	rec := r.progress(t.Context()).Units["job-f"]
	if rec == nil || len(rec.Pieces) != 1 || !slices.Equal(rec.Pieces[0].TaskSeconds, []float64{1.5, 2.5}) {
		t.Fatalf("stored progress of job-f %+v, want its pieces with the task times", rec)
	}
	tr2, err := newTracker(p, jobs, 0)
	if err != nil {
		t.Fatal(err)
	}
	f2 := tr2.byJob["job-f"]
	f2.restoreRecord(&runstate.Unit{Attempts: 1, State: Complete.String(), Pieces: rec.Pieces})
	if !slices.Equal(f2.taskSeconds, []float64{1.5, 2.5}) {
		t.Errorf("restored task times %v, want [1.5 2.5]", f2.taskSeconds)
	}
	tr.registered(f, 30, time.Now())
	if f.taskSeconds != nil {
		t.Errorf("task times %v kept after a new registration", f.taskSeconds)
	}
}
