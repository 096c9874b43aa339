package evaluate

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
)

// splitHeavy is a chain of three data-parallel 600 s tasks (100 items
// each) between two small ones, on two classes with few instances.
func splitHeavy(t *testing.T) (*Input, *catalog.Catalog) {
	t.Helper()
	cat := &catalog.Catalog{Classes: []*catalog.Class{class("fast", 3, 2, 1e6, 5), class("wide", 16, 1, 1e6, 1)}}
	g := graph.New("split-heavy")
	prev := ""
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		task := &graph.Task{Name: name, Signature: name, Hints: graph.Hints{Kind: graph.KindCPU, Runtime: 10 * time.Second}}
		if i > 0 && i < 4 {
			task.Hints.Runtime = 600 * time.Second
			task.Split = &graph.Split{Items: 100}
		}
		task.Outputs = []graph.Output{{Name: "out", Bytes: 1 << 20}}
		if err := g.AddTask(task); err != nil {
			t.Fatal(err)
		}
		if prev != "" {
			if err := g.AddEdge(&graph.Edge{From: prev, To: name, Output: "out", Bytes: 1 << 20}); err != nil {
				t.Fatal(err)
			}
		}
		prev = name
	}
	return &Input{Name: "split-heavy", Graph: g, Table: synth.FillTable(g, cat, 0, 0)}, cat
}

// TestBoundHoldsWithSplits: no method's simulated makespan beats the lower
// bound, also for plans that cut tasks into pieces. The examples' graphs
// are checked the same way by bench's TestBoundHoldsOnExamples (planner/
// does not import the HCL reader, tests included).
func TestBoundHoldsWithSplits(t *testing.T) {
	in, cat := splitHeavy(t)
	c := mustCompare(t, in, cat)
	if !(c.Bound.Seconds > 0) {
		t.Errorf("%s: bound %+v", in.Name, c.Bound)
	}
	for _, o := range c.Outcomes {
		if o == nil {
			continue
		}
		if o.MakespanSeconds < c.Bound.Seconds*(1-1e-9) || o.SLR < 1-1e-9 {
			t.Errorf("%s: %s makespan %g s, SLR %g beats the bound %g s", in.Name, o.Method, o.MakespanSeconds, o.SLR, c.Bound.Seconds)
		}
	}
}

// TestSingleClassSplitsLikePlanBaseline: for graphs with split tasks, the
// single-class method picks plan.Build's baseline class and its simulated
// makespan matches the baseline's prediction (exact runtimes, same model).
// bench's TestSingleClassSplitsLikePlanBaselineOnExamples checks two
// examples' graphs the same way.
func TestSingleClassSplitsLikePlanBaseline(t *testing.T) {
	split, splitCat := splitHeavy(t)
	for _, tc := range []struct {
		in  *Input
		cat *catalog.Catalog
	}{{split, splitCat}} {
		p, err := plan.Build(tc.in.Graph, tc.cat, tc.in.Table, plan.Options{Run: "eval"})
		if err != nil {
			t.Fatal(err)
		}
		o := mustCompare(t, tc.in, tc.cat).Outcome(MethodSingle)
		if o == nil || p.Baseline == nil {
			t.Fatalf("%s: single %v, baseline %v", tc.in.Name, o, p.Baseline)
		}
		if o.Class != p.Baseline.Class || math.Abs(o.MakespanSeconds-p.Baseline.MakespanSeconds) > 0.01*p.Baseline.MakespanSeconds {
			t.Errorf("%s: single-class %s %.1f s, plan baseline %s %.1f s", tc.in.Name, o.Class, o.MakespanSeconds,
				p.Baseline.Class, p.Baseline.MakespanSeconds)
		}
		if !slices.ContainsFunc(o.Plan.Shards, func(s *plan.Shard) bool { return s.Split != nil }) {
			t.Errorf("%s: the single-class plan splits nothing", tc.in.Name)
		}
	}
}
