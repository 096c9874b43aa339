// Package replan closes Shardwise's loop while a graph runs: before the
// launcher submits the next shards, it re-plans them with fresh history
// (the feedback store, refitted) and the cluster's current load (Nomad's
// nodes, live allocations and blocked evaluations), and moves a shard to
// another executor class when its planned class is unavailable or
// saturated, or when its upstream shards ran far off prediction and the
// fresh plan places it elsewhere.
//
// A Replanner implements launcher.Replanner. For each job about to be
// submitted it first looks for a trigger, cheapest first:
//
//  1. the job's class has no ready, eligible node (down or drained);
//  2. the job's class has blocked evaluations (jobs waiting for capacity);
//  3. an upstream shard's actual runtime is more than OffFactor times its
//     prediction, or less than 1/OffFactor of it;
//  4. the completed tasks of a type of the job's tasks ran at least
//     MinCorrection times their predictions, or at most 1/MinCorrection
//     (typeDrift; a fused shard's tasks each by its own runtime when the
//     launcher read them, against the run's predictions, refitted once
//     per run, bindTable).
//
// Without a trigger the job keeps its plan and nothing else is read. With
// one, it refits the predictor (Advisor.Predictor), predicts the graph
// again, pins every shard already submitted to its class, rules out the
// unavailable and saturated classes for the shards not submitted (unless
// that leaves a task no class), and builds a fresh plan of the whole graph
// with the same run ID (plan.Build). When the fresh plan cuts the job into
// the same shards and places it on another class, the job moves there,
// with the fresh predictions and resources. When the fresh plan cuts it
// differently and the trigger is 1 or 2, the job moves to the feasible
// alternative of the original plan (Shard.Alternatives) that finishes
// first among the available classes. Otherwise it stays.
//
// The jobs no trigger re-planned are late-bound (bind.go): plan.Binder,
// the code the simulator calls where it submits, decides again the class
// of each one whose class is full, with the run's actual runtimes.
package replan

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/translator/nomadjob"
)

// DefaultOffFactor is the Replanner's OffFactor when it is zero.
const DefaultOffFactor = 2.0

// Advisor is where a Replanner reads the cluster's load and fresh
// history; *ClusterAdvisor with a Client and a Store is one.
type Advisor interface {
	Load(ctx context.Context) (*Load, error)
	Predictor(ctx context.Context, cat *catalog.Catalog, extra ...history.Record) (*predict.Predictor, error)
}

// Replanner re-plans a run's next shards; see the package docs. Graph,
// Catalog and Advisor are required.
type Replanner struct {
	Graph   *graph.Graph
	Catalog *catalog.Catalog
	Advisor Advisor
	// Extra are history records besides the store's (the -history files
	// the run was planned with).
	Extra []history.Record
	// Jobs are the options the run's jobs were built with; the moved
	// jobs are built with them too.
	Jobs nomadjob.Options
	// NoFusion, NoBatch and NoGuard are the planner.Options the run was
	// planned with (-no-fusion, -no-batch, -no-guard); a fresh plan keeps
	// them, so that re-planning never fuses or batches what the user asked
	// to keep apart.
	NoFusion, NoBatch, NoGuard bool
	// OffFactor is how far off its prediction an upstream shard's
	// runtime must be (either way) for its downstream shards to be
	// re-planned; 0 means DefaultOffFactor.
	OffFactor float64
	// Logger receives each decision; nil logs nothing.
	Logger hclog.Logger

	// table is the late binding's uncorrected predictions (bindTable).
	table *predict.Table
	// tableErr is the error of the run's one refit for table, if it failed.
	tableErr error
}

// trigger is why a job is re-planned.
type trigger struct {
	reason string
	// capacity is set for an unavailable or saturated class (triggers 1
	// and 2), which the alternatives fallback may move away from.
	capacity bool
}

