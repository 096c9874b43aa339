package replan

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
)

// TestPredictorRefitsFromStore is the closed loop without Nomad: before a
// graph has run its predictions are defaults; after records of its runs
// are in the store, the advisor's predictor names history as the source,
// sizes memory down to what the shard used (peak x 1.1) and, after an
// OOM kill, up to 1.25 x the limit it died at.
func TestPredictorRefitsFromStore(t *testing.T) {
	ctx := context.Background()
	store, err := feedback.Open(ctx, filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	adv := &ClusterAdvisor{Store: store}
	g := graph.New("g")
	if err := g.AddTask(&graph.Task{Name: "t", Signature: "sig", Command: "true"}); err != nil {
		t.Fatal(err)
	}
	predictOnce := func() (rt, mem predict.Estimate) {
		p, err := adv.Predictor(ctx, catalog.Default())
		if err != nil {
			t.Fatal(err)
		}
		tb, err := p.Predict(g)
		if err != nil {
			t.Fatal(err)
		}
		return tb.At(0, 0).Runtime, tb.At(0, 0).MemoryMiB
	}
	rt, mem := predictOnce()
	if rt.Source != predict.FromDefault || mem.Value != predict.DefaultMemoryMiB {
		t.Fatalf("before any run: runtime %+v memory %+v", rt, mem)
	}
	var recs []history.Record
	for i, id := range []string{"a1", "a2", "a3"} {
		recs = append(recs, history.Record{Alloc: id, Signature: "sig", Task: "t", RuntimeSeconds: float64(20 + i),
			MemoryBytes: 100 << 20, MemoryLimitBytes: 512 << 20, Source: feedback.SourceNomad})
	}
	if err := store.Put(ctx, recs); err != nil {
		t.Fatal(err)
	}
	rt, mem = predictOnce()
	if rt.Source != predict.FromHistory || mem.Source != predict.FromHistory || mem.Value > 111 {
		t.Fatalf("after runs: runtime %+v memory %+v (want history, memory sized down to <= 110 MiB)", rt, mem)
	}
	oom := history.Record{Alloc: "a4", Signature: "sig", Task: "t", RuntimeSeconds: 2, ExitCode: 137, OOMKilled: true,
		MemoryBytes: 200 << 20, MemoryLimitBytes: 200 << 20, Source: feedback.SourceNomad}
	if err := store.Put(ctx, []history.Record{oom}); err != nil {
		t.Fatal(err)
	}
	if _, mem = predictOnce(); mem.Value < 250 {
		t.Fatalf("after an OOM kill at 200 MiB: memory %+v, want >= 250", mem)
	}
}
