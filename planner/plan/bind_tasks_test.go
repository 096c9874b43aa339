package plan

import (
	"math"
	"slices"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/predict"
)

// TestBinderLearnsEachTaskOfAFusedShard: fused shards filter>map, as on
// Epigenomics. s1's filter is predicted 10 s and takes 40 s (4x), its map
// 90 s and takes 54 s (0.6x): 94 s in all, 0.94x the shard's 100 s, a
// ratio that hides both. With the script's per-task times the Binder
// predicts the later filter tasks 4x and map tasks 0.6x (what it logs at
// s2's submission, 80 and 48 s for s2's 20 and 80 s; s3, a filter task
// alone, 40 s; s4, a map>filter mix not seen yet, the sum of its tasks'
// corrections), while s2, of s1's mix, is predicted by that mix's ratio
// (0.94 x 100 s, not 80 + 48). With the shard's one runtime (nil times,
// or times that do not match the shard's tasks) every type takes 0.94x.
func TestBinderLearnsEachTaskOfAFusedShard(t *testing.T) {
	g := graph.New("g")
	for _, tk := range []*graph.Task{
		{Name: "f1", Signature: "filter"}, {Name: "m1", Signature: "map"},
		{Name: "f2", Signature: "filter"}, {Name: "m2", Signature: "map"},
		{Name: "f3", Signature: "filter"},
		{Name: "m4", Signature: "map"}, {Name: "f4", Signature: "filter"},
	} {
		if err := g.AddTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	cat := &catalog.Catalog{Classes: []*catalog.Class{{Name: "a", Instances: 4}}}
	tb := predict.NewTable(7, []string{"a"})
	for ti, v := range []float64{10, 90, 20, 80, 10, 90, 10} {
		*tb.At(ti, 0) = predict.Need{Feasible: true, Runtime: predict.Estimate{Value: v, P90: v}}
	}
	p := &Plan{Shards: []*Shard{
		{ID: "s1", Class: "a", Tasks: []string{"f1", "m1"}, Signature: "filter+map"},
		{ID: "s2", Class: "a", Tasks: []string{"f2", "m2"}, Signature: "filter+map"},
		{ID: "s3", Class: "a", Tasks: []string{"f3"}, Signature: "filter"},
		{ID: "s4", Class: "a", Tasks: []string{"m4", "f4"}, Signature: "map+filter"},
	}}
	view := BindView{Classes: []ClassView{{Class: "a", Instances: 4}}}
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-9 }
	for _, tc := range []struct {
		name         string
		times        []float64
		filter, mmap float64 // factors of the types
	}{
		{"per-task times", []float64{40, 54}, 4, 0.6},
		{"shard runtime only", nil, 0.94, 0.94},
		{"times not matching the tasks", []float64{94}, 0.94, 0.94},
	} {
		bd := NewBinder(p, g, cat, tb, nil)
		bd.Bind(0, 0, view)
		bd.Finished(0, "a", 94, 94, tc.times)
		bd.Bind(1, 94, view)
		l := bd.Log[len(bd.Log)-1]
		if want := []float64{20 * tc.filter, 80 * tc.mmap}; !slices.EqualFunc(l.Predicted, want, near) {
			t.Errorf("%s: s2 predicted %v at submission, want %v", tc.name, l.Predicted, want)
		}
		if p50, p90, _ := bd.Corrected(1, 0); !near(p50, 94) || !near(p90, 94) {
			t.Errorf("%s: s2 (s1's mix) corrected to %v, %v s, want 0.94 x 100 s, the mix's ratio", tc.name, p50, p90)
		}
		if p50, _, _ := bd.Corrected(2, 0); !near(p50, 10*tc.filter) {
			t.Errorf("%s: s3 (filter alone) corrected to %v s, want %v", tc.name, p50, 10*tc.filter)
		}
		if p50, _, _ := bd.Corrected(3, 0); !near(p50, 90*tc.mmap+10*tc.filter) {
			t.Errorf("%s: s4 (a mix not seen) corrected to %v s, want %v", tc.name, p50, 90*tc.mmap+10*tc.filter)
		}
	}
}
