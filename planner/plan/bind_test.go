package plan

import (
	"math"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/predict"
)

// TestBinderCorrectsLaterShards: x and y are of one type predicted 10 s;
// x takes 30 s. The binder's corrected prediction of y, and what it logs
// at y's submission, is 30 s on every class; z, of another type that has
// not completed, takes the run-wide factor (predict.Correction.RunFactor:
// one type at 3x is 3^(1/3)).
func TestBinderCorrectsLaterShards(t *testing.T) {
	g := graph.New("g")
	for _, tk := range []*graph.Task{{Name: "x", Signature: "w"}, {Name: "y", Signature: "w"}, {Name: "z", Signature: "v"}} {
		if err := g.AddTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	cat := &catalog.Catalog{Classes: []*catalog.Class{
		{Name: "a", Instances: 2, Startup: time.Second}, {Name: "b", Instances: 1},
	}}
	tb := predict.NewTable(3, []string{"a", "b"})
	for ti := 0; ti < 3; ti++ {
		for ci := 0; ci < 2; ci++ {
			*tb.At(ti, ci) = predict.Need{Feasible: true, Runtime: predict.Estimate{Value: 10, P90: 15}}
		}
	}
	p := &Plan{Shards: []*Shard{
		{ID: "x", Class: "a", Tasks: []string{"x"}}, {ID: "y", Class: "a", Tasks: []string{"y"}}, {ID: "z", Class: "a", Tasks: []string{"z"}},
	}}
	bd := NewBinder(p, g, cat, tb, nil)
	view := BindView{Classes: []ClassView{{Class: "a", Instances: 2}, {Class: "b", Instances: 1}}}
	if got := bd.Bind(0, 0, view); got != "" {
		t.Errorf("x moved to %q with its class free", got)
	}
	bd.Finished(0, "a", 31, 30, nil)
	for c := 0; c < 2; c++ {
		if p50, p90, ok := bd.Corrected(1, c); p50 != 30 || p90 != 45 || !ok {
			t.Errorf("y on class %d: p50 %v p90 %v (%v), want 30 45", c, p50, p90, ok)
		}
		if p50, p90, _ := bd.Corrected(2, c); math.Abs(p50-10*math.Cbrt(3)) > 1e-9 || math.Abs(p90-15*math.Cbrt(3)) > 1e-9 {
			t.Errorf("z on class %d: p50 %v p90 %v, want 10 and 15 x 3^(1/3) (the run-wide factor)", c, p50, p90)
		}
	}
	bd.Bind(1, 31, view)
	if l := bd.Log[len(bd.Log)-1]; l.Shard != 1 || len(l.Predicted) != 1 || l.Predicted[0] != 30 {
		t.Errorf("log %+v, want y predicted 30 s at submission", l)
	}
	// a is full (x running until 31 + 1 + 30 = 62 by its corrected
	// prediction, y queued); z's p90 finish there is far later than on
	// the free b: z moves to b.
	busy := BindView{Classes: []ClassView{
		{Class: "a", Instances: 2, Running: []RunningShard{{Shard: 1, StartSeconds: 31}}, Queued: []int{0}},
		{Class: "b", Instances: 1},
	}}
	if got := bd.Bind(2, 32, busy); got != "b" {
		t.Errorf("z bound to %q, want b", got)
	}
}
