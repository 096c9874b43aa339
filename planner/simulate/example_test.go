package simulate_test

import (
	"fmt"
	"math"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/simulate"
)

// A load shard feeds two transforms over a 100 MB channel; both transforms
// run on one cpu instance, so the second waits for the first.
func ExampleRun() {
	cat := &catalog.Catalog{Classes: []*catalog.Class{
		{Name: "io-bound", Instances: 1, BandwidthBytes: 1e9, Startup: 2 * time.Second},
		{Name: "cpu-heavy", Instances: 1, BandwidthBytes: 1e8, Startup: 5 * time.Second},
	}}
	p := &plan.Plan{
		Shards: []*plan.Shard{
			{ID: "load", Class: "io-bound", RuntimeSeconds: plan.Estimate{Value: 8}},
			{ID: "left", Class: "cpu-heavy", RuntimeSeconds: plan.Estimate{Value: 20}, Upstream: []string{"load"}},
			{ID: "right", Class: "cpu-heavy", RuntimeSeconds: plan.Estimate{Value: 10}, Upstream: []string{"load"}},
		},
		Channels: []*plan.Channel{
			{ID: "c1", From: "load", To: "left", Bytes: 100e6},
			{ID: "c2", From: "load", To: "right", Bytes: 100e6},
		},
	}
	r, err := simulate.Run(p, cat, simulate.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range r.Shards {
		fmt.Printf("%-5s %s #%d  ready %4.0f  start %4.0f  finish %4.0f\n",
			s.ID, s.Class, s.Instance, s.ReadySeconds, s.StartSeconds, s.FinishSeconds)
	}
	fmt.Printf("makespan %.0f s, %d allocations, %d bytes moved\n", r.MakespanSeconds, r.Allocations, r.BytesMoved)
	for _, c := range r.Classes {
		fmt.Printf("%s utilisation %.2f\n", c.Class, c.Utilisation)
	}
	// Output:
	// load  io-bound #0  ready    0  start    0  finish   10
	// left  cpu-heavy #0  ready   11  start   11  finish   36
	// right cpu-heavy #0  ready   11  start   36  finish   51
	// makespan 51 s, 3 allocations, 200000000 bytes moved
	// io-bound utilisation 0.20
	// cpu-heavy utilisation 0.78
}

// LowerBound puts a makespan in proportion: two tasks in a chain, each
// fastest on a different class.
func ExampleLowerBound() {
	g := graph.New("two")
	_ = g.AddTask(&graph.Task{Name: "prep"})
	_ = g.AddTask(&graph.Task{Name: "train"})
	_ = g.AddEdge(&graph.Edge{From: "prep", To: "train"})
	cat := &catalog.Catalog{Classes: []*catalog.Class{
		{Name: "cpu-heavy", Instances: 2},
		{Name: "gpu-accelerated", Instances: 1},
	}}
	inf := math.Inf(1)
	runtimes := [][]float64{
		{30, 40},   // prep
		{inf, 100}, // train: GPU only
	}
	b, err := simulate.LowerBound(g, runtimes, cat)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("critical path %v s %v, work %.1f s, bound %v s\n", b.CriticalPathSeconds, b.CriticalPath, b.WorkSeconds, b.Seconds)
	fmt.Printf("SLR of a 195 s run: %.2f\n", simulate.SLR(195, b.CriticalPathSeconds))
	// Output:
	// critical path 130 s [prep train], work 43.3 s, bound 130 s
	// SLR of a 195 s run: 1.50
}
