package evaluate

import (
	"fmt"
	"strings"
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
// held-out run reaches the fit, whether it comes from a copy with the
// same Run or from a duplicate under another file (and run) name, the way
// one run exported in two schema versions arrives; or if the importer's
// runtime hints reach the plan: the held-out run took 1000 s per task, the
// other run 10 s. Both the honest tables (Honest, TrainingRecords) and the
// accuracy study (Accuracy's leave-one-run-out, othersRuns) are checked.
func TestLeaveOneRunOutNeverSeesTheHeldOutRun(t *testing.T) {
	cat := catalog.Default()
	target := runInput(t, "run-1", 4, 1000)
	copyOfTarget := runInput(t, "run-1", 4, 1000)       // same Run name
	renamed := runInput(t, "run-1-schema-1.4", 4, 1000) // same run under another file name
	other := runInput(t, "run-2", 4, 10)
	family := []*Input{target, copyOfTarget, renamed, other}

	for _, held := range []*Input{target, renamed} {
		for _, r := range TrainingRecords(held, family) {
			if r.RuntimeSeconds == 1000 {
				t.Fatalf("training set of %s holds record %+v of the held-out run", held.Name, r)
			}
		}
	}
	var trs []TraceRecords
	for i, in := range family {
		trs = append(trs, TraceRecords{Name: fmt.Sprintf("file-%d", i), Family: in.Family, Records: in.Records})
	}
	for _, test := range trs[:3] {
		train := othersRuns(test, trs)
		if len(train) != len(other.Records) {
			t.Errorf("accuracy's training set of %s: %d records, want run-2's %d", test.Name, len(train), len(other.Records))
		}
		for _, r := range train {
			if r.RuntimeSeconds == 1000 {
				t.Fatalf("accuracy's training set of %s holds record %+v of the held-out run", test.Name, r)
			}
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

// TestDistinctRuns keeps one input per run, the newest schema's, by
// content: the schema-1.4 copy of run-1 (another name and Run) is dropped
// for the schema-1.5 one listed after it; run-2, with other runtimes,
// stays; of two copies of one schema the first stays.
func TestDistinctRuns(t *testing.T) {
	legacy := runInput(t, "legacy/run-1", 4, 1000)
	legacy.Schema = "1.4"
	other := runInput(t, "run-2", 4, 10)
	other.Schema = "1.5"
	current := runInput(t, "runs/run-1", 4, 1000)
	current.Schema = "1.5"
	again := runInput(t, "again/run-2", 4, 10)
	again.Schema = "1.5"
	kept, dropped := DistinctRuns([]*Input{legacy, other, current, again})
	if len(kept) != 2 || kept[0] != other || kept[1] != current {
		var names []string
		for _, in := range kept {
			names = append(names, in.Name)
		}
		t.Fatalf("kept %v, want [run-2 runs/run-1]", names)
	}
	want := []Duplicate{{Dropped: "legacy/run-1", Kept: "runs/run-1"}, {Dropped: "again/run-2", Kept: "run-2"}}
	if len(dropped) != len(want) {
		t.Fatalf("dropped %+v, want %+v", dropped, want)
	}
	for i, d := range dropped {
		if d.Dropped != want[i].Dropped || d.Kept != want[i].Kept || d.Why == "" {
			t.Errorf("dropped[%d] = %+v, want %s for %s with a reason", i, d, want[i].Dropped, want[i].Kept)
		}
	}
	if !strings.Contains(dropped[0].Why, "1.5") || !strings.Contains(dropped[0].Why, "1.4") {
		t.Errorf("reason %q names no schema versions", dropped[0].Why)
	}
	// A run that differs in one task's runtime is another run.
	near := runInput(t, "near", 4, 1000)
	near.Records[3].RuntimeSeconds = 1000.000001
	if SameRun(near.Records, current.Records) {
		t.Error("runs differing in one runtime found to be one run")
	}
	if SameRun(nil, nil) {
		t.Error("no records found to be one run")
	}
}