// Replan implements launcher.Replanner.
func (r *Replanner) Replan(ctx context.Context, req launcher.ReplanRequest) ([]launcher.Move, error) {
	load, err := r.Advisor.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("re-plan: %w", err)
	}
	byJob, order := jobsOf(req.Next)
	triggers := map[string]trigger{}
	for _, job := range order {
		if tr, ok := r.trigger(ctx, byJob[job][0], load, req); ok {
			triggers[job] = tr
		}
	}
	moves, err := r.replanTriggered(ctx, req, load, byJob, order, triggers)
	if err != nil {
		return moves, err
	}
	bound, err := r.bind(ctx, req, load, triggers)
	if err != nil {
		r.logger().Warn("late binding failed; keeping the plan's classes", "error", err)
	}
	return append(moves, bound...), nil
}

// replanTriggered returns the moves of the jobs with a trigger.
func (r *Replanner) replanTriggered(ctx context.Context, req launcher.ReplanRequest, load *Load,
	byJob map[string][]*plan.Shard, order []string, triggers map[string]trigger) ([]launcher.Move, error) {
	if len(triggers) == 0 {
		return nil, nil
	}
	fresh, err := r.freshPlan(ctx, req, load)
	if err != nil {
		r.logger().Warn("fresh plan failed; falling back to the plan's alternatives", "error", err)
	}
	var moves []launcher.Move
	for _, job := range order {
		tr, ok := triggers[job]
		if !ok {
			continue
		}
		m, err := r.decide(req, fresh, load, byJob[job], tr)
		if err != nil {
			return moves, err
		}
		if m != nil {
			moves = append(moves, *m)
		}
	}
	return moves, nil
}

// jobsOf groups shards by Job, in order of first appearance.
func jobsOf(shards []*plan.Shard) (map[string][]*plan.Shard, []string) {
	by := map[string][]*plan.Shard{}
	var order []string
	for _, s := range shards {
		if by[s.Job] == nil {
			order = append(order, s.Job)
		}
		by[s.Job] = append(by[s.Job], s)
	}
	return by, order
}

// trigger returns why shard s (standing for its job) should be
// re-planned, if at all.
func (r *Replanner) trigger(ctx context.Context, s *plan.Shard, load *Load, req launcher.ReplanRequest) (trigger, bool) {
	done := req.Done
	if !r.available(s.Class, load) {
		return trigger{reason: "no ready node in " + s.Class, capacity: true}, true
	}
	if n := load.Blocked[s.Class]; n > 0 {
		return trigger{reason: fmt.Sprintf("%s saturated: %d blocked evaluations", s.Class, n), capacity: true}, true
	}
	f := r.OffFactor
	if f <= 1 {
		f = DefaultOffFactor
	}
	for _, d := range done {
		if !slices.Contains(s.Upstream, d.Shard) || d.Actual <= 0 || d.PredictedSeconds <= 0 {
			continue
		}
		ratio := d.Actual.Seconds() / d.PredictedSeconds
		if ratio > f || ratio < 1/f {
			return trigger{reason: fmt.Sprintf("upstream %s ran %.2fx its prediction", d.Shard, ratio)}, true
		}
	}
	if f, sig := r.typeDrift(ctx, s, req); f != 0 {
		return trigger{reason: fmt.Sprintf("tasks of type %s ran %.2fx their predictions in this run", sig, f)}, true
	}
	return trigger{}, false
}

// MinCorrection is how far (either way) the in-run correction of a task
// type must be from 1 for its pending shards to be re-planned and, when
// they keep their class, re-sized with the corrected predictions.
const MinCorrection = 1.5

