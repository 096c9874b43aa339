package evaluate

import (
	"errors"
	"fmt"
	"math"

	"github.com/shardwise/shardwise/planner"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
)

// Input is one graph to plan, with the predictions every method plans
// from.
type Input struct {
	// Name labels the input in reports (a trace's file name, or a synthetic
	// graph's parameters).
	Name string
	// Family is a trace's workflow family ("bwa", "montage"); "synthetic"
	// for generated graphs.
	Family string
	// Schema is a trace's WfCommons schema version ("1.5"); "" for
	// synthetic graphs. DistinctRuns prefers the newest copy of a run.
	Schema string
	Graph  *graph.Graph
	// Table holds a Need for every task of Graph on every class of the
	// catalog the input was made for, in catalog order.
	Table *predict.Table
	// Records are the trace's history records (nil for synthetic inputs).
	Records []history.Record
	// Probes are the task signatures Shardwise's plan probes first
	// (predict.Predictor.ProbeTypes, plan.Probe); set by Honest.
	Probes []string
}

// TraceTable returns the predictions for an imported trace: planner/predict
// fitted on records (the trace's own history) gives each task's kind,
// memory, CPU, IO, output bytes and feasibility; the runtimes are then
// replaced by the recorded ones, g's Hints.Runtime, which the trace
// measured on the catalog's reference class: on class c a task of kind k
// takes Hints.Runtime x speed(reference, k) / speed(c, k) seconds (speed
// 1.0 for a missing reference). A class with speed 0 for the task's kind
// is infeasible.
//
// It returns an error if the predictor cannot be fitted or some task fits
// no class.
func TraceTable(g *graph.Graph, records []history.Record, cat *catalog.Catalog) (*predict.Table, error) {
	tb, err := planner.Pipeline{Catalog: cat, History: records}.Predict(g, "")
	if err != nil {
		return nil, err
	}
	ref := cat.ReferenceClass()
	for t, task := range g.Tasks {
		k := tb.Kinds[t]
		refSpeed := 1.0
		if ref != nil && ref.SpeedFor(k) > 0 {
			refSpeed = ref.SpeedFor(k)
		}
		for c, cl := range cat.Classes {
			setRuntime(tb.At(t, c), task.Hints.Runtime.Seconds()*refSpeed, cl.SpeedFor(k))
		}
	}
	return tb, nil
}

// setRuntime sets n's runtime to refSeconds / speed as a measured value,
// or marks n infeasible when speed is not positive.
func setRuntime(n *predict.Need, refSeconds, speed float64) {
	if !(speed > 0) {
		n.Feasible, n.Why = false, "speed 0 for this workload profile"
		n.Runtime.Value = math.Inf(1)
		return
	}
	n.Runtime = predict.Estimate{Value: refSeconds / speed, Source: predict.FromHistory, N: 1}
}

// Synthetic returns a random graph of the generator of Topcuoglu et al.
// (planner/evaluate/synth) for p, with the table synth.FillTable draws for
// cat with heterogeneity p.Beta and seed p.Seed. Name describes the
// parameters.
func Synthetic(p synth.Params, cat *catalog.Catalog) (*Input, error) {
	if p.Name == "" {
		p.Name = SyntheticName(p)
	}
	g, err := synth.Generate(p)
	if err != nil {
		return nil, err
	}
	beta := p.Beta
	if beta <= 0 {
		beta = 0.5 // synth's default
	}
	return &Input{Name: p.Name, Family: "synthetic", Graph: g, Table: synth.FillTable(g, cat, beta, p.Seed)}, nil
}

// SyntheticName names a synthetic graph by its generator parameters:
// "v100-a1-d3-ccr0.5-b1-s1".
func SyntheticName(p synth.Params) string {
	return fmt.Sprintf("v%d-a%g-d%g-ccr%g-b%g-s%d", p.Tasks, p.Alpha, p.OutDegree, p.CCR, p.Beta, p.Seed)
}

// runtimes returns the table's runtime matrix for simulate.LowerBound:
// rows are tasks, columns classes, +Inf where infeasible.
func runtimes(tb *predict.Table) [][]float64 {
	out := make([][]float64, tb.Tasks())
	for t := range out {
		out[t] = make([]float64, len(tb.Classes))
		for c := range out[t] {
			n := tb.At(t, c)
			out[t][c] = math.Inf(1)
			if n.Feasible && n.Runtime.Value >= 0 {
				out[t][c] = n.Runtime.Value
			}
		}
	}
	return out
}

// errNoClass is returned when no class can run every task, so there is no
// single-class baseline.
var errNoClass = errors.New("evaluate: no class can run every task")
