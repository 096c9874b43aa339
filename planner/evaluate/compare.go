package evaluate

import (
	"fmt"
	"math"
	"time"

	"github.com/shardwise/shardwise/planner"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/place"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/planner/simulate"
)

// Method names a planning method.
type Method string

// The methods Compare runs, in report order.
const (
	MethodSingle    Method = "single-class"
	MethodHEFT      Method = "heft"
	MethodShardwise Method = "shardwise"
)

// Methods lists the methods in report order.
var Methods = []Method{MethodSingle, MethodHEFT, MethodShardwise}

// Options tune Compare.
type Options struct {
	// Run names the plans' run (job IDs); default "eval".
	Run string
	// Sim are the simulator's options, the same for every method: noise 0
	// (the default) plays each plan's predicted runtimes exactly; Noise > 0
	// with a Seed perturbs each shard's runtime (see simulate.Options).
	Sim simulate.Options
	// Actual, when set, holds the runtimes the tasks really take (a
	// trace's recorded ones: the oracle Input's Table), for the input's
	// graph and the catalog's classes. Every plan is then played with them
	// (Sim.Actual is set from it) while planned from the input's Table,
	// and the lower bound and SLRs are computed from them.
	Actual *predict.Table
	// LateBinding plays the Shardwise plan with the launcher's late
	// binding and in-run correction (plan.Binder, called by the simulator
	// at each submission); it needs Actual. Comparison.Static then holds
	// the same plan played without it.
	LateBinding bool
	// Methods, when set, are the only methods run (in the order of
	// Methods); the others' outcomes are nil. Nil runs them all.
	Methods []Method
}

// Outcome is one method's plan, played by the simulator.
type Outcome struct {
	Method Method
	// Class is the class chosen by MethodSingle; empty for the others.
	Class string
	Plan  *plan.Plan
	Sim   *simulate.Result
	// MakespanSeconds is the simulated makespan.
	MakespanSeconds float64
	// PlannedSeconds is the makespan the method's own scheduler predicted.
	PlannedSeconds float64
	// SLR is MakespanSeconds over the critical-path bound.
	SLR float64
	// Allocations is the number of Nomad allocations (shards).
	Allocations int
	// BytesMoved is the sum of the plan's channel sizes, in bytes.
	BytesMoved int64
	// Bindings are the late-binding decisions (Options.LateBinding), in
	// submission order; Moved counts those that changed a shard's class.
	Bindings []plan.Binding
	Moved    int
	// PlanTime is the wall-clock time the method took to plan (for
	// MethodSingle, to plan every candidate class); it varies from run to
	// run.
	PlanTime time.Duration
}

// Comparison is every method's outcome on one input.
type Comparison struct {
	Input *Input
	Bound simulate.Bound
	// Outcomes holds one entry per method, in the order of Methods; the
	// MethodSingle entry is nil when no class can run every task.
	Outcomes []*Outcome
	// Holdout is how the input's predictions were made without its own
	// runtimes; empty when it plans from them (oracle) or is synthetic.
	Holdout Holdout
	// Actual are the runtimes the plans were played with (Options.Actual);
	// nil when each plan ran its own predictions.
	Actual *predict.Table
	// Static is the Shardwise plan played without late binding, when
	// Options.LateBinding was set; nil otherwise.
	Static *Outcome
	// LauncherHEFT is HEFT as `shardwise run -method heft` runs it (see
	// launcherHEFT: probed, not late-bound), when Options.LateBinding was
	// set and HEFT ran; nil otherwise. The HEFT entry of Outcomes is HEFT
	// as published.
	LauncherHEFT *Outcome
	// Sim are the simulator options every plan was played with (noise
	// and seed), as Options.Sim gave them.
	Sim simulate.Options
}

// Outcome returns the outcome of method m, or nil.
func (c *Comparison) Outcome(m Method) *Outcome {
	for _, o := range c.Outcomes {
		if o != nil && o.Method == m {
			return o
		}
	}
	return nil
}