// typeDrift returns the in-run correction factor of the first signature of
// shard s's tasks whose completed tasks in this run ran at least
// MinCorrection times (or at most 1/MinCorrection of) their planned
// predictions, with the signature; 0 when none did. A fused shard's
// tasks are judged each by its own runtime when the launcher read them
// (ShardResult.TaskSeconds), against its share of the shard's planned
// prediction (split by the run's uncorrected predictions, bindTable);
// other shards, and fused ones without those, by the shard's runtime.
func (r *Replanner) typeDrift(ctx context.Context, s *plan.Shard, req launcher.ReplanRequest) (float64, string) {
	byID := map[string]*plan.Shard{}
	for _, sh := range req.Plan.Shards {
		byID[sh.ID] = sh
	}
	corr := predict.NewCorrection(0)
	for _, d := range req.Done {
		sh := byID[d.Shard]
		if sh == nil || d.State != launcher.Complete || d.Actual <= 0 || d.PredictedSeconds <= 0 {
			continue
		}
		if shares := r.plannedShares(ctx, sh, d); shares != nil {
			for k, name := range sh.Tasks {
				corr.Observe(r.Graph.Task(name).Signature, d.Class, d.PredictedSeconds*shares[k], d.TaskSeconds[k])
			}
			continue
		}
		for _, name := range sh.Tasks {
			if t := r.Graph.Task(name); t != nil {
				corr.Observe(t.Signature, d.Class, d.PredictedSeconds, d.Actual.Seconds())
			}
		}
	}
	for _, name := range s.Tasks {
		t := r.Graph.Task(name)
		if t == nil {
			continue
		}
		if f, n := corr.Factor(t.Signature, s.Class); n > 0 && (f >= MinCorrection || f <= 1/MinCorrection) {
			return f, t.Signature
		}
	}
	return 0, ""
}

// available reports whether executor class name has a ready, eligible
// node: a node of its Nomad node class, or any node when it names none.
func (r *Replanner) available(name string, load *Load) bool {
	cl := r.Catalog.Class(name)
	if cl == nil {
		return false
	}
	if nc := cl.Placement.NodeClass; nc != "" {
		return load.Classes[nc].ReadyNodes > 0
	}
	for _, l := range load.Classes {
		if l.ReadyNodes > 0 {
			return true
		}
	}
	return false
}

// usable reports whether a shard may be moved to class name now: it has
// a ready node and no blocked evaluations.
func (r *Replanner) usable(name string, load *Load) bool {
	return r.available(name, load) && load.Blocked[name] == 0
}

// fresh is a plan built from fresh predictions, the predictions, its
// jobs by ID and the class of each task.
type fresh struct {
	plan    *plan.Plan
	table   *predict.Table
	jobs    map[string]*api.Job
	classOf map[string]string
}

// freshPlan refits the predictor, corrects the predictions of what is not
// submitted yet by what completed (correct), and plans the graph again
// through the planner's pipeline with the same run ID and driver, pinning what was
// submitted to its class and avoiding the classes not usable now for the
// rest.
func (r *Replanner) freshPlan(ctx context.Context, req launcher.ReplanRequest, load *Load) (*fresh, error) {
	pred, err := r.Advisor.Predictor(ctx, r.Catalog, r.Extra...)
	if err != nil {
		return nil, err
	}
	pipe := planner.Pipeline{Catalog: r.Catalog, Predictor: pred}
	tb, err := pipe.Predict(r.Graph, "")
	if err != nil {
		return nil, err
	}
	r.correct(tb, req)
	opts := r.constraints(req, load)
	opts.Table = tb
	res, err := pipe.Plan(r.Graph, opts)
	if err != nil {
		return nil, err
	}
	p := res.Plan
	jobs, err := nomadjob.Jobs(p, r.Graph, r.Catalog, r.Jobs)
	if err != nil {
		return nil, fmt.Errorf("translate the fresh plan: %w", err)
	}
	out := &fresh{plan: p, table: res.Table, jobs: map[string]*api.Job{}, classOf: map[string]string{}}
	for _, j := range jobs {
		out.jobs[*j.ID] = j
	}
	for _, s := range p.Shards {
		for _, t := range s.Tasks {
			out.classOf[t] = s.Class
		}
	}
	return out, nil
}

