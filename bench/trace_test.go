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

// TestDuplicateRunFoundByContent: the schema-1.4 and schema-1.5 exports
// of BWA small (legacy-schema-1.4/ and runs/, same file name) are found to
// be one run by their records and the 1.5 copy is kept, whichever order
// they come in; BLAST small 001 and 002, two runs of one workflow, are
// not merged.
func TestDuplicateRunFoundByContent(t *testing.T) {
	cat := catalog.Default()
	load := func(name string) *evaluate.Input {
		in, err := FromTrace(testutil.Trace(t, name), cat)
		if err != nil {
			t.Fatal(err)
		}
		in.Name = name
		return in
	}
	legacy, current := load("legacy-schema-1.4/bwa-chameleon-small-001.json"), load("runs/bwa-chameleon-small-001.json")
	blast1, blast2 := load("blast-chameleon-small-001.json"), load("runs/blast-chameleon-small-002.json")
	for _, order := range [][]*evaluate.Input{{legacy, blast1, current, blast2}, {current, blast2, legacy, blast1}} {
		kept, dropped := evaluate.DistinctRuns(order)
		if len(kept) != 3 || len(dropped) != 1 || dropped[0].Dropped != legacy.Name || dropped[0].Kept != current.Name {
			t.Errorf("kept %d inputs, dropped %+v: want the legacy copy dropped for %s alone", len(kept), dropped, current.Name)
		}
	}
}
