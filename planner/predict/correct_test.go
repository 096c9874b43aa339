package predict

import (
	"fmt"
	"math"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
)

// TestInRunCorrection: history says type a takes 10 s; in this run its
// first three tasks took 30 s on the reference class. The tasks not yet
// submitted are predicted 3x longer on every class (pooled over classes
// until a class has its own), the completed ones and type b are left
// alone; after eight more completions at the historical 10 s, the
// trailing window has forgotten the slow ones.
func TestInRunCorrection(t *testing.T) {
	cat := catalog.Default()
	var recs []history.Record
	for i := 0; i < 5; i++ {
		recs = append(recs, history.Record{Task: "h", Signature: "a", RuntimeSeconds: 10}, history.Record{Task: "h", Signature: "b", RuntimeSeconds: 5})
	}
	p, err := New(cat, recs)
	if err != nil {
		t.Fatal(err)
	}
	g := graph.New("g")
	for i := 0; i < 6; i++ {
		if err := g.AddTask(&graph.Task{Name: fmt.Sprintf("a%d", i), Signature: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.AddTask(&graph.Task{Name: "b", Signature: "b"}); err != nil {
		t.Fatal(err)
	}
	base, err := p.Predict(g)
	if err != nil {
		t.Fatal(err)
	}
	tb, _ := p.Predict(g)
	ref := cat.Reference
	refC := 0
	for c, n := range tb.Classes {
		if n == ref {
			refC = c
		}
	}
	c := NewCorrection(8)
	for i := 0; i < 3; i++ {
		c.Observe("a", ref, base.At(i, refC).Runtime.Value, 3*base.At(i, refC).Runtime.Value)
	}
	if f, n := c.Factor("a", ref); math.Abs(f-3) > 1e-9 || n != 3 {
		t.Fatalf("factor %v from %d, want 3 from 3", f, n)
	}
	pending := func(t int) bool { return t >= 3 }
	if got := c.Apply(g, tb, pending, nil); got != 4-1 {
		t.Errorf("Apply changed %d tasks, want 3 (a3-a5; b has no correction)", got)
	}
	for i := range g.Tasks {
		for cl := range tb.Classes {
			want := base.At(i, cl).Runtime.Value
			if i >= 3 && g.Tasks[i].Signature == "a" {
				want *= 3
			}
			if got := tb.At(i, cl).Runtime.Value; math.Abs(got-want) > 1e-9 {
				t.Errorf("task %s class %s: %v s, want %v s", g.Tasks[i].Name, tb.Classes[cl], got, want)
			}
		}
	}
	for i := 0; i < 8; i++ {
		c.Observe("a", ref, 10, 10)
	}
	if f, n := c.Factor("a", ref); f != 1 || n != 8 {
		t.Errorf("after 8 on-time completions: factor %v from %d, want 1 from 8", f, n)
	}
	// Memory: the run's largest peak x InRunMemoryHeadroom replaces the
	// history's size; a class too small for it becomes infeasible.
	c.ObserveMemory("a", 100, false)
	if m, ok := c.MemoryMiB("a"); !ok || m != 120 {
		t.Errorf("memory %v (%v), want 120 MiB", m, ok)
	}
	limits := make([]float64, len(tb.Classes))
	limits[0] = 110
	c.Apply(g, tb, pending, limits)
	if n := tb.At(3, 0); n.MemoryMiB.Value != 120 || n.Feasible {
		t.Errorf("a3 on %s: %+v, want 120 MiB and infeasible", tb.Classes[0], n)
	}
	if n := tb.At(0, 0); n.MemoryMiB.Value == 120 {
		t.Error("a completed task was corrected")
	}
}
