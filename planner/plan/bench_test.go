package plan

import (
	"testing"

	"github.com/shardwise/shardwise/planner/evaluate/synth"
)

// benchBuild plans a synthetic graph of n tasks (Topcuoglu et al. 2002
// generator: alpha 1, out-degree 3, CCR 0.5, beta 1) on the five-class
// synth catalog with 32 instances per class. Generation and prediction are
// outside the timed loop.
func benchBuild(b *testing.B, n int) {
	g, err := synth.Generate(synth.Params{Tasks: n, Alpha: 1, OutDegree: 3, CCR: 0.5, Beta: 1, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	cat := synth.Catalog(32)
	tb := synth.FillTable(g, cat, 1, 1)
	b.ReportAllocs()
	for b.Loop() {
		p, err := Build(g, cat, tb, Options{Run: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Shards) == 0 {
			b.Fatal("no shards")
		}
	}
}

func BenchmarkBuild1k(b *testing.B)   { benchBuild(b, 1_000) }
func BenchmarkBuild10k(b *testing.B)  { benchBuild(b, 10_000) }
func BenchmarkBuild100k(b *testing.B) { benchBuild(b, 100_000) }
