// Package planner is the planning pipeline, the one entry point from a task
// graph to a plan: fit the predictor on history (planner/predict), predict
// every task on every executor class of the catalog, constrain the
// predictions (classes pinned or avoided while a run is re-planned), and
// cut, place and schedule the shards (planner/plan). `shardwise plan`,
// `run`, `simulate`, `make bench-plan` (through planner/evaluate) and the
// re-planner (launcher/replan) all plan through Pipeline.Plan.
//
// The subpackages hold the steps: graph (the task graph), catalog
// (executor classes), history (records of past runs), predict, place
// (list scheduling), plan (shards and the plan document), simulate and
// evaluate (judging plans). Nothing here imports the translator, launcher,
// feedback or driver.
package planner

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/sdk"
)

// Pipeline plans graphs on one catalog from one history. Catalog is
// required.
type Pipeline struct {
	Catalog *catalog.Catalog
	// History are the records the predictor is fitted on (predict.New);
	// records of classes missing from Catalog are left out of the runtime
	// fit with a warning.
	History []history.Record
	// Predictor, when set, is used as it is instead of fitting one on
	// History (the re-planner's, refitted on the feedback store).
	Predictor *predict.Predictor
	// Logger receives the warnings and a line per plan; nil logs nothing.
	Logger hclog.Logger
}

// Options choose how one graph is planned. The zero value plans with a
// random run ID, the graph's driver and fresh predictions.
type Options struct {
	// Run is the run ID carried in job names and meta; "" means a random
	// one (NewRunID).
	Run string
	// Driver is the task driver of the plan's jobs; "" means the graph's,
	// else sdk.DefaultDriver.
	Driver string
	// Source names the graph in errors (its file's path); "" means the
	// graph's name.
	Source string
	// Table, when set, holds the predictions to plan from (every task on
	// every class of Catalog, in catalog order) instead of the predictor's;
	// evaluation plans known costs this way. Pin and Avoid edit it.
	Table *predict.Table
	// Pin maps a task name to the only class it may run on (a task of a
	// shard already submitted, when a run is re-planned).
	Pin map[string]string
	// Avoid lists classes the tasks not pinned should not run on (no ready
	// node or no capacity now), unless that would leave a task no class.
	Avoid []string
	// Probes are task signatures the plan probes first (plan.Probe: one
	// shard of the type runs before the others, with generous memory).
	// When the pipeline predicts (Table nil), the predictor's ProbeTypes
	// are added.
	Probes []string
	// Method is the planning method (plan.BuildMethod); the zero value is
	// Shardwise's. NoFusion and NoBatch are plan.Options'.
	Method            plan.Method
	NoFusion, NoBatch bool
	// NoGuard turns off the robust guard (see robustGuard): Shardwise's
	// plan is kept even where the per-task plan (one task per allocation)
	// from the same predictions has the smaller worst regret over the
	// p10, p50 and p90 scenarios.
	NoGuard bool
}

// Result is a plan with the predictions it was made from.
type Result struct {
	Plan  *plan.Plan
	Table *predict.Table
}

// Why of a need made infeasible by Options.Pin and Options.Avoid.
const (
	whyAvoided = "no capacity now (re-plan)"
	whyPinned  = "already placed on %s (re-plan)"
)