// Compare plans in with every method on cat, plays each plan with the
// simulator under opts.Sim, and computes the lower bound and SLRs. in.Table
// must be for cat (same classes, in order). It returns an error if the
// bound, a plan or a simulation fails; a graph that no single class can
// run has a nil MethodSingle outcome.
func Compare(in *Input, cat *catalog.Catalog, opts Options) (*Comparison, error) {
	if opts.Run == "" {
		opts.Run = "eval"
	}
	truth := in
	if opts.Actual != nil {
		if opts.Actual.Tasks() != len(in.Graph.Tasks) {
			return nil, fmt.Errorf("%s: actual runtimes for %d tasks, graph has %d", in.Name, opts.Actual.Tasks(), len(in.Graph.Tasks))
		}
		opts.Sim.Actual = simulate.TableActual(taskNames(in.Graph), opts.Actual.Classes, runtimes(opts.Actual))
		truth = &Input{Name: in.Name, Graph: in.Graph, Table: opts.Actual}
	}
	b, err := lowerBound(truth, cat)
	if err != nil {
		return nil, fmt.Errorf("%s: lower bound: %w", in.Name, err)
	}
	cmp := &Comparison{Input: in, Bound: b, Actual: opts.Actual, Sim: opts.Sim}
	for _, m := range Methods {
		if !opts.runs(m) {
			cmp.Outcomes = append(cmp.Outcomes, nil)
			continue
		}
		o, err := runMethod(m, in, cat, opts)
		if err == errNoClass {
			cmp.Outcomes = append(cmp.Outcomes, nil)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", in.Name, m, err)
		}
		o.SLR = simulate.SLR(o.MakespanSeconds, b.CriticalPathSeconds)
		cmp.Outcomes = append(cmp.Outcomes, o)
	}
	if sw := cmp.Outcome(MethodShardwise); sw != nil && opts.LateBinding && opts.Sim.Actual != nil {
		static, err := simulated(MethodShardwise, sw.Plan, cat, opts, sw.PlanTime)
		if err != nil {
			return nil, fmt.Errorf("%s: shardwise without late binding: %w", in.Name, err)
		}
		static.SLR = simulate.SLR(static.MakespanSeconds, b.CriticalPathSeconds)
		cmp.Static = static
		bound, err := lateBound(sw.Plan, in, cat, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: shardwise with late binding: %w", in.Name, err)
		}
		bound.SLR = simulate.SLR(bound.MakespanSeconds, b.CriticalPathSeconds)
		bound.PlanTime = sw.PlanTime
		cmp.Outcomes[len(cmp.Outcomes)-1] = bound
	}
	if opts.LateBinding && opts.Sim.Actual != nil && cmp.Outcome(MethodHEFT) != nil {
		h, err := launcherHEFT(in, cat, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: heft as the launcher runs it: %w", in.Name, err)
		}
		h.SLR = simulate.SLR(h.MakespanSeconds, b.CriticalPathSeconds)
		cmp.LauncherHEFT = h
	}
	return cmp, nil
}

// launcherHEFT is HEFT executed the way `shardwise run -method heft`
// executes it: planned through the same pipeline as Shardwise's plan
// (planner.Pipeline with plan.MethodHEFT: one task per allocation, placed
// by insertion-based HEFT, then probe-then-size for in.Probes), and
// late-bound (plan.Binder, with the in-run correction) only if the
// launcher late-binds that method (plan.Method.Replanned; it does not: a
// baseline's plan runs as planned). The MethodHEFT outcome is HEFT as
// Topcuoglu et al. publish it, played without probe or late binding.
func launcherHEFT(in *Input, cat *catalog.Catalog, opts Options) (*Outcome, error) {
	start := time.Now()
	m := plan.Method{Name: plan.MethodHEFT}
	r, err := planner.Pipeline{Catalog: cat}.Plan(in.Graph, planner.Options{Run: opts.Run, Table: in.Table, Probes: in.Probes, Method: m})
	if err != nil {
		return nil, err
	}
	took := time.Since(start)
	if !m.Replanned() {
		return simulated(MethodHEFT, r.Plan, cat, opts, took)
	}
	o, err := lateBound(r.Plan, in, cat, opts)
	if err != nil {
		return nil, err
	}
	o.Method, o.PlanTime = MethodHEFT, took
	return o, nil
}

// runs reports whether Compare runs method m under o.
func (o Options) runs(m Method) bool {
	if o.Methods == nil {
		return true
	}
	for _, x := range o.Methods {
		if x == m {
			return true
		}
	}
	return false
}

