package launcher

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/plan"
)

func TestWithMemoryRaisesEveryTaskAndKeepsTheJob(t *testing.T) {
	j := testJob("job-a", "batch", 1)
	j.TaskGroups[0].Tasks = []*api.Task{{Name: "t", Resources: &api.Resources{CPU: new(500), MemoryMB: new(64), MemoryMaxMB: new(128)}}}
	got := withMemory(j, 80)
	res := got.TaskGroups[0].Tasks[0].Resources
	if *res.MemoryMB != 80 || *res.MemoryMaxMB != 160 || *res.CPU != 500 {
		t.Errorf("resources memory %d max %d cpu %d, want 80, 160 (same factor), 500", *res.MemoryMB, *res.MemoryMaxMB, *res.CPU)
	}
	if orig := j.TaskGroups[0].Tasks[0].Resources; *orig.MemoryMB != 64 || *orig.MemoryMaxMB != 128 {
		t.Errorf("the original job changed: memory %d max %d", *orig.MemoryMB, *orig.MemoryMaxMB)
	}
	if taskMemory(j, 0) != 64 || taskMemory(j, 80) != 80 || taskMemory(testJob("x", "batch", 1), 0) != 0 {
		t.Errorf("taskMemory: %d %d", taskMemory(j, 0), taskMemory(j, 80))
	}
}

func TestSummaryShowsReplansAndResizes(t *testing.T) {
	rep := &Report{Run: "r1", Start: time.Unix(0, 0), End: time.Unix(10, 0),
		Shards: []ShardResult{{Shard: "s001-join", Class: "cpu-heavy", State: Complete, Attempts: 1}},
		Replans: []Replan{{Job: "g-r1-s001-join", Shards: []string{"s001-join"}, From: "memory-intensive", To: "cpu-heavy",
			Reason: "no ready node in memory-intensive"}},
		Resizes: []Resize{{Job: "g-r1-s000-hog", Shard: "s000-hog", Alloc: "0123456789ab", Attempt: 1, FromMiB: 64, ToMiB: 80}},
	}
	var sb strings.Builder
	if err := rep.WriteSummary(&sb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"re-planned s001-join: memory-intensive -> cpu-heavy (no ready node in memory-intensive)\n",
		"retried s000-hog with 80 MiB memory, was 64 MiB (allocation 01234567 OOM-killed on attempt 1)\n",
	} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sb.String())
		}
	}
}

func TestReplanRequestSplitsTheRun(t *testing.T) {
	p, jobs := fixture()
	tr, err := newTracker(p, jobs, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{plan: p, t: tr, nodes: newNodeCache(nil)}
	r.nodes.class["n1"], r.nodes.name["n1"] = "cpu", "node-1"
	a := tr.byJob["job-a"]
	tr.registered(a, 10, time.Now())
	tr.observeAlloc("job-a", allocInfo{ID: "a1", NodeID: "n1", Index: 0, ClientStatus: api.AllocClientStatusComplete, CreateIndex: 11, ModifyIndex: 12})
	tr.settle(a, time.Now())
	req := r.replanRequest(t.Context(), tr.ready())
	ids := func(ss []*plan.Shard) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return strings.Join(out, ",")
	}
	if got := ids(req.Next); got != "b0,b1,c,d" {
		t.Errorf("Next = %s, want b0,b1,c,d (b's pieces and the c~d stream group)", got)
	}
	if got := ids(req.Pending); got != "b0,b1,c,d,e" {
		t.Errorf("Pending = %s, want b0,b1,c,d,e", got)
	}
	if len(req.Done) != 1 || req.Done[0].Shard != "a" || req.Done[0].State != Complete || req.Done[0].NodeClass != "cpu" {
		t.Errorf("Done = %+v, want shard a complete", req.Done)
	}
	if len(req.Plan.Shards) != len(p.Shards) || req.Plan == p {
		t.Errorf("request plan: %d shards, same pointer %v; want a copy with every shard", len(req.Plan.Shards), req.Plan == p)
	}
}
