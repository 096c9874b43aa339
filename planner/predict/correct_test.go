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
// until a class has its own), the completed ones are left alone, and
// type b, which has not completed, takes the run-wide factor: one type
// at 3x, shrunk by RunPriorTypes = 2, is 3^(1/3). After eight more
// completions at the historical 10 s, the trailing window has forgotten
// the slow ones.
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
	if got := c.Apply(g, tb, pending, nil); got != 4 {
		t.Errorf("Apply changed %d tasks, want 4 (a3-a5 by a's factor, b by the run's)", got)
	}
	run := math.Cbrt(3)
	for i := range g.Tasks {
		for cl := range tb.Classes {
			want, want90 := base.At(i, cl).Runtime.Value, base.At(i, cl).Runtime.P90
			switch {
			case i >= 3 && g.Tasks[i].Signature == "a":
				want, want90 = 3*want, 3*want90
			case g.Tasks[i].Signature == "b":
				want, want90 = run*want, run*want90
			}
			if got := tb.At(i, cl).Runtime; math.Abs(got.Value-want) > 1e-9 || math.Abs(got.P90-want90) > 1e-9 {
				t.Errorf("task %s class %s: %v s (p90 %v s), want %v s (%v s)", g.Tasks[i].Name, tb.Classes[cl], got.Value, got.P90, want, want90)
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

// TestRunWideCorrection: the run-wide factor on a small synthetic run.
// Type a completed twice at 4x its 10 s prediction (weight 20 s), type b
// once on time (20 s): the weighted mean log factor is ln 2, shrunk by
// 2 types / (2 + RunPriorTypes) to ln 2 / 2, so a type that has not
// completed is predicted sqrt(2)x, while a and b keep their own factors.
// A third type of sub-second tasks that ran 100x (weight 0.04 s) moves it
// by under 1% (it weighs next to nothing, in the mean and in the
// effective number of types). A run that is faster than history lowers a pending type's
// p50 but not its p90.
func TestRunWideCorrection(t *testing.T) {
	c := NewCorrection(8)
	if f, n := c.RunFactor(); f != 1 || n != 0 {
		t.Fatalf("empty run: factor %v from %d types, want 1 from 0", f, n)
	}
	c.Observe("a", "x", 10, 40)
	if f, n := c.Factor("z", "x"); math.Abs(f-math.Cbrt(4)) > 1e-12 || n != 0 {
		t.Errorf("after one type at 4x: z's factor %v (n %d), want 4^(1/3) (n 0)", f, n)
	}
	c.Observe("a", "y", 10, 40)
	c.Observe("b", "x", 20, 20)
	if f, n := c.RunFactor(); math.Abs(f-math.Sqrt2) > 1e-12 || n != 2 {
		t.Errorf("run factor %v from %d types, want sqrt(2) from 2", f, n)
	}
	for _, k := range []struct {
		sig  string
		want float64
		n    int
	}{{"a", 4, 1}, {"b", 1, 1}, {"z", math.Sqrt2, 0}} {
		if f, n := c.Factor(k.sig, "x"); math.Abs(f-k.want) > 1e-12 || n != k.n {
			t.Errorf("Factor(%s, x) = %v from %d, want %v from %d", k.sig, f, n, k.want, k.n)
		}
	}
	if p50, p90, _ := c.Factors("z", "x"); math.Abs(p50-math.Sqrt2) > 1e-12 || p90 != p50 {
		t.Errorf("Factors(z) = %v, %v; want sqrt(2) for both (a slower run raises the p90 too)", p50, p90)
	}
	c.Observe("tiny", "x", 0.04, 4)
	k := 40.04 * 40.04 / (20*20 + 20*20 + 0.04*0.04) // effective types, about 2
	want := math.Exp((20*math.Log(4) + 0.04*math.Log(100)) / 40.04 * k / (k + RunPriorTypes))
	if f, _ := c.RunFactor(); math.Abs(f-want) > 1e-12 || math.Abs(f/math.Sqrt2-1) > 0.01 {
		t.Errorf("with a sub-second type at 100x: run factor %v, want %v (within 1%% of sqrt(2))", f, want)
	}

	fast := NewCorrection(8)
	fast.Observe("a", "x", 100, 25)
	p50, p90, n := fast.Factors("z", "x")
	if math.Abs(p50-math.Cbrt(0.25)) > 1e-12 || p90 != 1 || n != 0 {
		t.Errorf("faster run: Factors(z) = %v, %v (n %d); want 0.25^(1/3), 1 (n 0)", p50, p90, n)
	}
	g := graph.New("g")
	if err := g.AddTask(&graph.Task{Name: "z1", Signature: "z"}); err != nil {
		t.Fatal(err)
	}
	tb := NewTable(1, []string{"x"})
	*tb.At(0, 0) = Need{Feasible: true, Runtime: Estimate{Value: 8, P90: 20}}
	if got := fast.Apply(g, tb, func(int) bool { return true }, nil); got != 1 {
		t.Errorf("Apply changed %d tasks, want 1", got)
	}
	if rt := tb.At(0, 0).Runtime; math.Abs(rt.Value-8*math.Cbrt(0.25)) > 1e-12 || rt.P90 != 20 {
		t.Errorf("z1 after Apply: p50 %v p90 %v, want %v and 20 (p90 not lowered)", rt.Value, rt.P90, 8*math.Cbrt(0.25))
	}
}

// TestFactorPoolsClasses: type a completed seven times on time on class
// x and once at 4x on class y. On y its factor is the one completion
// there pooled with the type's median over every class (1), which counts
// as ClassPriorCompletions = 2 completions: 4^(1/3), not 4; on x it is
// 1; on z, where a has not completed, the pooled median 1.
func TestFactorPoolsClasses(t *testing.T) {
	c := NewCorrection(8)
	for i := 0; i < 7; i++ {
		c.Observe("a", "x", 10, 10)
	}
	c.Observe("a", "y", 10, 40)
	want := math.Pow(4, 1.0/(1+ClassPriorCompletions))
	if f, n := c.Factor("a", "y"); math.Abs(f-want) > 1e-9 || n != 1 {
		t.Errorf("on y: factor %v from %d, want %v from 1 (one 4x completion pooled with the type's 1x)", f, n, want)
	}
	if f, n := c.Factor("a", "x"); f != 1 || n != 7 {
		t.Errorf("on x: factor %v from %d, want 1 from 7", f, n)
	}
	if f, n := c.Factor("a", "z"); f != 1 || n != 8 {
		t.Errorf("on z: factor %v from %d, want the pooled 1 from 8", f, n)
	}
}