// taskNames lists g's task names in g.Tasks order.
func taskNames(g *graph.Graph) []string {
	out := make([]string, len(g.Tasks))
	for i, t := range g.Tasks {
		out[i] = t.Name
	}
	return out
}

// lowerBound is simulate.LowerBound made valid for plans that split
// data-parallel tasks. The critical path takes, for a split task on class
// c, its runtime there divided by the most pieces that can run at once on
// c: min(MaxShards/Items bound, c's instances); no split of the task on c
// can finish sooner, since every piece of a split runs on the split's one
// class and n pieces on I instances take ceil(n/I) waves of runtime/n. The
// work part keeps whole-task runtimes (the pieces of a split add up to the
// whole task's work).
func lowerBound(in *Input, cat *catalog.Catalog) (simulate.Bound, error) {
	whole := runtimes(in.Table)
	split := false
	for _, t := range in.Graph.Tasks {
		split = split || t.Split != nil
	}
	if !split {
		return simulate.LowerBound(in.Graph, whole, cat)
	}
	b, err := simulate.LowerBound(in.Graph, pieceRuntimes(in.Graph, whole, cat), cat)
	if err != nil {
		return b, err
	}
	w, err := simulate.LowerBound(in.Graph, whole, cat)
	if err != nil {
		return b, err
	}
	b.WorkSeconds = w.WorkSeconds
	b.Seconds = max(b.CriticalPathSeconds, b.WorkSeconds)
	return b, nil
}

// pieceRuntimes copies rt with each split task's runtime on class c
// divided by maxParallel(task, c).
func pieceRuntimes(g *graph.Graph, rt [][]float64, cat *catalog.Catalog) [][]float64 {
	out := make([][]float64, len(rt))
	for t, row := range rt {
		out[t] = row
		sp := g.Tasks[t].Split
		if sp == nil {
			continue
		}
		out[t] = make([]float64, len(row))
		for c, v := range row {
			out[t][c] = v / float64(maxParallel(sp, cat.Classes[c].Instances))
		}
	}
	return out
}

// maxParallel is the most pieces of split sp that can run at once on a
// class of the given instances: its MaxShards/Items bound (unbounded when
// neither is set) capped by the instances; at least 1.
func maxParallel(sp *graph.Split, instances int) int {
	n := instances
	if sp.MaxShards > 0 {
		n = min(n, sp.MaxShards)
	}
	if sp.Items > 0 {
		n = min(n, sp.Items)
	}
	return max(n, 1)
}

// runMethod plans and simulates one method.
func runMethod(m Method, in *Input, cat *catalog.Catalog, opts Options) (*Outcome, error) {
	switch m {
	case MethodSingle:
		return bestSingle(in, cat, opts)
	case MethodHEFT:
		start := time.Now()
		p, err := heftPlan(in, cat, opts.Run)
		if err != nil {
			return nil, err
		}
		return simulated(m, p, cat, opts, time.Since(start))
	case MethodShardwise:
		start := time.Now()
		r, err := planner.Pipeline{Catalog: cat}.Plan(in.Graph, planner.Options{Run: opts.Run, Table: in.Table, Probes: in.Probes})
		if err != nil {
			return nil, err
		}
		return simulated(m, r.Plan, cat, opts, time.Since(start))
	}
	return nil, fmt.Errorf("unknown method %q", m)
}

// heftPlan is insertion-based HEFT with one task per allocation, as
// Topcuoglu et al. define it: data-parallel (split) tasks run whole, in one
// allocation, never cut into pieces.
func heftPlan(in *Input, cat *catalog.Catalog, run string) (*plan.Plan, error) {
	p := problem(in.Graph, cat, in.Table)
	s, err := place.Run(p, place.Options{Insertion: true})
	if err != nil {
		return nil, err
	}
	return taskPlan(in.Graph, p, s, in.Table, run, "heft-insertion"), nil
}

// bestSingle simulates every task on each class that can run them all, one
// allocation per task and split tasks cut into pieces as plan.Build's
// baseline cuts them for that class, and returns the class with the least simulated
// makespan (first in catalog order on ties), or errNoClass.
func bestSingle(in *Input, cat *catalog.Catalog, opts Options) (*Outcome, error) {
	start := time.Now()
	p := problem(in.Graph, cat, in.Table)
	var best *Outcome
	for c := range cat.Classes {
		pl, err := singleClassPlan(in, p, c, opts.Run, cat)
		if err != nil {
			return nil, err
		}
		if pl == nil {
			continue
		}
		o, err := simulated(MethodSingle, pl, cat, opts, 0)
		if err != nil {
			return nil, err
		}
		o.Class = cat.Classes[c].Name
		if best == nil || o.MakespanSeconds < best.MakespanSeconds {
			best = o
		}
	}
	if best == nil {
		return nil, errNoClass
	}
	best.PlanTime = time.Since(start)
	return best, nil
}

