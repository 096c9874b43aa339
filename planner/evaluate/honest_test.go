package evaluate

import (
	"fmt"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
)

// runInput is one recorded run of family "fam": n tasks of type "a", each
// recorded at secs seconds, with the importer's runtime hint.
func runInput(t *testing.T, run string, n int, secs float64) *Input {
	t.Helper()
	g := graph.New(run)
	var recs []history.Record
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("a%d", i)
		task := &graph.Task{Name: name, Signature: "a", Hints: graph.Hints{Runtime: time.Duration(secs * float64(time.Second))}}
		if err := g.AddTask(task); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, history.Record{Run: run, Task: name, Signature: "a", RuntimeSeconds: secs, Source: "wfcommons:" + run})
	}
	return &Input{Name: run, Family: "fam", Graph: g, Records: recs}
}

// refRuntime is task t's predicted runtime on the catalog's first class.
func refRuntime(tb *predict.Table, t int) float64 { return tb.At(t, 0).Runtime.Value }

// TestLeaveOneRunOutNeverSeesTheHeldOutRun fails if any record of the
// held-out run (or of a copy of it under another file) reaches the fit,
// or if the importer's runtime hints reach the plan: the held-out run
// took 1000 s per task, the other run 10 s.
func TestLeaveOneRunOutNeverSeesTheHeldOutRun(t *testing.T) {
	cat := catalog.Default()
	target := runInput(t, "run-1", 4, 1000)
	copyOfTarget := runInput(t, "run-1", 4, 1000) // e.g. the legacy schema's file
	other := runInput(t, "run-2", 4, 10)
	family := []*Input{target, copyOfTarget, other}

	for _, r := range TrainingRecords(target, family) {
		if r.Run == "run-1" {
			t.Fatalf("training set holds record %+v of the held-out run", r)
		}
	}
	h, scheme, err := Honest(target, family, cat, 5)
	if err != nil {
		t.Fatal(err)
	}
	if scheme != HoldoutRun {
		t.Errorf("scheme %q, want %q", scheme, HoldoutRun)
	}
	p, err := predict.New(cat, other.Records)
	if err != nil {
		t.Fatal(err)
	}
	want, err := p.Predict(Blind(target.Graph))
	if err != nil {
		t.Fatal(err)
	}
	for i := range target.Graph.Tasks {
		if got, w := refRuntime(h.Table, i), refRuntime(want, i); got != w {
			t.Errorf("task %d: honest runtime %v s, want %v s (fitted on run-2 alone)", i, got, w)
		}
		if got := refRuntime(h.Table, i); got > 100 {
			t.Errorf("task %d: honest runtime %v s: the held-out run's 1000 s leaked", i, got)
		}
		if h.Graph.Tasks[i].Hints.Runtime != 0 {
			t.Errorf("task %d keeps the recorded runtime hint %v", i, h.Graph.Tasks[i].Hints.Runtime)
		}
	}
	if target.Graph.Tasks[0].Hints.Runtime == 0 {
		t.Error("Honest changed the oracle input's graph")
	}
}

// TestKFoldNeverSeesTheHeldOutTask: one run, type "a" recorded at 10 s
// for a0 and 1000 s for a1, k = 2. Each task is predicted from the other
// alone; a leak would show the task's own time (or their median).
func TestKFoldNeverSeesTheHeldOutTask(t *testing.T) {
	cat := catalog.Default()
	in := runInput(t, "only", 2, 10)
	in.Records[1].RuntimeSeconds = 1000
	h, scheme, err := Honest(in, []*Input{in}, cat, 2)
	if err != nil {
		t.Fatal(err)
	}
	if scheme != HoldoutKFold {
		t.Errorf("scheme %q, want %q", scheme, HoldoutKFold)
	}
	if f := Folds(in.Graph, 2); f[0] == f[1] {
		t.Fatalf("folds %v: both tasks in one fold", f)
	}
	a0, a1 := refRuntime(h.Table, 0), refRuntime(h.Table, 1)
	if !(a0 > a1) {
		t.Errorf("a0 predicted %v s, a1 %v s: want a0 (from a1's 1000 s) above a1 (from a0's 10 s)", a0, a1)
	}
	one := func(rec history.Record) float64 {
		p, err := predict.New(cat, []history.Record{rec})
		if err != nil {
			t.Fatal(err)
		}
		tb, err := p.Predict(Blind(in.Graph))
		if err != nil {
			t.Fatal(err)
		}
		return refRuntime(tb, 0)
	}
	if w := one(in.Records[1]); a0 != w {
		t.Errorf("a0 predicted %v s, want %v s (from a1 alone)", a0, w)
	}
	if w := one(in.Records[0]); a1 != w {
		t.Errorf("a1 predicted %v s, want %v s (from a0 alone)", a1, w)
	}
}
