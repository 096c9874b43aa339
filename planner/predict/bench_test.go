package predict

import (
	"fmt"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
)

// synthetic builds a graph of n tasks over 100 signatures, in chains of
// ten joined by edges of unknown size (so inputs come from upstream
// predictions), with every 7th task carrying hints, and 30 history records
// per signature with varying input sizes.
func synthetic(tb testing.TB, n int) (*graph.Graph, []history.Record) {
	const sigs = 100
	var recs []history.Record
	for s := 0; s < sigs; s++ {
		for k := 1; k <= 30; k++ {
			in := int64(k) * int64(s+1) * 1e6
			recs = append(recs, history.Record{Task: "t", Signature: fmt.Sprintf("sig%d", s),
				InputBytes: in, RuntimeSeconds: 2 + float64(in)/50e6 + float64(k%3),
				CPUPercent: float64(50 + 10*(s%30)), MemoryBytes: int64(100+s*50) << 20,
				ReadBytes: in, WriteBytes: in / 2, OutputBytes: in / 2})
		}
	}
	g := graph.New("synthetic")
	for i := 0; i < n; i++ {
		t := &graph.Task{Name: fmt.Sprintf("task-%d", i), Signature: fmt.Sprintf("sig%d", i%sigs)}
		switch i % 7 {
		case 1:
			t.Hints = graph.Hints{MemoryMiB: 40 << 10}
		case 3:
			t.Hints = graph.Hints{Kind: graph.KindGPU}
		case 5:
			t.Hints = graph.Hints{Executor: "io-bound"}
		}
		if i%31 == 0 {
			t.Signature = fmt.Sprintf("unseen%d", i) // no history
		}
		if err := g.AddTask(t); err != nil {
			tb.Fatal(err)
		}
		if i%10 != 0 {
			if err := g.AddEdge(&graph.Edge{From: fmt.Sprintf("task-%d", i-1), To: t.Name, Output: "o", Bytes: -1}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return g, recs
}

func benchmarkPredict(b *testing.B, n int) {
	g, recs := synthetic(b, n)
	p, err := New(catalog.Default(), recs)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Predict(g); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPredict10k(b *testing.B)  { benchmarkPredict(b, 10_000) }
func BenchmarkPredict100k(b *testing.B) { benchmarkPredict(b, 100_000) }

// BenchmarkNew measures fitting 100 signatures x 30 records.
func BenchmarkNew(b *testing.B) {
	_, recs := synthetic(b, 1)
	for b.Loop() {
		if _, err := New(catalog.Default(), recs); err != nil {
			b.Fatal(err)
		}
	}
}