// correct applies in-run learning to tb (predict.Correction): each
// completed shard's actual runtime over its fresh prediction on the class
// it ran on is observed for the signatures of its tasks (each task's own
// runtime over its own prediction for a fused shard whose task times the
// launcher read, ShardResult.TaskSeconds), and the tasks of the shards
// not yet submitted are predicted with the resulting factors.
// It returns the number of tasks whose predictions changed.
func (r *Replanner) correct(tb *predict.Table, req launcher.ReplanRequest) int {
	byID := map[string]*plan.Shard{}
	for _, s := range req.Plan.Shards {
		byID[s.ID] = s
	}
	cls := map[string]int{}
	for c, name := range tb.Classes {
		cls[name] = c
	}
	corr := predict.NewCorrection(0)
	for _, d := range req.Done {
		s, c, ok := byID[d.Shard], 0, false
		if c, ok = cls[d.Class]; !ok || s == nil || d.Actual <= 0 || d.State != launcher.Complete {
			continue
		}
		if taskTimed(s, d, r.Graph) {
			for k, name := range s.Tasks {
				t := r.Graph.Index(name)
				corr.Observe(r.Graph.Tasks[t].Signature, d.Class, tb.At(t, c).Runtime.Value, d.TaskSeconds[k])
			}
			continue
		}
		var pred float64
		for _, name := range s.Tasks {
			if t := r.Graph.Index(name); t >= 0 {
				pred += tb.At(t, c).Runtime.Value
			}
		}
		if s.Split != nil && s.Split.Count > 0 {
			pred /= float64(s.Split.Count)
		}
		for _, name := range s.Tasks {
			if t := r.Graph.Task(name); t != nil {
				corr.Observe(t.Signature, d.Class, pred, d.Actual.Seconds())
			}
		}
	}
	pending := map[int]bool{}
	for _, s := range req.Pending {
		for _, name := range s.Tasks {
			if t := r.Graph.Index(name); t >= 0 {
				pending[t] = true
			}
		}
	}
	n := corr.Apply(r.Graph, tb, func(t int) bool { return pending[t] }, nil)
	if n > 0 {
		r.logger().Info("in-run correction", "tasks", n)
	}
	return n
}

// constraints are the pipeline options of a fresh plan of req: its run
// ID, driver and planning switches, each task of a shard already submitted pinned to that
// shard's class, and the classes not usable now avoided for the others.
func (r *Replanner) constraints(req launcher.ReplanRequest, load *Load) planner.Options {
	pending := map[string]bool{}
	for _, s := range req.Pending {
		pending[s.ID] = true
	}
	opts := planner.Options{Run: req.Plan.Run, Driver: req.Plan.Driver, Pin: map[string]string{},
		NoFusion: r.NoFusion, NoBatch: r.NoBatch, NoGuard: r.NoGuard}
	for _, s := range req.Plan.Shards {
		if pending[s.ID] {
			continue
		}
		for _, name := range s.Tasks {
			opts.Pin[name] = s.Class
		}
	}
	for _, name := range r.Catalog.Names() {
		if !r.usable(name, load) {
			opts.Avoid = append(opts.Avoid, name)
		}
	}
	return opts
}

// decide returns the move for a triggered job, or nil to keep it. The
// job follows the fresh plan when that puts all of its tasks on one other
// class: as the fresh plan's shards and job when it cuts them the same,
// else as its own shards on that class with fresh predictions. Without a
// fresh verdict, a job on an unusable class takes the best alternative.
func (r *Replanner) decide(req launcher.ReplanRequest, f *fresh, load *Load, shards []*plan.Shard, tr trigger) (*launcher.Move, error) {
	job, from := shards[0].Job, shards[0].Class
	to := ""
	if f != nil {
		to = f.classFor(shards)
	}
	switch {
	case to == from:
		if m := r.resize(f, shards, tr); m != nil {
			return m, nil
		}
		r.logger().Info("re-plan keeps the job on its class", "job", job, "class", from, "trigger", tr.reason)
		return nil, nil
	case to != "":
		if ns := shardsOfJob(f.plan, job); sameCut(shards, ns) && f.jobs[job] != nil {
			return &launcher.Move{Job: f.jobs[job], Shards: ns, Reason: tr.reason}, nil
		}
		return r.moveTo(req.Plan, shards, to, f.table, tr.reason)
	case tr.capacity:
		return r.alternative(req, load, shards, tr)
	}
	r.logger().Info("re-plan keeps the job: the fresh plan splits its tasks over classes", "job", job, "trigger", tr.reason)
	return nil, nil
}

// classFor returns the one class the fresh plan puts all of the shards'
// tasks on, or "" when it uses several.
func (f *fresh) classFor(shards []*plan.Shard) string {
	class := ""
	for _, s := range shards {
		for _, t := range s.Tasks {
			c := f.classOf[t]
			if c == "" || (class != "" && c != class) {
				return ""
			}
			class = c
		}
	}
	return class
}

