package launcher

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/sdk"
)

// shardTask is a shard-driver task reading the given channels.
func shardTask(inputs ...sdk.ChannelConfig) *api.Task {
	tc := sdk.TaskConfig{Command: "true", Tasks: []sdk.TaskSpec{{Name: "t", Command: "true"}}, Inputs: inputs, Run: "r1", Shard: "x"}
	return &api.Task{Name: "t", Driver: sdk.DriverShard, Config: tc.Map()}
}

// inputAllocs returns each input's from_alloc of j's first task by "from".
func inputAllocs(t *testing.T, j *api.Job) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, v := range j.TaskGroups[0].Tasks[0].Config["inputs"].([]any) {
		in := v.(map[string]any)
		out[in["from"].(string)] = in["from_alloc"]
	}
	return out
}

func TestConsumerJobNamesTheProducerAllocation(t *testing.T) {
	p, jobs := fixture()
	// e reads b's two pieces (complete) and d (complete); d streams from
	// c, registered in the same wave.
	jobs[4].TaskGroups[0].Tasks = []*api.Task{shardTask(
		sdk.ChannelConfig{ID: "b0->e/o", From: "b0", To: "e", Name: "o"},
		sdk.ChannelConfig{ID: "b1->e/o", From: "b1", To: "e", Name: "o"},
		sdk.ChannelConfig{ID: "d->e", From: "d", To: "e"})}
	jobs[3].TaskGroups[0].Tasks = []*api.Task{shardTask(sdk.ChannelConfig{ID: "c->d/s", From: "c", To: "d", Name: "s", Stream: true})}
	raw := &api.Task{Name: "t", Driver: "raw_exec", Config: map[string]any{"command": "true",
		"inputs": []any{map[string]any{"from": "a"}}}}
	jobs[1].TaskGroups[0].Tasks = []*api.Task{raw}
	tr, err := newTracker(p, jobs, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{plan: p, t: tr, o: Options{NoLocality: true}}
	complete := func(job string, idx uint64) {
		u := tr.byJob[job]
		tr.registered(u, idx, time.Now())
		for i := range u.count {
			tr.observeAlloc(job, alloc(job, i, api.AllocClientStatusComplete, "n1", idx+1, idx+2))
		}
		tr.settle(u, time.Now())
	}
	complete("job-a", 10)

	// b runs raw_exec: its job is registered as it is.
	if got := r.submission(t.Context(), tr.byJob["job-b"]); got.TaskGroups[0].Tasks[0] != raw {
		t.Errorf("raw_exec task changed: %+v", got.TaskGroups[0].Tasks[0].Config)
	}
	// d is in c's wave (c streams to d): it is held while c has no
	// allocation, so its first registration always names c's.
	c, d := tr.byJob["job-c"], tr.byJob["job-d"]
	if c.group != d.group {
		t.Fatal("c and d are not one submission group")
	}
	if held := r.heldBy(c); held != "" {
		t.Errorf("c held by %q: its upstream a is in another group, complete", held)
	}
	if held := r.heldBy(d); held != "c" {
		t.Errorf("d before c is registered: held by %q, want c", held)
	}
	tr.registered(c, 20, time.Now())
	if held := r.heldBy(d); held != "c" {
		t.Errorf("d before c is placed: held by %q, want c", held)
	}
	if got := inputAllocs(t, r.submission(t.Context(), d)); got["c"] != nil {
		t.Errorf("d before c is placed: from_alloc %v, want none", got["c"])
	}
	// An allocation being stopped does not count as placed.
	stopping := alloc("job-c", 0, api.AllocClientStatusPending, "n1", 21, 21)
	stopping.DesiredStatus = api.AllocDesiredStatusStop
	tr.observeAlloc("job-c", stopping)
	if held := r.heldBy(d); held != "c" {
		t.Errorf("d while c's only allocation is being stopped: held by %q, want c", held)
	}
	// Placed, not started yet: d is registered naming that allocation.
	tr.observeAlloc("job-c", alloc("job-c", 0, api.AllocClientStatusPending, "n1", 23, 23))
	if held := r.heldBy(d); held != "" {
		t.Errorf("d once c is placed: held by %q", held)
	}
	if got := inputAllocs(t, r.submission(t.Context(), d)); got["c"] != "job-c-0-23" {
		t.Errorf("d once c is placed: from_alloc %v, want job-c-0-23 (pending)", got["c"])
	}
	// A retry of d while c streams names c's running allocation, not a
	// failed one.
	tr.observeAlloc("job-c", alloc("job-c", 0, api.AllocClientStatusRunning, "n1", 23, 24))
	tr.observeAlloc("job-c", alloc("job-c", 0, api.AllocClientStatusFailed, "n1", 25, 26))
	if got := inputAllocs(t, r.submission(t.Context(), d)); got["c"] != "job-c-0-23" {
		t.Errorf("d while c runs: from_alloc %v, want job-c-0-23", got["c"])
	}

	complete("job-b", 30)
	tr.observeAlloc("job-c", alloc("job-c", 0, api.AllocClientStatusComplete, "n1", 23, 40))
	tr.settle(c, time.Now())
	tr.registered(d, 41, time.Now())
	tr.observeAlloc("job-d", alloc("job-d", 0, api.AllocClientStatusFailed, "n1", 42, 43))
	tr.observeAlloc("job-d", alloc("job-d", 0, api.AllocClientStatusComplete, "n1", 44, 45))
	tr.settle(d, time.Now())

	e := tr.byJob["job-e"]
	before := inputAllocs(t, e.job)
	got := inputAllocs(t, r.submission(t.Context(), e))
	want := map[string]any{"b0": "job-b-0-31", "b1": "job-b-1-31", "d": "job-d-0-44"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("input from %s: from_alloc %v, want %v (the complete allocation)", k, got[k], v)
		}
	}
	for k, v := range before {
		if v != nil {
			t.Errorf("the plan's job changed: input from %s has from_alloc %v", k, v)
		}
	}
}
