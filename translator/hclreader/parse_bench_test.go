package hclreader

import (
	"testing"

	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/translator/hclwriter"
)

// BenchmarkParse10k reads the 10,000-task synthetic graph file of
// cmd/shardwise's BenchmarkPlanCommand (Topcuoglu generator, seed 1, as
// hclwriter writes it): the parse in pieces, the fast path, and decoding.
func BenchmarkParse10k(b *testing.B) {
	g, err := synth.Generate(synth.Params{Tasks: 10_000, Alpha: 1, OutDegree: 3, CCR: 0.5, Beta: 1, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	src, err := hclwriter.Encode(g)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, diags := Parse("synth-10000.hcl", src, Options{Executors: executors}); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}