// shardsOfJob returns p's shards of job, in piece order.
func shardsOfJob(p *plan.Plan, job string) []*plan.Shard {
	var out []*plan.Shard
	for _, s := range p.Shards {
		if s.Job == job {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b *plan.Shard) int { return pieceIndex(a) - pieceIndex(b) })
	return out
}

// resize returns a move that keeps the job on its class with the fresh
// plan's (in-run corrected) predictions and resources, when the fresh plan
// cuts it the same and its predicted runtime is at least MinCorrection
// times (or at most 1/MinCorrection of) the current one; nil otherwise.
func (r *Replanner) resize(f *fresh, shards []*plan.Shard, tr trigger) *launcher.Move {
	job := shards[0].Job
	ns := shardsOfJob(f.plan, job)
	if !sameCut(shards, ns) || f.jobs[job] == nil {
		return nil
	}
	var was, now float64
	for i := range shards {
		was += shards[i].RuntimeSeconds.Value
		now += ns[i].RuntimeSeconds.Value
	}
	if !(was > 0) || (now/was < MinCorrection && now/was > 1/MinCorrection) {
		return nil
	}
	reason := fmt.Sprintf("in-run correction: predicted %.1fs, was %.1fs; %s", now, was, tr.reason)
	return &launcher.Move{Job: f.jobs[job], Shards: ns, Reason: reason}
}

// sameCut reports whether a and b are the same shards: same IDs, tasks
// and pieces, in the same order.
func sameCut(a, b []*plan.Shard) bool {
	return slices.EqualFunc(a, b, func(x, y *plan.Shard) bool {
		return x.ID == y.ID && slices.Equal(x.Tasks, y.Tasks) && pieceIndex(x) == pieceIndex(y) && pieceCount(x) == pieceCount(y)
	})
}

func pieceIndex(s *plan.Shard) int {
	if s.Split == nil {
		return 0
	}
	return s.Split.Index
}

func pieceCount(s *plan.Shard) int {
	if s.Split == nil {
		return 1
	}
	return s.Split.Count
}

// alternative moves a job off an unusable class to the usable
// alternative of the original plan that finishes first, keeping the
// shards' predictions and fitting their resources to the new class. It
// returns nil when no alternative is usable.
func (r *Replanner) alternative(req launcher.ReplanRequest, load *Load, shards []*plan.Shard, tr trigger) (*launcher.Move, error) {
	best, bestF := "", math.Inf(1)
	for _, a := range shards[0].Alternatives {
		if a.FinishSeconds < bestF && r.usable(a.Class, load) && r.Catalog.Class(a.Class) != nil {
			best, bestF = a.Class, a.FinishSeconds
		}
	}
	if best == "" {
		r.logger().Info("re-plan keeps the job: no usable alternative class", "job", shards[0].Job, "trigger", tr.reason)
		return nil, nil
	}
	return r.moveTo(req.Plan, shards, best, nil, tr.reason+"; next-best alternative")
}

// moveTo moves shards, one job of p, to class name: onClass, with the
// runtime and memory predictions of tb when it is set.
func (r *Replanner) moveTo(p *plan.Plan, shards []*plan.Shard, name string, tb *predict.Table, reason string) (*launcher.Move, error) {
	cl := r.Catalog.Class(name)
	if cl == nil {
		return nil, fmt.Errorf("re-plan job %s: class %q is not in the catalog", shards[0].Job, name)
	}
	moved := make([]*plan.Shard, len(shards))
	for i, s := range shards {
		moved[i] = onClass(s, cl)
		if tb != nil {
			r.predictOn(moved[i], tb)
		}
	}
	job, err := r.jobFor(p, moved)
	if err != nil {
		return nil, err
	}
	return &launcher.Move{Job: job, Shards: moved, Reason: reason}, nil
}

