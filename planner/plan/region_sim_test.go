package plan_test

import (
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/planner/simulate"
)

// TestJoinRegionPlays: the simulator plays a join region's shard as the
// launcher runs it, its tasks one after another once its upstream shard
// ends. a (10 s predicted) feeds p (0.5 s) and j (0.5 s), p feeds only j,
// so p and j share an allocation (region.go); with actual runtimes a
// 12 s, p 2 s and j 1 s the plan takes a 0-17 s (5 s start-up), then p
// and j 17-25 s (5 s start-up, 2 + 1 s).
func TestJoinRegionPlays(t *testing.T) {
	g := graph.New("g")
	for _, name := range []string{"a", "p", "j"} {
		if err := g.AddTask(&graph.Task{Name: name, Hints: graph.Hints{Kind: graph.KindCPU}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range [][2]string{{"a", "p"}, {"a", "j"}, {"p", "j"}} {
		if err := g.AddEdge(&graph.Edge{From: e[0], To: e[1], Output: "out"}); err != nil {
			t.Fatal(err)
		}
	}
	cat := &catalog.Catalog{Classes: []*catalog.Class{{
		Name: "cpu", Instances: 2, BandwidthBytes: 1e12, Startup: 5 * time.Second,
		Shape: catalog.Shape{CPU: 4000, MemoryMiB: 16 << 10, DiskMiB: 100 << 10},
	}}}
	tb := predict.NewTable(3, cat.Names())
	for i, rt := range []float64{10, 0.5, 0.5} {
		tb.Kinds[i] = graph.KindCPU
		n := tb.At(i, 0)
		n.Feasible = true
		n.Runtime = predict.Estimate{Value: rt, Source: predict.FromHistory, N: 5}
		n.MemoryMiB = predict.Estimate{Value: 512, Source: predict.FromHint}
		n.CPU = predict.Estimate{Value: 1000, Source: predict.FromDefault}
	}
	p, err := plan.Build(g, cat, tb, plan.Options{Run: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Shards) != 2 {
		t.Fatalf("%d shards, want 2 (a; p and j)", len(p.Shards))
	}
	actual := simulate.TableActual([]string{"a", "p", "j"}, cat.Names(), [][]float64{{12}, {2}, {1}})
	r, err := simulate.Run(p, cat, simulate.Options{Actual: actual})
	if err != nil {
		t.Fatal(err)
	}
	if r.MakespanSeconds != 25 || r.Allocations != 2 {
		t.Errorf("makespan %g s, %d allocations; want 25 s, 2", r.MakespanSeconds, r.Allocations)
	}
}
