package app

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/bench"
	"github.com/shardwise/shardwise/planner"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate"
	"github.com/shardwise/shardwise/planner/simulate"
	"github.com/shardwise/shardwise/planner/units"
	"github.com/shardwise/shardwise/translator/hclreader"
)

// SimulateRequest is a graph file or WfCommons trace (.json) to plan with
// every method and simulate.
type SimulateRequest struct {
	// Path is a graph file, or a WfCommons trace when it ends in .json
	// (imported in memory; its tasks take their recorded runtimes and its
	// own history trains the predictor).
	Path      string
	Vars      map[string]string
	VarFiles  []string
	Catalog   string
	Histories []string
	// Sim sets the simulator's runtime noise and seed.
	Sim simulate.Options
	// Warn is PlanRequest.Warn: it receives the files' warnings.
	Warn func(hcl.Diagnostics)
}

// Simulate plans the input with the single-class, HEFT and Shardwise
// methods and plays each plan in the simulator (evaluate.Compare).
func Simulate(req SimulateRequest) (*evaluate.Comparison, error) {
	cat, diags := catalog.Load(req.Catalog)
	if diags.HasErrors() {
		return nil, &DiagnosticsError{diags}
	}
	PlanRequest{Warn: req.Warn}.warn(diags)
	in, err := simulateInput(req, cat)
	if err != nil {
		return nil, err
	}
	return evaluate.Compare(in, cat, evaluate.Options{Run: "simulate", Sim: req.Sim})
}

// simulateInput reads a trace (.json) or a graph file and predicts its
// needs.
func simulateInput(req SimulateRequest, cat *catalog.Catalog) (*evaluate.Input, error) {
	records, err := LoadHistory(req.Histories)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(filepath.Ext(req.Path), ".json") {
		return bench.FromTrace(req.Path, cat, records...)
	}
	g, diags := hclreader.ParseFile(req.Path, hclreader.Options{Vars: req.Vars, VarFiles: req.VarFiles, Executors: cat.Names()})
	if diags.HasErrors() {
		return nil, &DiagnosticsError{diags}
	}
	PlanRequest{Warn: req.Warn}.warn(diags)
	tb, err := planner.Pipeline{Catalog: cat, History: records}.Predict(g, req.Path)
	if err != nil {
		return nil, positionInfeasible(err)
	}
	return &evaluate.Input{Name: g.Name, Graph: g, Table: tb}, nil
}

// WriteGantt draws the Shardwise plan's simulated schedule into path:
// SVG, or HTML when path ends in .html.
func WriteGantt(path string, cmp *evaluate.Comparison) error {
	o := cmp.Outcome(evaluate.MethodShardwise)
	title := fmt.Sprintf("%s: Shardwise plan, makespan %s", cmp.Input.Name, units.FormatSeconds(o.MakespanSeconds))
	var buf bytes.Buffer
	var err error
	if strings.HasSuffix(path, ".html") {
		err = simulate.WriteGanttHTML(&buf, o.Sim, title)
	} else {
		err = simulate.WriteGanttSVG(&buf, o.Sim, title)
	}
	if err != nil {
		return fmt.Errorf("draw gantt: %w", err)
	}
	if err := WriteFile(path, buf.Bytes()); err != nil {
		return fmt.Errorf("write gantt: %w", err)
	}
	return nil
}
