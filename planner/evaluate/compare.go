package evaluate

import (
	"fmt"
	"math"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/place"
	"github.com/shardwise/shardwise/planner/plan"
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
	b, err := simulate.LowerBound(in.Graph, runtimes(in.Table), cat)
	if err != nil {
		return nil, fmt.Errorf("%s: lower bound: %w", in.Name, err)
	}
	cmp := &Comparison{Input: in, Bound: b}
	for _, m := range Methods {
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
	return cmp, nil
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
		p, err := plan.Build(in.Graph, cat, in.Table, plan.Options{Run: opts.Run})
		if err != nil {
			return nil, err
		}
		return simulated(m, p, cat, opts, time.Since(start))
	}
	return nil, fmt.Errorf("unknown method %q", m)
}

// heftPlan is insertion-based HEFT with one task per allocation.
func heftPlan(in *Input, cat *catalog.Catalog, run string) (*plan.Plan, error) {
	p := problem(in.Graph, cat, in.Table)
	s, err := place.Run(p, place.Options{Insertion: true})
	if err != nil {
		return nil, err
	}
	return taskPlan(in.Graph, p, s, in.Table, run, "heft-insertion"), nil
}

// bestSingle simulates every task on each class that can run them all, one
// allocation per task, and returns the class with the least simulated
// makespan (first in catalog order on ties), or errNoClass.
func bestSingle(in *Input, cat *catalog.Catalog, opts Options) (*Outcome, error) {
	start := time.Now()
	p := problem(in.Graph, cat, in.Table)
	var best *Outcome
	for c := range cat.Classes {
		pl, err := singleClassPlan(in, p, c, opts.Run)
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
// (non-insertion), or returns nil when c cannot run some task.
func singleClassPlan(in *Input, p *place.Problem, c int, run string) (*plan.Plan, error) {
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
