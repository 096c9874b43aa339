package plan

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
)

// diamond is a join region in small: a (10 s) feeds p and j, p feeds only
// j, on one class of two instances with a 5 s start-up and no transfer
// time. p cannot fuse into a chain (a has two successors, j two
// predecessors), and p and j wait for different upstream shards, so
// neither chain fusion nor sibling batching merges them.
func diamond(p float64) *fixture {
	f := newFixture(cls("cpu", 2, inf, 5))
	f.task("a", graph.KindCPU, 10)
	f.task("p", graph.KindCPU, p)
	f.task("j", graph.KindCPU, 0.5)
	f.edge("a", "p", 0)
	f.edge("a", "j", 0)
	f.edge("p", "j", 0)
	return f
}

// TestJoinRegionFusesShortParent: p (0.5 s, shorter than the start-up)
// feeds only j, so it runs in j's allocation: a 0-15 s, then p and j in
// one allocation 15-21 s (5 s start-up, 0.5 + 0.5 s). Apart, p runs
// 15-20.5 s and j 20.5-26 s.
func TestJoinRegionFusesShortParent(t *testing.T) {
	pl := diamond(0.5).build(t, Options{})
	wantMakespan(t, pl, 21)
	s := shardOf(pl, "j")
	if len(pl.Shards) != 2 || strings.Join(s.Tasks, ",") != "p,j" {
		t.Fatalf("%d shards; j's shard runs %v, want p,j", len(pl.Shards), s.Tasks)
	}
	if a := shardOf(pl, "a"); len(s.Upstream) != 1 || s.Upstream[0] != a.ID || s.StartSeconds != 15 {
		t.Errorf("region shard upstream %v, start %g s; want [%s], 15 s", s.Upstream, s.StartSeconds, a.ID)
	}
	if pl.Stats.FusedTasks != 2 || pl.Stats.BatchedTasks != 0 {
		t.Errorf("stats %+v, want 2 fused tasks, none batched", pl.Stats)
	}
	if !strings.Contains(s.Reason, "fused with j to save a start-up") {
		t.Errorf("reason %q", s.Reason)
	}
}

// TestJoinRegionLeavesLongTasksApart: a parent longer than the start-up
// (8 s against 5 s) is left to run beside others, even where merging it
// would end sooner here (15 + 5 + 8.5 = 28.5 s against 33.5 s): the pass
// keeps to the parts of a graph that start-ups dominate.
func TestJoinRegionLeavesLongTasksApart(t *testing.T) {
	pl := diamond(8).build(t, Options{})
	wantMakespan(t, pl, 33.5)
	if shardOf(pl, "p") == shardOf(pl, "j") {
		t.Errorf("p (8 s) merged into j's allocation")
	}
}

// TestJoinRegionKeepsSlowerMergeApart: p (0.5 s, a root) feeds only j,
// which also waits for q (10 s). In j's allocation p would wait for q
// too: q 0-15 s, p and j 15-21 s, later than p 0-5.5 s and j 15-20.5 s
// apart, so the trial is rejected.
func TestJoinRegionKeepsSlowerMergeApart(t *testing.T) {
	f := newFixture(cls("cpu", 2, inf, 5))
	f.task("q", graph.KindCPU, 10)
	f.task("p", graph.KindCPU, 0.5)
	f.task("j", graph.KindCPU, 0.5)
	f.edge("q", "j", 0)
	f.edge("p", "j", 0)
	pl := f.build(t, Options{})
	wantMakespan(t, pl, 20.5)
	if len(pl.Shards) != 3 {
		t.Errorf("%d shards, want 3", len(pl.Shards))
	}
}

// TestJoinRegionGrowsOverLevels: Montage's band tail in small. r (10 s)
// feeds b1 and b2 (0.4 s each), which feed i (0.2 s) and add (0.4 s); i
// feeds add. The region grows from add: first i (its only successor is
// add), then b1 and b2 (their successors are now all in add's
// allocation); r (10 s) stays apart. r 0-15 s, the region 15-21.4 s (5 s
// start-up, 0.4 + 0.4 + 0.2 + 0.4 s). Apart: b1 and b2 15-20.4 s, i
// 20.4-25.6 s, add 25.6-31 s (a batch of b1 and b2 would end later).
func TestJoinRegionGrowsOverLevels(t *testing.T) {
	f := newFixture(cls("cpu", 2, inf, 5))
	f.task("r", graph.KindCPU, 10)
	f.task("b1", graph.KindCPU, 0.4)
	f.task("b2", graph.KindCPU, 0.4)
	f.task("i", graph.KindCPU, 0.2)
	f.task("add", graph.KindCPU, 0.4)
	for _, b := range []string{"b1", "b2"} {
		f.edge("r", b, 0)
		f.edge(b, "i", 0)
		f.edge(b, "add", 0)
	}
	f.edge("i", "add", 0)
	pl := f.build(t, Options{})
	wantMakespan(t, pl, 21.4)
	s := shardOf(pl, "add")
	if len(pl.Shards) != 2 || len(s.Tasks) != 4 {
		t.Fatalf("%d shards; add's shard runs %v", len(pl.Shards), s.Tasks)
	}
	at := map[string]int{}
	for k, task := range s.Tasks {
		at[task] = k
	}
	if at["b1"] > at["i"] || at["b2"] > at["i"] || at["i"] > at["add"] {
		t.Errorf("region runs %v: not in dependency order", s.Tasks)
	}
}

// TestJoinRegionNotWithNoBatch: NoBatch (and NoFusion) keep every
// allocation the chain fusion pass leaves.
func TestJoinRegionNotWithNoBatch(t *testing.T) {
	for _, opts := range []Options{{NoBatch: true}, {NoFusion: true}} {
		pl := diamond(0.5).build(t, opts)
		if len(pl.Shards) != 3 {
			t.Errorf("%+v: %d shards, want 3", opts, len(pl.Shards))
		}
	}
}

// TestJoinRegionKeepsEachTaskOnItsClasses: a region runs on a class
// every one of its tasks can run on. p runs only on the GPU class and j
// only on the CPU class, so p stays apart however short it is; with the
// kinds the other way round (j only on the GPU class, p on either), p
// may join j's allocation on the GPU class.
func TestJoinRegionKeepsEachTaskOnItsClasses(t *testing.T) {
	for _, c := range []struct {
		p, j  []float64
		apart bool
	}{
		{p: []float64{inf, 0.5}, j: []float64{0.5, inf}, apart: true},
		{p: []float64{0.5, 0.5}, j: []float64{inf, 0.5}},
	} {
		f := newFixture(cls("cpu", 2, inf, 5), cls("gpu", 2, inf, 5))
		f.task("a", graph.KindCPU, 10, 10)
		f.task("p", graph.KindCPU, c.p...)
		f.task("j", graph.KindCPU, c.j...)
		f.edge("a", "p", 0)
		f.edge("a", "j", 0)
		f.edge("p", "j", 0)
		pl := f.build(t, Options{})
		for _, s := range pl.Shards {
			ci := slices.IndexFunc(f.cat.Classes, func(k *catalog.Class) bool { return k.Name == s.Class })
			for _, task := range s.Tasks {
				if math.IsInf(f.rt[task][ci], 1) {
					t.Errorf("p %v, j %v: shard %v on %s, which %s cannot run on", c.p, c.j, s.Tasks, s.Class, task)
				}
			}
		}
		if merged := shardOf(pl, "p") == shardOf(pl, "j"); merged == c.apart {
			t.Errorf("p %v, j %v: p and j merged %v, want %v", c.p, c.j, merged, !c.apart)
		}
	}
}
