package evaluate

import (
	"testing"

	"github.com/shardwise/shardwise/planner/evaluate/synth"
)

// TestSyntheticGrid: nine 100-task graphs over CCR 0.1, 1, 5 (outer) and
// shape 0.5, 1, 2 (inner), then one 1000-task graph, all from the seed;
// CompareSynthetic compares one graph per params, in their order.
func TestSyntheticGrid(t *testing.T) {
	ps := SyntheticGrid(7)
	if len(ps) != 10 {
		t.Fatalf("%d params, want 10", len(ps))
	}
	for i, p := range ps[:9] {
		ccr, alpha := []float64{0.1, 1, 5}[i/3], []float64{0.5, 1, 2}[i%3]
		if p.Tasks != 100 || p.CCR != ccr || p.Alpha != alpha || p.OutDegree != 3 || p.Beta != 1 || p.Seed != 7 {
			t.Errorf("params %d = %+v, want 100 tasks, CCR %g, shape %g, seed 7", i, p, ccr, alpha)
		}
	}
	if last := ps[9]; last.Tasks != 1000 || last.CCR != 1 || last.Alpha != 1 || last.Seed != 7 {
		t.Errorf("last params = %+v, want 1000 tasks, CCR 1, shape 1", last)
	}
	small := []synth.Params{ps[2], ps[0]}
	for i := range small {
		small[i].Tasks = 20
	}
	cmps, err := CompareSynthetic(small, synth.Catalog(2), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmps) != 2 || cmps[0].Input.Name != SyntheticName(small[0]) || cmps[1].Input.Name != SyntheticName(small[1]) {
		t.Errorf("comparisons of %d inputs, want %s then %s", len(cmps), SyntheticName(small[0]), SyntheticName(small[1]))
	}
}
