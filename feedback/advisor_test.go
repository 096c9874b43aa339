package feedback

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

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
	store := openTemp(t)
	adv := &Advisor{Store: store}
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
			MemoryBytes: 100 << 20, MemoryLimitBytes: 512 << 20, Source: SourceNomad})
	}
	if err := store.Put(ctx, recs); err != nil {
		t.Fatal(err)
	}
	rt, mem = predictOnce()
	if rt.Source != predict.FromHistory || mem.Source != predict.FromHistory || mem.Value > 111 {
		t.Fatalf("after runs: runtime %+v memory %+v (want history, memory sized down to <= 110 MiB)", rt, mem)
	}
	oom := history.Record{Alloc: "a4", Signature: "sig", Task: "t", RuntimeSeconds: 2, ExitCode: 137, OOMKilled: true,
		MemoryBytes: 200 << 20, MemoryLimitBytes: 200 << 20, Source: SourceNomad}
	if err := store.Put(ctx, []history.Record{oom}); err != nil {
		t.Fatal(err)
	}
	if _, mem = predictOnce(); mem.Value < 250 {
		t.Fatalf("after an OOM kill at 200 MiB: memory %+v, want >= 250", mem)
	}
}

func TestReport(t *testing.T) {
	var recs []history.Record
	for i, rt := range []float64{100, 110, 90, 50, 200} { // predicted 100 each
		recs = append(recs, history.Record{Signature: "align", Executor: "cpu", RuntimeSeconds: rt,
			PredictedRuntimeSeconds: 100, MemoryBytes: int64(100+i) << 20, PredictedMemoryBytes: 200 << 20})
	}
	recs = append(recs,
		history.Record{Signature: "align", Executor: "cpu", RuntimeSeconds: 1, ExitCode: 137, OOMKilled: true,
			MemoryBytes: 200 << 20, PredictedMemoryBytes: 200 << 20},
		history.Record{Signature: "sort", RuntimeSeconds: 3}) // no predictions at all
	rows := Report(recs)
	if len(rows) != 2 || rows[0].Signature != "align" || rows[1].Signature != "sort" {
		t.Fatalf("rows %+v", rows)
	}
	a := rows[0]
	// APEs: 0, 9.09, 11.1, 100, 50 -> median 11.1, p90 80.
	if a.RuntimeN != 5 || a.Records != 6 || a.RuntimeMdAPE < 11.1 || a.RuntimeMdAPE > 11.2 || a.RuntimeP90APE != 80 {
		t.Errorf("runtime: %+v", a)
	}
	if a.MemoryN != 6 || a.MemoryUnderRate != 1.0/6 || a.OverProvision != 200.0/102 {
		t.Errorf("memory: %+v", a)
	}
	var buf bytes.Buffer
	if err := WriteReport(&buf, rows); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"SIGNATURE", "align", "cpu", "11.1%", "80.0%", "16.7%", "1.96x", "sort"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	js, _ := json.Marshal(rows)
	if !strings.Contains(string(js), `"runtime_mdape_percent"`) {
		t.Errorf("json: %s", js)
	}
}
