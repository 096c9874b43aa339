package plan_test

import (
	"fmt"

	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/planner/plan"
)

// Plan a small synthetic graph on the five-class synth catalog, with
// predictions taken from the tasks' hints.
func ExampleBuild() {
	g, err := synth.Generate(synth.Params{Name: "demo", Tasks: 12, Alpha: 0.5, OutDegree: 1.5, Seed: 4})
	if err != nil {
		panic(err)
	}
	cat := synth.Catalog(2)
	tb := synth.FillTable(g, cat, 0, 1)
	p, err := plan.Build(g, cat, tb, plan.Options{Run: "r1"})
	if err != nil {
		panic(err)
	}
	for i, s := range p.Shards {
		if i >= 2 && len(s.Tasks) == 1 {
			continue // print the first two shards and the fused ones
		}
		fmt.Printf("%s %v on %s: %s\n", s.Job, s.Tasks, s.Class, s.Reason)
	}
	fmt.Printf("%d tasks in %d shards, makespan %.0f s, %.1fx faster than all on %s\n",
		p.Stats.Tasks, p.Stats.Shards, p.MakespanSeconds, p.Baseline.Speedup, p.Baseline.Class)
	// Output:
	// demo-r1-s000-t01 [t01] on gpu-accelerated: gpu work: 8.0x faster than low-latency
	// demo-r1-s001-t00 [t00] on low-latency: gpu work: finishes 14.9s earlier than on gpu-accelerated, which runs it 8.0x faster: starts 29.0s sooner (start-up 1.0s vs 30.0s)
	// demo-r1-s006-t06 [t06 t08] on low-latency: latency work: 1.9x faster than cpu-heavy; fused with t08 to save 7.0GiB transfer and a start-up
	// demo-r1-s007-t07 [t07 t09] on low-latency: latency work: 1.7x faster than cpu-heavy; fused with t09 to save 13.1GiB transfer and a start-up
	// 12 tasks in 10 shards, makespan 222 s, 1.4x faster than all on low-latency
}
