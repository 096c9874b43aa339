package plan_test

import (
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
)

// benchPlan times what `shardwise plan` does after parsing: predict every
// task on every class of the embedded default catalog (from the graph's
// hints; no history), then decompose and place. Graph generation (Topcuoglu
// et al. 2002 generator: alpha 1, out-degree 3, CCR 0.5, beta 1) is outside
// the timed loop.
func benchPlan(b *testing.B, n int) {
	g, err := synth.Generate(synth.Params{Tasks: n, Alpha: 1, OutDegree: 3, CCR: 0.5, Beta: 1, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	cat := catalog.Default()
	b.ReportAllocs()
	for b.Loop() {
		pred, err := predict.New(cat, nil)
		if err != nil {
			b.Fatal(err)
		}
		tb, err := pred.Predict(g)
		if err != nil {
			b.Fatal(err)
		}
		p, err := plan.Build(g, cat, tb, plan.Options{Run: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if p.Stats.Tasks != n {
			b.Fatalf("planned %d tasks, want %d", p.Stats.Tasks, n)
		}
	}
}

func BenchmarkPlan1k(b *testing.B)   { benchPlan(b, 1_000) }
func BenchmarkPlan10k(b *testing.B)  { benchPlan(b, 10_000) }
func BenchmarkPlan100k(b *testing.B) { benchPlan(b, 100_000) }
