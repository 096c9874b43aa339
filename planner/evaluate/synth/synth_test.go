package synth

import (
	"math"
	"testing"

	"github.com/shardwise/shardwise/planner/graph"
)

func TestGenerateShape(t *testing.T) {
	p := Params{Tasks: 400, Alpha: 1, OutDegree: 3, CCR: 1, Seed: 3}
	g, err := Generate(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Tasks) != 400 {
		t.Fatalf("%d tasks", len(g.Tasks))
	}
	if _, err := g.TopoOrder(); err != nil {
		t.Fatal(err)
	}
	kinds := map[graph.Kind]int{}
	roots := 0
	var bytes float64
	for i, task := range g.Tasks {
		kinds[task.Hints.Kind]++
		if len(g.InIdx(i)) == 0 {
			roots++
		}
	}
	for _, e := range g.Edges {
		bytes += float64(e.Bytes)
	}
	// sqrt(400)/1 = 20 levels: the first level's tasks are the only roots.
	if roots < 5 || roots > 40 {
		t.Errorf("%d roots, want about 20", roots)
	}
	if len(kinds) != len(graph.Kinds) {
		t.Errorf("kinds %v, want all five", kinds)
	}
	// CCR 1: mean transfer ~ mean runtime (60 s) at 1.25e9 bytes/s.
	if mean := bytes / float64(len(g.Edges)) / 1.25e9; mean < 45 || mean > 75 {
		t.Errorf("mean edge transfer %.1f s, want about 60", mean)
	}
	if deg := float64(len(g.Edges)) / float64(len(g.Tasks)); deg < 2 || deg > 4 {
		t.Errorf("mean out-degree %.2f, want about 3", deg)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	p := Params{Tasks: 200, Seed: 9}
	a, _ := Generate(p)
	b, _ := Generate(p)
	if len(a.Edges) != len(b.Edges) {
		t.Fatal("edge counts differ")
	}
	for i := range a.Edges {
		if *a.Edges[i] != *b.Edges[i] {
			t.Fatalf("edge %d differs", i)
		}
	}
	p.Seed = 10
	if c, _ := Generate(p); len(c.Edges) == len(a.Edges) && *c.Edges[0] == *a.Edges[0] {
		t.Error("different seeds gave the same graph")
	}
}

func TestGenerateErrors(t *testing.T) {
	if _, err := Generate(Params{}); err == nil {
		t.Error("0 tasks: no error")
	}
	if _, err := Generate(Params{Tasks: 3, Beta: 2}); err == nil {
		t.Error("beta 2: no error")
	}
	if g, err := Generate(Params{Tasks: 1}); err != nil || len(g.Tasks) != 1 {
		t.Errorf("1 task: %v", err)
	}
}

func TestFillTable(t *testing.T) {
	g, _ := Generate(Params{Tasks: 100, Seed: 1, GPURequired: 1})
	cat := Catalog(4)
	tb := FillTable(g, cat, 0, 1)
	gpu := 3 // gpu-accelerated
	for i, task := range g.Tasks {
		base := task.Hints.Runtime.Seconds()
		for c, cl := range cat.Classes {
			n := tb.At(i, c)
			want := base / cl.SpeedFor(task.Hints.Kind)
			if math.Abs(n.Runtime.Value-want) > 1e-9 {
				t.Fatalf("task %d class %s: runtime %g, want %g", i, cl.Name, n.Runtime.Value, want)
			}
			if task.Hints.Kind == graph.KindGPU && c != gpu && n.Feasible {
				t.Fatalf("gpu task %d feasible on %s", i, cl.Name)
			}
		}
	}
	noisy := FillTable(g, cat, 1, 1)
	for i := range g.Tasks {
		ratio := noisy.At(i, 0).Runtime.Value / tb.At(i, 0).Runtime.Value
		if ratio < 0.5-1e-9 || ratio > 1.5+1e-9 {
			t.Fatalf("beta 1: ratio %g outside [0.5, 1.5]", ratio)
		}
	}
}
