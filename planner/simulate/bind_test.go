package simulate

import (
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
)

// lateBindingCase: src then x and y, all planned on class a (one
// instance); class b (one instance) is as fast. Predicted and actual: src
// 2 s, x and y 10 s each, on either class.
func lateBindingCase(t *testing.T) (*plan.Plan, *graph.Graph, *catalog.Catalog, *predict.Table, Actual) {
	t.Helper()
	g := graph.New("g")
	for _, name := range []string{"src", "x", "y"} {
		if err := g.AddTask(&graph.Task{Name: name, Signature: name}); err != nil {
			t.Fatal(err)
		}
	}
	c := cat(class("a", 1, 1e9, 0), class("b", 1, 1e9, 0))
	tb := predict.NewTable(3, []string{"a", "b"})
	secs := [][]float64{{2, 2}, {10, 10}, {10, 10}}
	for ti := range secs {
		for ci := range secs[ti] {
			*tb.At(ti, ci) = predict.Need{Feasible: true, Runtime: predict.Estimate{Value: secs[ti][ci], P90: secs[ti][ci]}}
		}
	}
	src, x, y := sh("src", "a", 2), sh("x", "a", 10, "src"), sh("y", "a", 10, "src")
	src.Tasks, x.Tasks, y.Tasks = []string{"src"}, []string{"x"}, []string{"y"}
	p := &plan.Plan{Shards: []*plan.Shard{src, x, y}}
	return p, g, c, tb, TableActual([]string{"src", "x", "y"}, []string{"a", "b"}, secs)
}

// TestLateBindingMovesAWaitingShard: without late binding y waits for x
// on a (makespan 22 s). With plan.Binder, at t = 2 x is bound first (a is
// free: it stays); y would wait until 12 on a and finish at 22 (p90),
// while b is free and finishes it at 12, earlier by more than the margin
// (0.5 x 10 s): y moves to b and the run ends at 12 s.
func TestLateBindingMovesAWaitingShard(t *testing.T) {
	p, g, c, tb, act := lateBindingCase(t)
	static := mustRun(t, p, c, Options{Actual: act})
	check(t, static, 22, map[string]want{"src": {0, 0, 2}, "x": {0, 2, 12}, "y": {0, 12, 22}})

	bd := plan.NewBinder(p, g, c, tb, nil)
	r := mustRun(t, p, c, Options{Actual: act, Binder: bd})
	check(t, r, 12, map[string]want{"src": {0, 0, 2}, "x": {0, 2, 12}, "y": {0, 2, 12}})
	if got := r.Shard("y").Class; got != "b" {
		t.Errorf("y ran on %s, want b", got)
	}
	if len(bd.Log) != 3 || bd.Log[2].Planned != "a" || bd.Log[2].Class != "b" || bd.Log[1].Class != "a" {
		t.Errorf("bindings %+v, want src and x kept on a, y moved to b", bd.Log)
	}
	if p.Shards[2].Class != "a" {
		t.Error("the simulation changed the plan")
	}
	// Without moves the binder only learns: the static schedule.
	bd = plan.NewBinder(p, g, c, tb, nil)
	bd.Move = false
	check(t, mustRun(t, p, c, Options{Actual: act, Binder: bd}), 22, nil)
	if _, err := Run(p, c, Options{Binder: bd}); err == nil {
		t.Error("late binding without actual runtimes accepted")
	}
}
