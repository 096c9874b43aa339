package predict

import (
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
)

// TestFactoredTableReads checks that a table from Predict reads the same
// through the accessors before and after At expands it, and that writes
// through At are what the accessors read afterwards.
func TestFactoredTableReads(t *testing.T) {
	var recs []history.Record
	for i := 0; i < 6; i++ {
		recs = append(recs, history.Record{Task: "a", Signature: "seen", RuntimeSeconds: 100 + float64(i),
			CPUPercent: 400, CPUMHz: 4000, MemoryBytes: 1 << 30, ReadBytes: 1e6, OutputBytes: 5e6})
	}
	g := mustGraph(t,
		&graph.Task{Name: "h", Signature: "seen"},
		&graph.Task{Name: "hint", Hints: graph.Hints{Runtime: 90 * time.Second, MemoryMiB: 2048, CPU: 3000}},
		&graph.Task{Name: "none"},
		&graph.Task{Name: "pinned", Hints: graph.Hints{Executor: "io-bound"}},
		&graph.Task{Name: "train", Hints: graph.Hints{Kind: graph.KindGPU}},
	)
	tb := mustPredict(t, recs, g)
	if tb.expanded.Load() {
		t.Fatal("Predict's table is expanded")
	}
	nc := len(tb.Classes)
	before := make([]Need, tb.Tasks()*nc)
	differ := false
	for i := range before {
		tk, c := i/nc, i%nc
		n := tb.Need(tk, c)
		before[i] = n
		p50, p90 := tb.Quantiles(tk, c)
		if tb.Runtime(tk, c) != n.Runtime || tb.Feasible(tk, c) != n.Feasible || tb.Why(tk, c) != n.Why ||
			p50 != n.Runtime.Value || p90 != n.Runtime.P90 {
			t.Errorf("task %d class %d: accessors disagree with Need %+v", tk, c, n)
		}
		differ = differ || n.Runtime.Value != before[tk*nc].Runtime.Value || n.CPU.Value != before[tk*nc].CPU.Value
	}
	if !differ {
		t.Fatal("no task's runtime or CPU differs between classes: the case tests nothing per class")
	}
	if tb.expanded.Load() {
		t.Fatal("reading expanded the table")
	}
	for i, want := range before {
		tk, c := i/nc, i%nc
		if got := *tb.At(tk, c); got != want {
			t.Errorf("task %d class %d: At = %+v, factored %+v", tk, c, got, want)
		}
		if got := tb.Need(tk, c); got != want {
			t.Errorf("task %d class %d: Need after expanding = %+v, want %+v", tk, c, got, want)
		}
	}
	n := tb.At(2, 1)
	n.Runtime.Value, n.Feasible, n.Why = 7, false, "ruled out"
	if p50, _ := tb.Quantiles(2, 1); p50 != 7 || tb.Runtime(2, 1).Value != 7 || tb.Feasible(2, 1) || tb.Why(2, 1) != "ruled out" || tb.Need(2, 1) != *n {
		t.Errorf("a write through At is not read back: %+v", tb.Need(2, 1))
	}
}

// TestSourceIndexRoundTrip checks that every Source, known or new, reads
// back from a factored table's index.
func TestSourceIndexRoundTrip(t *testing.T) {
	for _, s := range []Source{"", FromHistory, FromHint, FromDefault, "in-run", "in-run", "probe"} {
		if got := sourceName(sourceIndex(s)); got != s {
			t.Errorf("source %q reads back as %q", s, got)
		}
	}
	e := Estimate{Value: 3, Uncertainty: 0.5, Source: "probe", N: 7}
	var tn taskNeed
	tn.set(estIO, e)
	if got := tn.estimate(estIO); got != e {
		t.Errorf("estimate %+v reads back as %+v", e, got)
	}
}

// TestFactoredSpeedRows checks that a factored table divides a task's
// runtime quantiles by its kind's speed on each class, for a kind of
// graph.Kinds and for one outside them (given a row of its own), and caps
// the CPU at a class's unless a hint set it.
func TestFactoredSpeedRows(t *testing.T) {
	speeds := func(k graph.Kind) []float64 {
		if k == "weird" {
			return []float64{4, 8}
		}
		return []float64{1, 2}
	}
	tb := newFactored(3, []string{"a", "b"}, speeds, []float64{0, 1000})
	rt := Estimate{Value: 80, P90: 160}
	cpu := Estimate{Value: 3000}
	tb.setTask(0, graph.KindIO, rt, cpu, false, Estimate{}, Estimate{}, Estimate{}, Estimate{})
	tb.setTask(1, "weird", rt, cpu, false, Estimate{}, Estimate{}, Estimate{}, Estimate{})
	tb.setTask(2, "weird", rt, cpu, true, Estimate{}, Estimate{}, Estimate{}, Estimate{})
	for _, c := range []struct {
		t, c          int
		p50, p90, cpu float64
	}{{0, 0, 80, 160, 3000}, {0, 1, 40, 80, 1000}, {1, 0, 20, 40, 3000}, {1, 1, 10, 20, 1000}, {2, 1, 10, 20, 3000}} {
		p50, p90 := tb.Quantiles(c.t, c.c)
		if n := tb.Need(c.t, c.c); p50 != c.p50 || p90 != c.p90 || n.CPU.Value != c.cpu || n.Runtime.Value != c.p50 {
			t.Errorf("task %d class %d: p50 %g p90 %g CPU %g, want %g %g %g", c.t, c.c, p50, p90, n.CPU.Value, c.p50, c.p90, c.cpu)
		}
	}
	if rows := len(tb.speed) / len(tb.Classes); rows != len(graph.Kinds)+1 {
		t.Errorf("%d speed rows, want the %d kinds and one for \"weird\"", rows, len(graph.Kinds))
	}
}