// Plan predicts g's needs (unless opts.Table is set), applies opts.Pin
// and opts.Avoid, and builds the plan (plan.Build) with the run ID and
// driver of opts. It returns an error, wrapped with the graph's name, when
// the predictor cannot be fitted, a task fits no class, or the plan cannot
// be built. g is not modified; Pin and Avoid edit the table the plan is
// built from (opts.Table itself when it is set), returned in the Result.
func (p Pipeline) Plan(g *graph.Graph, opts Options) (*Result, error) {
	src := cmp.Or(opts.Source, g.Name)
	if p.Catalog == nil {
		return nil, fmt.Errorf("plan %s: no catalog", src)
	}
	tb, probes := opts.Table, opts.Probes
	if tb == nil {
		pred, err := p.predictor()
		if err != nil {
			return nil, err
		}
		if tb, err = pred.Predict(g); err != nil {
			return nil, fmt.Errorf("predict %s: %w", src, err)
		}
		probes = append(slices.Clone(probes), pred.ProbeTypes(g)...)
	}
	constrain(tb, g, opts.Pin, opts.Avoid)
	run := opts.Run
	if run == "" {
		run = NewRunID()
	}
	// The guard's per-task plan does not depend on Shardwise's, so it is
	// built meanwhile; both builds only read tb (constrain edited it above).
	guard, perTask := guarded(tb, opts), func() (*plan.Plan, error) { return nil, nil }
	if guard {
		perTask = p.startPerTask(g, tb, run, probes)
	}
	pl, err := plan.BuildMethod(g, p.Catalog, tb, plan.Options{Run: run, NoFusion: opts.NoFusion, NoBatch: opts.NoBatch}, opts.Method)
	pt, ptErr := perTask() // waited for even on error: no build outlives Plan
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", src, err)
	}
	ids := plan.Probe(pl, g, p.Catalog, probes)
	if len(ids) > 0 {
		p.logger().Info("probing types whose shared input is larger than history saw", "probes", strings.Join(ids, ", "))
	}
	probeNote := ""
	if guard && len(ids) > 0 {
		if pl, probeNote, err = p.probeInSchedule(g, tb, pl, opts, run, probes, ids); err != nil {
			return nil, fmt.Errorf("plan %s: %w", src, err)
		}
	}
	if guard {
		if pl, err = p.guard(g, tb, pl, pt, ptErr); err != nil {
			return nil, fmt.Errorf("plan %s: %w", src, err)
		}
		if probeNote != "" {
			pl.Guard = probeNote + "; " + pl.Guard
		}
	}
	pl.Driver = sdk.PickDriver(opts.Driver, g.Driver)
	p.logger().Info("planned", "graph", g.Name, "run", run, "shards", len(pl.Shards), "makespan_seconds", pl.MakespanSeconds)
	return &Result{Plan: pl, Table: tb}, nil
}

// guarded reports whether the robust guard (robustGuard) runs: only for
// Shardwise's method with fusion, without NoGuard, and when some
// prediction has a spread.
func guarded(tb *predict.Table, opts Options) bool {
	return (opts.Method.Name == "" || opts.Method.Name == plan.MethodShardwise) && !opts.NoFusion && !opts.NoGuard && hasSpread(tb)
}

// startPerTask starts building the guard's per-task plan (one task per
// allocation, with the same probes) from table tb, and returns the function
// that waits for it. The build only reads g, the catalog and tb.
func (p Pipeline) startPerTask(g *graph.Graph, tb *predict.Table, run string, probes []string) func() (*plan.Plan, error) {
	var (
		pt  *plan.Plan
		err error
		wg  sync.WaitGroup
	)
	wg.Go(func() {
		if pt, err = plan.Build(g, p.Catalog, tb, plan.Options{Run: run, NoFusion: true}); err == nil {
			plan.Probe(pt, g, p.Catalog, probes)
		}
	})
	return func() (*plan.Plan, error) {
		wg.Wait()
		return pt, err
	}
}

// probeInSchedule plans g again with the probe's wait in the graph
// (plan.ProbeGraph: every other task of a probed type depends on the
// probe shard's tasks of that type), so that the schedule, fusion and
// batching see the wait plan.Probe added to pl after the schedule; the
// new plan's probe shards get the probe's memory (plan.SizeProbes) and
// its waits are Upstream entries (plan.ProbeWaits). It keeps whichever
// of the two plans has the smaller worst regret over the robust guard's
// scenarios (robustGuard; pl on ties) and returns it with the decision
// in words.
func (p Pipeline) probeInSchedule(g *graph.Graph, tb *predict.Table, pl *plan.Plan, opts Options, run string, probes, ids []string) (*plan.Plan, string, error) {
	pg, tasks, err := plan.ProbeGraph(pl, g, probes, ids)
	if err != nil {
		return nil, "", fmt.Errorf("probe in the schedule: %w", err)
	}
	alt, err := plan.BuildMethod(pg, p.Catalog, tb, plan.Options{Run: run, NoFusion: opts.NoFusion, NoBatch: opts.NoBatch}, opts.Method)
	if err != nil {
		return nil, "", fmt.Errorf("probe in the schedule: %w", err)
	}
	plan.SizeProbes(alt, p.Catalog, tasks)
	plan.ProbeWaits(alt, g)
	d, err := robustGuard(g, p.Catalog, tb, pl, alt)
	if err != nil {
		return nil, "", fmt.Errorf("probe in the schedule: %w", err)
	}
	keep := "probe after the schedule"
	if d.Fallback {
		pl, keep = alt, "probe in the schedule"
	}
	note := fmt.Sprintf("kept %s: worst regret %.3f against %.3f (p10/p50/p90 makespans %.1f/%.1f/%.1f s in the schedule, %.1f/%.1f/%.1f s after it)",
		keep, min(d.RegretShardwise, d.RegretPerTask), max(d.RegretShardwise, d.RegretPerTask),
		d.PerTask[0], d.PerTask[1], d.PerTask[2], d.Shardwise[0], d.Shardwise[1], d.Shardwise[2])
	p.logger().Info("probe", "graph", g.Name, "decision", note)
	return pl, note, nil
}

