package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/graph"
)

// nearSiblings is Montage's shape in small: roots p1, p2, p3 (tool
// "proj", 2 s) and d1 <- p1, p2 and d2 <- p2, p3 (tool "diff", 1 s), on
// one class of one instance with a 5 s start-up. d1 and d2 wait for
// different upstream shards, so they are no exact siblings.
func nearSiblings() *fixture {
	f := newFixture(cls("cpu", 1, inf, 5))
	for _, p := range []string{"p1", "p2", "p3"} {
		f.task(p, graph.KindCPU, 2).Signature = "proj"
	}
	for _, d := range []string{"d1", "d2"} {
		f.task(d, graph.KindCPU, 1).Signature = "diff"
	}
	f.edge("p1", "d1", 0)
	f.edge("p2", "d1", 0)
	f.edge("p2", "d2", 0)
	f.edge("p3", "d2", 0)
	return f
}

// TestBatchNearSiblings: the exact siblings p1-p3 run in one batch,
// 5 + 3 x 2 = 11 s; d1 and d2, near siblings (one tool, different
// upstream shards, all of them in that batch), run in one more: 11 to
// 11 + 5 + 2 x 1 = 18 s. Without the near batch they would run 11-17 and
// 17-23.
func TestBatchNearSiblings(t *testing.T) {
	f := nearSiblings()
	p := f.build(t, Options{})
	wantMakespan(t, p, 18)
	if len(p.Shards) != 2 || p.Stats.BatchedTasks != 5 {
		t.Fatalf("%d shards, stats %+v", len(p.Shards), p.Stats)
	}
	d := shardOf(p, "d1")
	if got := strings.Join(d.Tasks, ","); got != "d1,d2" || d.StartSeconds != 11 || d.FinishSeconds != 18 {
		t.Errorf("near batch %s: tasks %s, %g-%g s", d.ID, got, d.StartSeconds, d.FinishSeconds)
	}
	if want := "run one tool and wait for different upstream shards (the batch waits for all of them) (2 such tasks run in 1 allocations)"; !strings.Contains(d.Reason, want) {
		t.Errorf("reason %q, want it to contain %q", d.Reason, want)
	}
	if up := shardOf(p, "p1"); len(d.Upstream) != 1 || d.Upstream[0] != up.ID {
		t.Errorf("near batch upstream %v, want [%s]", d.Upstream, up.ID)
	}
}

// TestNearSiblingsKeepTopologicalOrder: a near sibling whose upstream
// group comes after the set's first member starts a set of its own, so
// that a merged group never precedes one of its upstream groups. (d3 may
// still join d1's allocation as the join of its region, region.go, after
// d1.)
func TestNearSiblingsKeepTopologicalOrder(t *testing.T) {
	f := nearSiblings()
	// d3 <- d1: same tool as d1 and d2, but waits for d1.
	f.task("d3", graph.KindCPU, 1).Signature = "diff"
	f.edge("d1", "d3", 0)
	f.edge("p3", "d3", 0)
	p := f.build(t, Options{})
	a, b := shardOf(p, "d1"), shardOf(p, "d3")
	if a == b && slices.Index(a.Tasks, "d3") < slices.Index(a.Tasks, "d1") {
		t.Errorf("shard %s runs d3 before its predecessor d1: %v", a.ID, a.Tasks)
	}
	if strings.Contains(b.Reason, "batched") {
		t.Errorf("d3 batched as a near sibling of d1: %s", b.Reason)
	}
}
