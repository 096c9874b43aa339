package bench

import (
	"testing"

	"github.com/shardwise/shardwise/internal/testutil"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate"
)

// TestRealTrace plans a real trace when the traces are present: Shardwise
// fuses one chain of bacass (10 allocations for 11 tasks) and is no
// slower than either baseline.
func TestRealTrace(t *testing.T) {
	path := testutil.Trace(t, "bacass-dirt02-001.json")
	cat := catalog.Default()
	in, err := FromTrace(path, cat)
	if err != nil {
		t.Fatal(err)
	}
	c, err := evaluate.Compare(in, cat, evaluate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sw := c.Outcome(evaluate.MethodShardwise)
	for _, m := range []evaluate.Method{evaluate.MethodSingle, evaluate.MethodHEFT} {
		if o := c.Outcome(m); o.MakespanSeconds < sw.MakespanSeconds || o.Allocations <= sw.Allocations {
			t.Errorf("%s: %g s in %d allocations; shardwise %g s in %d", m, o.MakespanSeconds, o.Allocations, sw.MakespanSeconds, sw.Allocations)
		}
	}
	if sw.SLR < 1 || sw.MakespanSeconds < c.Bound.Seconds {
		t.Errorf("shardwise %g s below the bound %+v", sw.MakespanSeconds, c.Bound)
	}
}
