package evaluate

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/shardwise/shardwise/planner"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/simulate"
)

// OOMFractions are the points of a task's runtime at which ProbeCosts's
// OOM scenarios kill it: at its start (only the start-up is lost), half
// way, and at its end (the whole attempt is lost).
var OOMFractions = []float64{0, 0.5, 1}

// ProbeCost is probe-then-size (plan.Probe) as insurance, on one honest
// input: what the probe's wait costs when no task is under-sized, against
// what it saves when every task of a probed type that does not wait for
// the probe is under-sized once. The simulator does not model OOM kills,
// so the probe's benefit is invisible in the plain makespans; this
// measures it. Makespans are in seconds, Shardwise's plans played with
// late binding (plan.Binder) and the recorded runtimes.
type ProbeCost struct {
	Input  string
	Probes []string
	// Probed and Unprobed are the makespans of Shardwise's plan with the
	// probe (as Compare plans it) and without it (Probes dropped).
	Probed, Unprobed float64
	// Retried[i] is the unprobed plan's makespan when, in every shard,
	// the first task of a probed type is OOM-killed once after
	// OOMFractions[i] of its runtime and retried (with doubled memory, as
	// the launcher does) after its class's start-up.
	Retried []float64
}

// BreakEven is the probability that the unprobed tasks are under-sized
// above which the probe pays for itself in expected makespan, for
// OOMFractions[i]: its wait over the retries it prevents. Above 1 the probe
// never pays (in makespan). It is 0 when the probe costs nothing (or
// saves time even without an OOM kill: it pays at any probability), and
// otherwise +Inf when the retries cost nothing (or save time).
func (c *ProbeCost) BreakEven(i int) float64 {
	wait, saved := c.Probed-c.Unprobed, c.Retried[i]-c.Unprobed
	switch {
	case wait <= 0:
		return 0
	case saved <= 0:
		return math.Inf(1)
	}
	return wait / saved
}

// ProbeCosts measures honest's probe (honest.Probes, from Honest) with
// the recorded runtimes of actual (the oracle input's Table); nil when
// honest has no probe.
func ProbeCosts(honest *Input, actual *Input, cat *catalog.Catalog) (*ProbeCost, error) {
	if len(honest.Probes) == 0 {
		return nil, nil
	}
	opts := Options{Run: "eval", Sim: simulate.Options{
		Actual: simulate.TableActual(taskNames(honest.Graph), actual.Table.Classes, runtimes(actual.Table)),
	}}
	c := &ProbeCost{Input: honest.Name, Probes: honest.Probes}
	var err error
	if c.Probed, _, err = probePlay(honest, honest.Probes, cat, opts, nil); err != nil {
		return nil, err
	}
	var unprobed *plan.Plan
	if c.Unprobed, unprobed, err = probePlay(honest, nil, cat, opts, nil); err != nil {
		return nil, err
	}
	for _, f := range OOMFractions {
		o := opts
		o.Sim.Actual = oomActual(opts.Sim.Actual, unprobed, honest.Graph, honest.Probes, cat, f)
		ms, _, err := probePlay(honest, nil, cat, o, unprobed)
		if err != nil {
			return nil, err
		}
		c.Retried = append(c.Retried, ms)
	}
	return c, nil
}

// ProbeCostsOf returns ProbeCosts of every input of ins whose honest
// plan (Honest, the others of ins its history, k folds within a trace)
// probes a type, in the order of ins.
func ProbeCostsOf(ins []*Input, cat *catalog.Catalog, k int) ([]*ProbeCost, error) {
	var out []*ProbeCost
	for _, in := range ins {
		h, _, err := Honest(in, ins, cat, k)
		if err != nil {
			return nil, err
		}
		c, err := ProbeCosts(h, in, cat)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// WriteProbeCosts writes costs as a Markdown table: per input its probed
// types, the makespans with and without the probe (seconds) and, per
// OOMFractions, the unprobed makespan with the retries and BreakEven.
func WriteProbeCosts(w io.Writer, costs []*ProbeCost) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "| trace | probed types | probed (s) | unprobed (s) |")
	for _, f := range OOMFractions {
		fmt.Fprintf(b, " unprobed, OOM at %g (s) | break-even |", f)
	}
	fmt.Fprintf(b, "\n|---|---|--:|--:|%s\n", strings.Repeat("--:|--:|", len(OOMFractions)))
	for _, c := range costs {
		fmt.Fprintf(b, "| %s | %s | %.1f | %.1f |", c.Input, strings.Join(c.Probes, ", "), c.Probed, c.Unprobed)
		for i := range OOMFractions {
			fmt.Fprintf(b, " %.1f | %.3f |", c.Retried[i], c.BreakEven(i))
		}
		fmt.Fprintln(b)
	}
	return b.Flush()
}

// probePlay plans in with probes (unless p is given) and plays the plan
// with late binding under opts; it returns the makespan and the plan.
func probePlay(in *Input, probes []string, cat *catalog.Catalog, opts Options, p *plan.Plan) (float64, *plan.Plan, error) {
	if p == nil {
		r, err := planner.Pipeline{Catalog: cat}.Plan(in.Graph, planner.Options{Run: opts.Run, Table: in.Table, Probes: probes})
		if err != nil {
			return 0, nil, fmt.Errorf("%s: probe cost: %w", in.Name, err)
		}
		p = r.Plan
	}
	o, err := lateBound(p, in, cat, opts)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: probe cost: %w", in.Name, err)
	}
	return o.MakespanSeconds, p, nil
}

// oomActual is base in which, in every shard of p, the first task of a
// signature in probes that at least two shards hold (as plan.Probe
// probes: a type in one shard has nothing waiting for a probe) runs
// (1 + f) x its runtime plus its class's start-up: killed after the
// fraction f of its runtime and run again in a new allocation. A fused
// or batched shard dies at its first such task (the tasks of a type share
// the input the probe is for), so later tasks lose nothing.
func oomActual(base simulate.Actual, p *plan.Plan, g *graph.Graph, probes []string, cat *catalog.Catalog, f float64) simulate.Actual {
	holders := map[string]int{} // per probed signature, the shards holding it
	for _, sh := range p.Shards {
		seen := map[string]bool{}
		for _, name := range sh.Tasks {
			if t := g.Task(name); t != nil && slices.Contains(probes, t.Signature) && !seen[t.Signature] {
				seen[t.Signature] = true
				holders[t.Signature]++
			}
		}
	}
	killed := map[string]bool{}
	for _, sh := range p.Shards {
		for _, name := range sh.Tasks {
			if t := g.Task(name); t != nil && holders[t.Signature] >= 2 {
				killed[name] = true
				break
			}
		}
	}
	return func(task, class string) (float64, bool) {
		v, ok := base(task, class)
		if !ok || !killed[task] {
			return v, ok
		}
		startup := 0.0
		if cl := cat.Class(class); cl != nil {
			startup = cl.Startup.Seconds()
		}
		return (1+f)*v + startup, true
	}
}
