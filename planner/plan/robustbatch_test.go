package plan

import (
	"math"
	"testing"

	"github.com/shardwise/shardwise/planner/graph"
)

// coupledFixture is rnaseq's pattern in small: three roots a (1 s), b and
// c (10 s each) on cpu, which has two instances, so the batching pass
// packs them into two allocations; each root feeds a task of its own on
// class down: a feeds x (20 s), b feeds y and c feeds z (1 s each). The
// critical path is l, 60 s on a class of its own. At p50, batching a with
// b or c saves a start-up and holds x back by 10 s, well inside x's slack
// (about 38 s). join, when set, makes a, b and c feed one task j (20 s)
// instead: a join waits for all three whatever the packing.
func coupledFixture(join bool) *fixture {
	inf := math.Inf(1)
	f := newFixture(cls("cpu", 2, 1e9, 1), cls("down", 4, 1e9, 1), cls("lcl", 1, 1e9, 1))
	f.task("l", graph.KindCPU, inf, inf, 60)
	f.task("a", graph.KindCPU, 1, inf, inf)
	f.task("b", graph.KindCPU, 10, inf, inf)
	f.task("c", graph.KindCPU, 10, inf, inf)
	if join {
		f.task("j", graph.KindCPU, inf, 20, inf)
		for _, r := range []string{"a", "b", "c"} {
			f.edge(r, "j", 0)
		}
		return f
	}
	f.task("x", graph.KindCPU, inf, 20, inf)
	f.task("y", graph.KindCPU, inf, 1, inf)
	f.task("z", graph.KindCPU, inf, 1, inf)
	f.edge("a", "x", 0)
	f.edge("b", "y", 0)
	f.edge("c", "z", 0)
	return f
}

// buildCoupled plans f with the p90 of x (or j) at ratio times its p50,
// every other task's at 1.1 times.
func buildCoupled(t *testing.T, f *fixture, ratio float64, opts Options) *Plan {
	t.Helper()
	tb := f.table(0)
	for i, task := range f.g.Tasks {
		r := 1.1
		if task.Name == "x" || task.Name == "j" {
			r = ratio
		}
		for c := range f.cat.Classes {
			n := tb.At(i, c)
			n.Runtime.P90 = n.Runtime.Value * r
		}
	}
	opts.Run = "r1"
	p, err := Build(f.g, f.cat, tb, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, f.g, f.cat, p)
	return p
}

// Robust batching: a's path (a, then x) has about 38 s of slack at p50.
// With x's p90 at 1.5x (10 s of spread) a batch may hold it back by the
// 10 s of b or c; at 3x (40 s of spread, beyond the slack) x is critical
// as soon as it runs at its p90 while l runs at its p50, and a runs alone,
// unless Options.MedianBatching; where a, b and c feed one join, the join
// waits for all of them anyway and a batches whatever the spread.
func TestRobustBatchingKeepsAP90CriticalPathUncoupled(t *testing.T) {
	for _, tc := range []struct {
		name    string
		join    bool
		ratio   float64
		opts    Options
		batched bool
	}{
		{"spread within the slack", false, 1.5, Options{}, true},
		{"spread beyond the slack", false, 3, Options{}, false},
		{"beyond the slack, median batching", false, 3, Options{MedianBatching: true}, true},
		{"beyond the slack, one join", true, 3, Options{}, true},
	} {
		p := buildCoupled(t, coupledFixture(tc.join), tc.ratio, tc.opts)
		if got := len(shardOf(p, "a").Tasks) > 1; got != tc.batched {
			t.Errorf("%s: a's shard runs %v, want batched %v", tc.name, shardOf(p, "a").Tasks, tc.batched)
		}
	}
}
