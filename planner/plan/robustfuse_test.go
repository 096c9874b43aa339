package plan

import (
	"math"
	"testing"

	"github.com/shardwise/shardwise/planner/graph"
)

// robustFixture is a chain a -> b (10 s each) beside a 50 s task l, on one
// class with enough instances: at p50 the chain (2 x 1 s start-up + 20 s
// + 1 s transfer) has about 27 s of slack against l's 51 s.
func robustFixture() *fixture {
	f := newFixture(cls("cpu", 4, 100, 1))
	f.task("a", graph.KindCPU, 10)
	f.task("b", graph.KindCPU, 10)
	f.task("l", graph.KindCPU, 50)
	f.edge("a", "b", 100)
	return f
}

// buildSpread plans f with the p90 of a and b at ratio x their p50 and
// the others' at lRatio x.
func buildSpread(t *testing.T, f *fixture, ratio, lRatio float64, opts Options) *Plan {
	t.Helper()
	tb := f.table(0)
	for i, task := range f.g.Tasks {
		r := lRatio
		if task.Name == "a" || task.Name == "b" {
			r = ratio
		}
		for c := range f.cat.Classes {
			n := tb.At(i, c)
			n.Runtime.P90 = n.Runtime.Value * r
		}
	}
	opts.Run, opts.NoBatch = "r1", true
	p, err := Build(f.g, f.cat, tb, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, f.g, f.cat, p)
	return p
}

// Robust fusion: a chain with slack at p50 fuses when its p90 spread
// stays within the slack (p90 1.5x: 10 s of 27 s), and stays unfused when
// the spread would make it the critical path (p90 3x: 40 s, while l's p90
// is its p50); when l's own spread keeps l critical at p90 (l at 1.5x:
// 25 s more), with Options.MedianFusion, or on the critical path itself,
// it fuses.
func TestRobustFusionKeepsARiskyChainApart(t *testing.T) {
	for _, tc := range []struct {
		name          string
		ratio, lRatio float64
		opts          Options
		shards        int
	}{
		{"no spread", 1, 1, Options{}, 2},
		{"spread within the slack", 1.5, 1, Options{}, 2},
		{"spread beyond the slack", 3, 1, Options{}, 3},
		{"beyond the slack, l still critical at p90", 3, 1.5, Options{}, 2},
		{"beyond the slack, median fusion", 3, 1, Options{MedianFusion: true}, 2},
	} {
		p := buildSpread(t, robustFixture(), tc.ratio, tc.lRatio, tc.opts)
		if len(p.Shards) != tc.shards {
			t.Errorf("%s: %d shards, want %d", tc.name, len(p.Shards), tc.shards)
		}
	}
	// Without l the chain is the critical path at p50: it fuses whatever
	// its spread.
	f := newFixture(cls("cpu", 4, 100, 1))
	f.task("a", graph.KindCPU, 10)
	f.task("b", graph.KindCPU, 10)
	f.edge("a", "b", 100)
	if p := buildSpread(t, f, 3, 1, Options{}); len(p.Shards) != 1 || math.IsNaN(p.MakespanSeconds) {
		t.Errorf("critical chain: %d shards, want 1 (fused)", len(p.Shards))
	}
}