// guard runs the robust guard (robustGuard) on Shardwise's plan pl and the
// per-task plan perTask built from the same table tb (buildErr is that
// build's error), and returns whichever of the two the guard keeps, its
// decision recorded in the plan's Guard.
func (p Pipeline) guard(g *graph.Graph, tb *predict.Table, pl, perTask *plan.Plan, buildErr error) (*plan.Plan, error) {
	if buildErr != nil {
		return nil, fmt.Errorf("robust guard: %w", buildErr)
	}
	d, err := robustGuard(g, p.Catalog, tb, pl, perTask)
	if err != nil {
		return nil, err
	}
	p.logger().Info("robust guard", "graph", g.Name, "decision", d.String())
	if d.Fallback {
		pl = perTask
	}
	pl.Guard = d.String()
	return pl, nil
}

// Predict fits the predictor on History (or takes Predictor) and returns
// g's needs on every class of Catalog, warning once per class name about
// history records of classes the catalog lacks. Errors name the graph as
// src ("" means its name).
func (p Pipeline) Predict(g *graph.Graph, src string) (*predict.Table, error) {
	src = cmp.Or(src, g.Name)
	pred, err := p.predictor()
	if err != nil {
		return nil, err
	}
	tb, err := pred.Predict(g)
	if err != nil {
		return nil, fmt.Errorf("predict %s: %w", src, err)
	}
	return tb, nil
}

// predictor returns Predictor, else one fitted on History.
func (p Pipeline) predictor() (*predict.Predictor, error) {
	if p.Predictor != nil {
		return p.Predictor, nil
	}
	p.warnUnknownExecutors()
	pred, err := predict.New(p.Catalog, p.History)
	if err != nil {
		return nil, fmt.Errorf("fit predictor: %w", err)
	}
	return pred, nil
}

// warnUnknownExecutors warns once per class name about history records
// whose executor class is not in the catalog: the predictor leaves them
// out of the runtime fit (their runtimes cannot be scaled by an unknown
// class's speed), as Nomad skips what it cannot place rather than
// guessing. A class renamed or removed from the catalog is the usual
// cause.
func (p Pipeline) warnUnknownExecutors() {
	unknown := predict.UnknownExecutors(p.Catalog, p.History)
	names := make([]string, 0, len(unknown))
	for name := range unknown {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p.logger().Warn(fmt.Sprintf("history records of executor class %q left out of the runtime fit: the class is not in the catalog", name),
			"records", unknown[name], "classes", strings.Join(p.Catalog.Names(), ", "))
	}
}

// constrain edits tb: a pinned task is feasible only on its class; a task
// not pinned loses the avoided classes, unless none would be left.
func constrain(tb *predict.Table, g *graph.Graph, pin map[string]string, avoid []string) {
	for t, task := range g.Tasks {
		if class, ok := pin[task.Name]; ok {
			pinTo(tb, t, class)
		} else if len(avoid) > 0 {
			ruleOut(tb, t, avoid)
		}
	}
}

// pinTo makes task t feasible only on class name.
func pinTo(tb *predict.Table, t int, name string) {
	for c, cn := range tb.Classes {
		if cn != name && tb.Feasible(t, c) {
			n := tb.At(t, c)
			n.Feasible, n.Why = false, fmt.Sprintf(whyPinned, name)
		}
	}
}

// ruleOut makes the avoided classes infeasible for task t, unless that
// leaves it none.
func ruleOut(tb *predict.Table, t int, avoid []string) {
	var keep, drop []int
	for c, name := range tb.Classes {
		switch {
		case !tb.Feasible(t, c):
		case slices.Contains(avoid, name):
			drop = append(drop, c)
		default:
			keep = append(keep, c)
		}
	}
	if len(keep) == 0 {
		return
	}
	for _, c := range drop {
		n := tb.At(t, c)
		n.Feasible, n.Why = false, whyAvoided
	}
}

// NewRunID returns 8 random hex characters: short enough for job IDs,
// random enough that two runs of one graph never collide.
func NewRunID() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}

func (p Pipeline) logger() hclog.Logger {
	if p.Logger == nil {
		return hclog.NewNullLogger()
	}
	return p.Logger
}