// predictOn sets s's runtime (the sum over its tasks, a split piece's
// share) and memory (the largest) from tb's needs on s's class.
func (r *Replanner) predictOn(s *plan.Shard, tb *predict.Table) {
	c := slices.Index(tb.Classes, s.Class)
	if c < 0 {
		return
	}
	var rt, mem float64
	src := predict.FromHistory
	for _, name := range s.Tasks {
		t := r.Graph.Index(name)
		if t < 0 {
			return
		}
		n := tb.At(t, c)
		rt += n.Runtime.Value / float64(pieceCount(s))
		mem = max(mem, n.MemoryMiB.Value)
		if n.Runtime.Source != predict.FromHistory {
			src = n.Runtime.Source
		}
	}
	s.RuntimeSeconds = plan.Estimate{Value: rt, Uncertainty: s.RuntimeSeconds.Uncertainty, Source: plan.SourceOf(src)}
	s.Resources.MemoryMiB.Value = max(mem, 1)
}

// onClass returns a copy of s placed on class cl: its CPU capped at the
// instance's, and no memory_max on a class that does not oversubscribe.
func onClass(s *plan.Shard, cl *catalog.Class) *plan.Shard {
	c := *s
	c.Class = cl.Name
	if cl.Shape.CPU > 0 {
		c.Resources.CPU.Value = math.Min(c.Resources.CPU.Value, float64(cl.Shape.CPU))
	}
	if !cl.Oversubscribe {
		c.Resources.MemoryMaxMiB = 0
	}
	c.Reason = "re-planned to " + cl.Name
	return &c
}

// jobFor builds the job of moved, the re-placed shards of one job of p.
func (r *Replanner) jobFor(p *plan.Plan, moved []*plan.Shard) (*api.Job, error) {
	byID := map[string]*plan.Shard{}
	for _, s := range moved {
		byID[s.ID] = s
	}
	cp := *p
	cp.Shards = slices.Clone(p.Shards)
	for i, s := range cp.Shards {
		if m := byID[s.ID]; m != nil {
			cp.Shards[i] = m
		}
	}
	jobs, err := nomadjob.Jobs(&cp, r.Graph, r.Catalog, r.Jobs)
	if err != nil {
		return nil, fmt.Errorf("re-plan job %s: %w", moved[0].Job, err)
	}
	for _, j := range jobs {
		if *j.ID == moved[0].Job {
			return j, nil
		}
	}
	return nil, fmt.Errorf("re-plan job %s: not among the translated jobs (have %s)", moved[0].Job,
		strings.Join(slices.Sorted(maps.Keys(byID)), ", "))
}

func (r *Replanner) logger() hclog.Logger {
	if r.Logger == nil {
		return hclog.NewNullLogger()
	}
	return r.Logger
}

// taskTimed reports whether completed shard s (d) comes with its tasks'
// own runtimes, one per task of s, every task in g.
func taskTimed(s *plan.Shard, d launcher.ShardResult, g *graph.Graph) bool {
	if s.Split != nil || len(s.Tasks) < 2 || len(d.TaskSeconds) != len(s.Tasks) {
		return false
	}
	for _, name := range s.Tasks {
		if g.Index(name) < 0 {
			return false
		}
	}
	return true
}

// plannedShares splits completed fused shard s's planned prediction over
// its tasks in proportion to their uncorrected predictions on its class
// (bindTable): the fractions, in s.Tasks order, or nil when d has no
// per-task runtimes or the predictions are not at hand.
func (r *Replanner) plannedShares(ctx context.Context, s *plan.Shard, d launcher.ShardResult) []float64 {
	if !taskTimed(s, d, r.Graph) {
		return nil
	}
	tb, err := r.bindTable(ctx)
	if err != nil {
		r.logger().Debug("per-task predictions not at hand; judging the fused shard by its runtime", "shard", s.ID, "error", err)
		return nil
	}
	c := slices.Index(tb.Classes, d.Class)
	if c < 0 {
		return nil
	}
	out := make([]float64, len(s.Tasks))
	var sum float64
	for k, name := range s.Tasks {
		out[k] = tb.At(r.Graph.Index(name), c).Runtime.Value
		sum += out[k]
	}
	if !(sum > 0) || math.IsInf(sum, 0) {
		return nil
	}
	for k := range out {
		out[k] /= sum
	}
	return out
}
