package evaluate

import (
	"math"
	"testing"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/planner/simulate"
)

// inRunCase is a held-out run of one class c: a0 and a1 of type a took
// 30 s each, b0 of type b 5 s; all were predicted 10 s. a0 and b0 were
// submitted at 0 s, a0 finished at 31 s, and a1 was submitted at 31 s
// with a's factor 3 (30 s).
func inRunCase(t *testing.T) *Comparison {
	t.Helper()
	g := graph.New("g")
	names, sigs, secs := []string{"a0", "a1", "b0"}, []string{"a", "a", "b"}, []float64{30, 30, 5}
	var recs []history.Record
	pred, act := predict.NewTable(3, []string{"c"}), predict.NewTable(3, []string{"c"})
	for i, n := range names {
		if err := g.AddTask(&graph.Task{Name: n, Signature: sigs[i]}); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, history.Record{Run: "r1", Task: n, Signature: sigs[i], RuntimeSeconds: secs[i]})
		*pred.At(i, 0) = predict.Need{Feasible: true, Runtime: predict.Estimate{Value: 10}}
		*act.At(i, 0) = predict.Need{Feasible: true, Runtime: predict.Estimate{Value: secs[i]}}
	}
	p := &plan.Plan{Shards: []*plan.Shard{{ID: "s0", Class: "c", Tasks: []string{"a0"}}, {ID: "s1", Class: "c", Tasks: []string{"a1"}}, {ID: "s2", Class: "c", Tasks: []string{"b0"}}}}
	sim := &simulate.Result{Shards: []simulate.ShardRun{{ID: "s0", FinishSeconds: 31}, {ID: "s1", FinishSeconds: 62}, {ID: "s2", FinishSeconds: 6}}}
	sw := &Outcome{Method: MethodShardwise, Plan: p, Sim: sim, Bindings: []plan.Binding{
		{Shard: 0, Planned: "c", Class: "c", AtSeconds: 0, Tasks: []int{0}, Predicted: []float64{10}},
		{Shard: 2, Planned: "c", Class: "c", AtSeconds: 0, Tasks: []int{2}, Predicted: []float64{10}},
		{Shard: 1, Planned: "c", Class: "c", AtSeconds: 31, Tasks: []int{1}, Predicted: []float64{30}},
	}}
	in := &Input{Name: "r1", Family: "fam", Graph: g, Table: pred, Records: recs}
	return &Comparison{Input: in, Holdout: HoldoutRun, Actual: act, Outcomes: []*Outcome{nil, nil, sw}}
}

// TestInRunPhases: a0 and b0 are scored as submitted before any task of
// their type finished (errors 2/3 and 1, median 5/6), a1 after a0
// finished (error 0 corrected, 2/3 uncorrected); each type's flat factor
// over the run (3 and 0.5) would have predicted every task exactly. A
// task counts as "first" by what had finished when it was submitted, not
// by what finished later in the run.
func TestInRunPhases(t *testing.T) {
	ph := InRunPhases([]*Comparison{inRunCase(t)})
	if len(ph) != 2 || ph[0].Family != "fam" || ph[1].Family != "all" {
		t.Fatalf("phases %+v, want fam and all", ph)
	}
	got := ph[0]
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if got.First.N != 2 || !near(got.First.MdAPE, 5.0/6) || !near(got.First.Uncorrected, 5.0/6) {
		t.Errorf("first %+v, want 2 predictions at 5/6 corrected and uncorrected", got.First)
	}
	if got.Later.N != 1 || got.Later.MdAPE != 0 || !near(got.Later.Uncorrected, 2.0/3) {
		t.Errorf("later %+v, want 1 prediction at 0 (2/3 uncorrected)", got.Later)
	}
	if got.FlatFloor != 0 || got.FlatClassFloor != 0 {
		t.Errorf("flat floors %v %v, want 0", got.FlatFloor, got.FlatClassFloor)
	}
	rows := InRunAccuracy([]*Comparison{inRunCase(t)})
	if len(rows) != 2 || rows[0].Scores[EstShardwise].Runtime != 3 || !near(rows[0].Scores[EstShardwise].MdAPE, 2.0/3) {
		t.Errorf("in-run rows %+v, want 3 predictions at median 2/3", rows)
	}
}
