package evaluate

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/translator/hclreader"
)

// exampleInput parses examples/NAME/graph.hcl and predicts it on cat
// without history.
func exampleInput(t *testing.T, name string, cat *catalog.Catalog) *Input {
	t.Helper()
	g, diags := hclreader.ParseFile(filepath.Join("..", "..", "examples", name, "graph.hcl"), hclreader.Options{Executors: cat.Names()})
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
	return &Input{Name: name, Graph: g, Table: tb}
}

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
// bound, also for plans that cut tasks into pieces.
func TestBoundHoldsWithSplits(t *testing.T) {
	def, diags := catalog.Load("")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var ins []*Input
	cats := map[*Input]*catalog.Catalog{}
	for _, name := range []string{"ml-pipeline", "nightly-etl", "video-transcode"} {
		in := exampleInput(t, name, def)
		ins, cats[in] = append(ins, in), def
	}
	in, cat := splitHeavy(t)
	ins, cats[in] = append(ins, in), cat
	for _, in := range ins {
		c := mustCompare(t, in, cats[in])
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
}

// TestSingleClassSplitsLikePlanBaseline: for graphs with split tasks, the
// single-class method picks plan.Build's baseline class and its simulated
// makespan matches the baseline's prediction (exact runtimes, same model).
func TestSingleClassSplitsLikePlanBaseline(t *testing.T) {
	def, diags := catalog.Load("")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	split, splitCat := splitHeavy(t)
	for _, tc := range []struct {
		in  *Input
		cat *catalog.Catalog
	}{{exampleInput(t, "video-transcode", def), def}, {exampleInput(t, "ml-pipeline", def), def}, {split, splitCat}} {
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
		pieces := 0
		for _, s := range o.Plan.Shards {
			if s.Split != nil {
				pieces++
			}
		}
		if pieces == 0 {
			t.Errorf("%s: the single-class plan splits nothing", tc.in.Name)
		}
	}
}
