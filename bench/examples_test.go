package bench

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/translator/hclreader"
)

// The examples' graphs, read by translator/hclreader, go through
// planner/evaluate here rather than in its own tests: planner/ does not
// import translator/, tests included (app/layers_test.go).

// exampleInput parses examples/NAME/graph.hcl and predicts it on cat
// without history.
func exampleInput(t *testing.T, name string, cat *catalog.Catalog) *evaluate.Input {
	t.Helper()
	g, diags := hclreader.ParseFile(filepath.Join("..", "examples", name, "graph.hcl"), hclreader.Options{Executors: cat.Names()})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	p, err := predict.New(cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := p.Predict(g)
	if err != nil {
		t.Fatal(err)
	}
	return &evaluate.Input{Name: name, Graph: g, Table: tb}
}

// TestBoundHoldsOnExamples: no method's simulated makespan beats the
// lower bound on the examples' graphs, whose data-parallel tasks the
// single-class and Shardwise plans cut into pieces (evaluate's
// TestBoundHoldsWithSplits on a hand-built graph).
func TestBoundHoldsOnExamples(t *testing.T) {
	def, diags := catalog.Load("")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	for _, name := range []string{"ml-pipeline", "nightly-etl", "video-transcode"} {
		c, err := evaluate.Compare(exampleInput(t, name, def), def, evaluate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !(c.Bound.Seconds > 0) {
			t.Errorf("%s: bound %+v", name, c.Bound)
		}
		for _, o := range c.Outcomes {
			if o == nil {
				continue
			}
			if o.MakespanSeconds < c.Bound.Seconds*(1-1e-9) || o.SLR < 1-1e-9 {
				t.Errorf("%s: %s makespan %g s, SLR %g beats the bound %g s", name, o.Method, o.MakespanSeconds, o.SLR, c.Bound.Seconds)
			}
		}
	}
}

// TestSingleClassSplitsLikePlanBaselineOnExamples: on the examples with
// split tasks, the single-class method picks plan.Build's baseline class,
// its simulated makespan matches the baseline's prediction (exact
// runtimes, same model) and it splits (evaluate's
// TestSingleClassSplitsLikePlanBaseline on a hand-built graph).
func TestSingleClassSplitsLikePlanBaselineOnExamples(t *testing.T) {
	def, diags := catalog.Load("")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	for _, name := range []string{"video-transcode", "ml-pipeline"} {
		in := exampleInput(t, name, def)
		p, err := plan.Build(in.Graph, def, in.Table, plan.Options{Run: "eval"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := evaluate.Compare(in, def, evaluate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		o := c.Outcome(evaluate.MethodSingle)
		if o == nil || p.Baseline == nil {
			t.Fatalf("%s: single %v, baseline %v", name, o, p.Baseline)
		}
		if o.Class != p.Baseline.Class || math.Abs(o.MakespanSeconds-p.Baseline.MakespanSeconds) > 0.01*p.Baseline.MakespanSeconds {
			t.Errorf("%s: single-class %s %.1f s, plan baseline %s %.1f s", name, o.Class, o.MakespanSeconds,
				p.Baseline.Class, p.Baseline.MakespanSeconds)
		}
		if !slices.ContainsFunc(o.Plan.Shards, func(s *plan.Shard) bool { return s.Split != nil }) {
			t.Errorf("%s: the single-class plan splits nothing", name)
		}
	}
}
