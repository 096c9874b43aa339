package planner

import (
	"fmt"
	"math"
	"sync"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/planner/simulate"
)

// The robust guard (issue 9, "never worse than HEFT"). Shardwise's plan
// batches and fuses tasks on the predictions' medians; when the
// predictions are off by a common factor (a run of a family whose inputs
// are out of the range history saw), the same plan can lose to one task
// per allocation: batches that looked long next to a class's start-up
// turn out short, and the start-ups they were meant to hide dominate. The
// guard plays Shardwise's plan and the per-task plan (plan.Build with
// NoFusion: one task per allocation on the classes of the task-level list
// schedule, HEFT without insertion), both built from the same
// predictions, in three scenarios the predictions themselves span, and
// keeps the plan whose worst relative regret over the scenarios is the
// smaller (minimax regret: Savage 1951; Kouvelis and Yu, "Robust Discrete
// Optimization and Its Applications", 1997, ch. 1), Shardwise's on ties.
// It never reads actual runtimes: only the table the plans were made from.

// Scenario is a runtime quantile every task takes at once.
type Scenario string

// The scenarios the guard plays. Errors shared by a whole run (its inputs
// outside history's range) move every task the same way, so each
// scenario moves all tasks together.
const (
	// ScenarioLow: every task at its p10, taken as p50 x p50/p90 (the
	// predictions' quantiles are log-symmetric: predict.Estimate.P90).
	ScenarioLow Scenario = "p10"
	// ScenarioMedian: every task at its p50 (the plans' own predictions).
	ScenarioMedian Scenario = "p50"
	// ScenarioHigh: every task at its p90.
	ScenarioHigh Scenario = "p90"
)

// Scenarios lists the guard's scenarios in the order it plays them.
var Scenarios = []Scenario{ScenarioLow, ScenarioMedian, ScenarioHigh}

// Guard is the robust guard's decision, recorded for the reader.
type Guard struct {
	// Shardwise and PerTask are the simulated makespans in seconds of
	// Shardwise's plan and the per-task plan in each scenario, in the order of Scenarios.
	Shardwise, PerTask []float64
	// RegretShardwise and RegretPerTask are each plan's worst ratio, over
	// the scenarios, of its makespan to the better of the two (1 = best
	// in every scenario).
	RegretShardwise, RegretPerTask float64
	// Fallback is true when the per-task plan was kept.
	Fallback bool
}

// String describes the decision in one line.
func (d *Guard) String() string {
	keep := "shardwise"
	if d.Fallback {
		keep = "per-task"
	}
	return fmt.Sprintf("kept %s: worst regret shardwise %.3f, per-task %.3f (p10/p50/p90 makespans shardwise %.1f/%.1f/%.1f s, per-task %.1f/%.1f/%.1f s)",
		keep, d.RegretShardwise, d.RegretPerTask, d.Shardwise[0], d.Shardwise[1], d.Shardwise[2], d.PerTask[0], d.PerTask[1], d.PerTask[2])
}

// hasSpread reports whether some prediction of tb has a p90 above its
// p50: without a spread the three scenarios are one, and the plans'
// own schedules already compared them.
func hasSpread(tb *predict.Table) bool {
	for t := 0; t < tb.Tasks(); t++ {
		for c := range tb.Classes {
			if r := tb.Runtime(t, c); r.P90 > r.Value && r.Value > 0 {
				return true
			}
		}
	}
	return false
}

// scenarioActual returns task runtimes by class in scenario s, from tb
// (in g.Tasks order): the simulator's view of "what happens" when every
// task takes that quantile of its prediction. It reads tb as the simulator
// asks (the Actual of simulate.TableActual over the table in scenario s,
// without building that table): tb must not change meanwhile.
func scenarioActual(g *graph.Graph, tb *predict.Table, s Scenario) simulate.Actual {
	tasks := make(map[string]int, len(g.Tasks))
	for t, task := range g.Tasks {
		tasks[task.Name] = t
	}
	classes := make(map[string]int, len(tb.Classes))
	for c, name := range tb.Classes {
		classes[name] = c
	}
	return func(task, class string) (float64, bool) {
		t, ok := tasks[task]
		c, ok2 := classes[class]
		if !ok || !ok2 || !tb.Feasible(t, c) {
			return 0, false
		}
		v := scenarioRuntime(tb.Runtime(t, c), s)
		return v, !math.IsInf(v, 0) && !math.IsNaN(v)
	}
}

// scenarioRuntime is runtime estimate r in scenario s, in seconds.
func scenarioRuntime(r predict.Estimate, s Scenario) float64 {
	if !(r.P90 > r.Value) || !(r.Value > 0) {
		return r.Value
	}
	switch s {
	case ScenarioLow:
		return r.Value * r.Value / r.P90
	case ScenarioHigh:
		return r.P90
	}
	return r.Value
}

// robustGuard plays sw and perTask (Shardwise's and the per-task plans of g from tb on cat) in every
// scenario and returns the decision. Ties keep sw. Each plan is resolved
// against the catalog once (simulate.Prepare) and played in the three
// scenarios; the two preparations and the six simulations only read the
// plans, cat and tb, and run concurrently; each writes its own slot, so
// the decision does not depend on their order, and the error returned is
// the first in scenario order (sw before perTask).
func robustGuard(g *graph.Graph, cat *catalog.Catalog, tb *predict.Table, sw, perTask *plan.Plan) (*Guard, error) {
	n := len(Scenarios)
	d := &Guard{Shardwise: make([]float64, n), PerTask: make([]float64, n)}
	errs := make([]error, 2*n)
	acts := make([]simulate.Actual, n)
	for i, s := range Scenarios {
		acts[i] = scenarioActual(g, tb, s)
	}
	var wg sync.WaitGroup
	for k, p := range []*plan.Plan{sw, perTask} {
		makespans := [][]float64{d.Shardwise, d.PerTask}[k]
		wg.Go(func() {
			pr, err := simulate.Prepare(p, cat)
			var runs sync.WaitGroup
			for i, s := range Scenarios {
				if err != nil {
					errs[2*i+k] = fmt.Errorf("robust guard, scenario %s: %w", s, err)
					continue
				}
				runs.Go(func() { makespans[i], errs[2*i+k] = play(pr, acts[i], s) })
			}
			runs.Wait()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	d.RegretShardwise, d.RegretPerTask = regret(d.Shardwise, d.PerTask), regret(d.PerTask, d.Shardwise)
	d.Fallback = d.RegretPerTask < d.RegretShardwise
	return d, nil
}

// play simulates prepared plan p with runtimes act (scenario s) and
// returns its makespan in seconds.
func play(p *simulate.Prepared, act simulate.Actual, s Scenario) (float64, error) {
	r, err := p.Run(simulate.Options{Actual: act})
	if err != nil {
		return 0, fmt.Errorf("robust guard, scenario %s: %w", s, err)
	}
	return r.MakespanSeconds, nil
}

// regret is the worst ratio, over scenarios, of a's makespan to the
// lesser of a's and b's (1 when a is never slower).
func regret(a, b []float64) float64 {
	w := 1.0
	for i := range a {
		if best := math.Min(a[i], b[i]); best > 0 {
			w = math.Max(w, a[i]/best)
		}
	}
	return w
}
