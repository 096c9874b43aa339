package simulate

import (
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
)

var inf = math.Inf(1)

// diamond is a -> b, a -> c, b -> d, c -> d.
func diamond(t *testing.T) *graph.Graph {
	t.Helper()
	g := graph.New("diamond")
	for _, n := range []string{"a", "b", "c", "d"} {
		if err := g.AddTask(&graph.Task{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range [][2]string{{"a", "b"}, {"a", "c"}, {"b", "d"}, {"c", "d"}} {
		if err := g.AddEdge(&graph.Edge{From: e[0], To: e[1]}); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func TestLowerBoundCriticalPath(t *testing.T) {
	// Fastest: a 2, b 3, c 5, d 1. Paths a-b-d = 6, a-c-d = 8.
	// Work 11 over 2 instances = 5.5 < 8.
	rt := [][]float64{{4, 2}, {3, 6}, {inf, 5}, {1, 1}}
	b, err := LowerBound(diamond(t), rt, cat(class("x", 1, 1, 0), class("y", 1, 1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	want := Bound{CriticalPathSeconds: 8, WorkSeconds: 5.5, Seconds: 8, CriticalPath: []string{"a", "c", "d"}}
	if !reflect.DeepEqual(b, want) {
		t.Errorf("bound %+v, want %+v", b, want)
	}
}

func TestLowerBoundWork(t *testing.T) {
	// Four independent 10 s tasks on 1 + 1 instances: work 40 / 2 = 20 > 10.
	// Class z has no instances, so its 1 s runtimes do not count.
	g := graph.New("flat")
	for _, n := range []string{"a", "b", "c", "d"} {
		if err := g.AddTask(&graph.Task{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	rt := [][]float64{{10, 12, 1}, {10, 12, 1}, {12, 10, 1}, {12, 10, 1}}
	b, err := LowerBound(g, rt, cat(class("x", 1, 1, 0), class("y", 1, 1, 0), class("z", 0, 1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if b.CriticalPathSeconds != 10 || b.WorkSeconds != 20 || b.Seconds != 20 {
		t.Errorf("bound %+v; want critical path 10 s, work 20 s, bound 20 s", b)
	}
}

func TestLowerBoundHoldsForSimulatedSchedule(t *testing.T) {
	// The diamond on its fastest classes as a plan, with start-up and
	// transfers: the makespan can only be larger than the bound.
	g := diamond(t)
	c := cat(class("x", 1, 10, 0), class("y", 1, 10, 0))
	rt := [][]float64{{4, 2}, {3, 6}, {inf, 5}, {1, 1}}
	b, err := LowerBound(g, rt, c)
	if err != nil {
		t.Fatal(err)
	}
	// a 0-2 on y; 10 B at 10 B/s = 1 s; b 3-6 on x, c 3-8 on y; d 9-10.
	p := &plan.Plan{
		Shards:   []*plan.Shard{sh("a", "y", 2), sh("b", "x", 3, "a"), sh("c", "y", 5, "a"), sh("d", "x", 1, "b", "c")},
		Channels: []*plan.Channel{ch("a", "b", 10), ch("a", "c", 10), ch("b", "d", 10), ch("c", "d", 10)},
	}
	r := mustRun(t, p, c, Options{})
	if r.MakespanSeconds != 10 {
		t.Errorf("makespan %v s, want 10 s", r.MakespanSeconds)
	}
	if r.MakespanSeconds < b.Seconds {
		t.Errorf("makespan %v s beats the bound %v s", r.MakespanSeconds, b.Seconds)
	}
	if slr := SLR(r.MakespanSeconds, b.CriticalPathSeconds); slr < 1 {
		t.Errorf("SLR %v < 1", slr)
	}
}

func TestLowerBoundErrors(t *testing.T) {
	c := cat(class("x", 1, 1, 0), class("y", 0, 1, 0))
	cyc := graph.New("cycle")
	_ = cyc.AddTask(&graph.Task{Name: "a"})
	_ = cyc.AddTask(&graph.Task{Name: "b"})
	_ = cyc.AddEdge(&graph.Edge{From: "a", To: "b"})
	_ = cyc.AddEdge(&graph.Edge{From: "b", To: "a"})
	tests := []struct {
		name string
		g    *graph.Graph
		rt   [][]float64
	}{
		{"rows", diamond(t), [][]float64{{1, 1}}},
		{"columns", diamond(t), [][]float64{{1}, {1}, {1}, {1}}},
		{"NaN", diamond(t), [][]float64{{1, 1}, {math.NaN(), 1}, {1, 1}, {1, 1}}},
		{"negative", diamond(t), [][]float64{{1, 1}, {-1, 1}, {1, 1}, {1, 1}}},
		{"infeasible", diamond(t), [][]float64{{1, 1}, {inf, 1}, {1, 1}, {1, 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := LowerBound(tc.g, tc.rt, c); !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
	var ce *graph.CycleError
	if _, err := LowerBound(cyc, [][]float64{{1, 1}, {1, 1}}, c); !errors.As(err, &ce) {
		t.Errorf("cycle: err = %v, want *graph.CycleError", err)
	}
	if b, err := LowerBound(graph.New("empty"), nil, &catalog.Catalog{}); err != nil || b.Seconds != 0 {
		t.Errorf("empty graph: %+v, %v", b, err)
	}
}

func TestSLR(t *testing.T) {
	if got := SLR(16, 8); got != 2 {
		t.Errorf("SLR(16, 8) = %v, want 2", got)
	}
	if got := SLR(1, 0); !math.IsNaN(got) {
		t.Errorf("SLR(1, 0) = %v, want NaN", got)
	}
}