// singleClassPlan pins every task of p to class c and list-schedules them
// (non-insertion), or returns nil when c cannot run some task. A graph
// with split tasks is planned by splitPlan instead, so that the pieces
// match plan.Build's baseline.
func singleClassPlan(in *Input, p *place.Problem, c int, run string, cat *catalog.Catalog) (*plan.Plan, error) {
	if hasSplit(in.Graph) {
		return splitPlan(in, c, run, cat)
	}
	nc := len(p.Classes)
	pin := make([]int32, p.Nodes)
	for t := range pin {
		if math.IsInf(p.Runtime[t*nc+c], 1) {
			return nil, nil
		}
		pin[t] = int32(c)
	}
	q := *p
	q.Pin = pin
	s, err := place.Run(&q, place.Options{})
	if err != nil {
		return nil, err
	}
	return taskPlan(in.Graph, &q, s, in.Table, run, "single-class"), nil
}

// hasSplit reports whether some task of g is data-parallel.
func hasSplit(g *graph.Graph) bool {
	for _, t := range g.Tasks {
		if t.Split != nil {
			return true
		}
	}
	return false
}

// splitPlan is the single-class plan of a graph with split tasks: every
// task pinned to class c (by its executor hint, on a copy of the graph),
// planned by plan.Build without fusion or batching, so that each split
// task is cut into the pieces plan.Build chooses for c and the plan is the
// one plan.Build's Baseline measures for c. It returns nil when c cannot
// run some task (or cannot cut some split task to fit).
func splitPlan(in *Input, c int, run string, cat *catalog.Catalog) (*plan.Plan, error) {
	name := cat.Classes[c].Name
	for t := range in.Graph.Tasks {
		n := in.Table.At(t, c)
		if !n.Feasible || n.Runtime.Value < 0 {
			return nil, nil
		}
		if pin := in.Graph.Tasks[t].Hints.Executor; pin != "" && pin != name {
			return nil, nil
		}
	}
	g := *in.Graph
	g.Tasks = make([]*graph.Task, len(in.Graph.Tasks))
	for t, task := range in.Graph.Tasks {
		cp := *task
		cp.Hints.Executor = name
		g.Tasks[t] = &cp
	}
	p, err := plan.Build(&g, cat, in.Table, plan.Options{Run: run, NoFusion: true})
	if err != nil {
		// The pins are the copy's only change, so an error here is c
		// failing some task (typically a split that cannot be cut to fit
		// c's instances); an error of the graph itself is reported by the
		// Shardwise method, which plans the unpinned graph.
		return nil, nil
	}
	p.Algorithm = "single-class"
	return p, nil
}

// lateBound plays Shardwise's plan p with plan.Binder late-binding every
// shard at submission from in.Table corrected in-run.
func lateBound(p *plan.Plan, in *Input, cat *catalog.Catalog, opts Options) (*Outcome, error) {
	bd := plan.NewBinder(p, in.Graph, cat, in.Table, nil)
	o := opts
	o.Sim.Binder = bd
	out, err := simulated(MethodShardwise, p, cat, o, 0)
	if err != nil {
		return nil, err
	}
	out.Bindings = bd.Log
	for _, b := range bd.Log {
		if b.Planned != b.Class {
			out.Moved++
		}
	}
	return out, nil
}

// simulated plays plan p and fills an Outcome.
func simulated(m Method, p *plan.Plan, cat *catalog.Catalog, opts Options, took time.Duration) (*Outcome, error) {
	r, err := simulate.Run(p, cat, opts.Sim)
	if err != nil {
		return nil, err
	}
	return &Outcome{
		Method: m, Plan: p, Sim: r, MakespanSeconds: r.MakespanSeconds, PlannedSeconds: p.MakespanSeconds,
		Allocations: r.Allocations, BytesMoved: r.BytesMoved, PlanTime: took,
	}, nil
}
