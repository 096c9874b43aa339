package plan

import (
	"math"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/predict"
)

// TestBinderLearnsEachTaskOfAFusedShard: fused shards filter>map, as on
// Epigenomics, where filter is predicted 10 s and map 90 s. The first
// shard's filter takes 40 s (4x) and its map 54 s (0.6x): 94 s in all,
// 0.94x the shard's prediction, which hides both. With the script's
// per-task times the Binder corrects the later filter tasks to 40 s and
// the map tasks to 54 s; with the shard's one runtime (nil times, or
// times that do not match the shard's tasks) both types take 0.94x.
func TestBinderLearnsEachTaskOfAFusedShard(t *testing.T) {
	g := graph.New("g")
	for _, tk := range []*graph.Task{
		{Name: "f1", Signature: "filter"}, {Name: "m1", Signature: "map"},
		{Name: "f2", Signature: "filter"}, {Name: "m2", Signature: "map"},
		{Name: "f3", Signature: "filter"},
	} {
		if err := g.AddTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	cat := &catalog.Catalog{Classes: []*catalog.Class{{Name: "a", Instances: 4}}}
	tb := predict.NewTable(5, []string{"a"})
	for ti, v := range []float64{10, 90, 10, 90, 10} {
		*tb.At(ti, 0) = predict.Need{Feasible: true, Runtime: predict.Estimate{Value: v, P90: v}}
	}
	p := &Plan{Shards: []*Shard{
		{ID: "s1", Class: "a", Tasks: []string{"f1", "m1"}},
		{ID: "s2", Class: "a", Tasks: []string{"f2", "m2"}},
		{ID: "s3", Class: "a", Tasks: []string{"f3"}},
	}}
	view := BindView{Classes: []ClassView{{Class: "a", Instances: 4}}}
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-9 }
	for _, tc := range []struct {
		name         string
		times        []float64
		filter, mmap float64
	}{
		{"per-task times", []float64{40, 54}, 40, 54},
		{"shard runtime only", nil, 9.4, 84.6},
		{"times not matching the tasks", []float64{94}, 9.4, 84.6},
	} {
		bd := NewBinder(p, g, cat, tb, nil)
		bd.Bind(0, 0, view)
		bd.Finished(0, "a", 94, 94, tc.times)
		bd.Bind(1, 94, view)
		l := bd.Log[len(bd.Log)-1]
		if len(l.Predicted) != 2 || !near(l.Predicted[0], tc.filter) || !near(l.Predicted[1], tc.mmap) {
			t.Errorf("%s: s2 predicted %v at submission, want filter %v and map %v", tc.name, l.Predicted, tc.filter, tc.mmap)
		}
		if p50, _, _ := bd.Corrected(2, 0); !near(p50, tc.filter) {
			t.Errorf("%s: s3 (filter alone) corrected to %v s, want %v", tc.name, p50, tc.filter)
		}
	}
}
