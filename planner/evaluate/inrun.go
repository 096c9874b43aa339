package evaluate

import (
	"math"
	"sort"

	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
)

// SchemeInRun scores the predictions the run itself uses: leave-one-run-out
// predictions corrected in-run (predict.Correction, through plan.Binder)
// at the moment each shard is submitted in the simulated run, against
// the recorded runtime on the class it ran on. Memory is scored only for
// tasks submitted after a task of their type completed in the run (the
// in-run size, predict.Correction.MemoryMiB); before that a task is sized
// from history, as under SchemeLORO.
const SchemeInRun = "leave-one-run-out + in-run"

// InRunAccuracy returns the SchemeInRun rows (one per family in the order
// first seen, then "all") of the honest comparisons cmps that were
// predicted leave-one-run-out and played with late binding (cmps should
// hold one trace per run, DistinctRuns). Only the Shardwise estimator is
// scored.
func InRunAccuracy(cmps []*Comparison) []AccuracyRow {
	var families []string
	groups := map[string]*group{}
	all := newGroup()
	for _, c := range cmps {
		sw := inRunScored(c)
		if sw == nil {
			continue
		}
		g := groups[c.Input.Family]
		if g == nil {
			g = newGroup()
			groups[c.Input.Family] = g
			families = append(families, c.Input.Family)
		}
		inRunTally(g, c, sw)
		g.traces[c.Input.Name] = true
	}
	var rows []AccuracyRow
	for _, f := range families {
		rows = append(rows, onlyShardwise(groups[f].row(f, SchemeInRun)))
		merge(all, groups[f], f)
	}
	if len(families) > 0 {
		rows = append(rows, onlyShardwise(all.row("all", SchemeInRun)))
	}
	return rows
}

// inRunScored returns c's Shardwise outcome when the SchemeInRun figures
// score c (predicted leave-one-run-out, played with late binding, with
// the recorded runtimes), else nil.
func inRunScored(c *Comparison) *Outcome {
	sw := c.Outcome(MethodShardwise)
	if c.Holdout != HoldoutRun || sw == nil || sw.Bindings == nil || c.Actual == nil {
		return nil
	}
	return sw
}

// onlyShardwise drops the baselines' (empty) scores from r.
func onlyShardwise(r AccuracyRow) AccuracyRow {
	r.Scores = map[Estimator]Score{EstShardwise: r.Scores[EstShardwise]}
	return r
}

// inRunTally tallies every successful task's prediction at its
// submission (inRunPredictions) into g.
func inRunTally(g *group, c *Comparison, sw *Outcome) {
	tl := g.by[EstShardwise]
	for _, p := range inRunPredictions(c, sw) {
		if g.byType[p.rec.Signature] == nil {
			g.byType[p.rec.Signature] = &tally{}
		}
		g.types[p.rec.Signature] = true
		tl.observeRuntime(p.predicted, p.actual)
		g.byType[p.rec.Signature].observeRuntime(p.predicted, p.actual)
		if p.memOK && p.rec.MemoryBytes > 0 {
			tl.observeMemory(p.memMiB, float64(p.rec.MemoryBytes)/(1<<20))
		}
	}
}

// inRunPrediction is one task's runtime prediction at its submission in
// the simulated honest run.
type inRunPrediction struct {
	rec history.Record
	// class is where the task ran; predicted its corrected p50 there
	// (Binding.Predicted), uncorrected the leave-one-run-out prediction
	// there (the Binder's base table, c.Input.Table), actual its recorded
	// runtime there (seconds).
	class                          string
	predicted, uncorrected, actual float64
	// first: no task of its signature had finished when it was submitted
	// (its prediction could only take the run-wide factor).
	first bool
	// memMiB is the in-run memory size at submission, when memOK.
	memMiB float64
	memOK  bool
}

// inRunPredictions walks c's submissions in order, feeding the shards
// finished by each submission (their simulated finish at or before it)
// into the memory Correction and the set of finished signatures, and
// returns every successful task's prediction at its submission (a split
// task once, at its first piece).
func inRunPredictions(c *Comparison, sw *Outcome) []inRunPrediction {
	recs := map[string]history.Record{}
	for _, r := range c.Input.Records {
		recs[r.Task] = r
	}
	order := make([]int, len(sw.Sim.Shards))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return sw.Sim.Shards[order[a]].FinishSeconds < sw.Sim.Shards[order[b]].FinishSeconds
	})
	corr := predict.NewCorrection(0)
	fed := 0
	seen := map[int]bool{}
	finished := map[string]bool{} // signatures with a finished task
	cls := map[string]int{}
	for ci, name := range c.Actual.Classes {
		cls[name] = ci
	}
	var out []inRunPrediction
	for _, b := range sw.Bindings {
		for fed < len(order) && sw.Sim.Shards[order[fed]].FinishSeconds <= b.AtSeconds {
			for _, name := range sw.Plan.Shards[order[fed]].Tasks {
				if t := c.Input.Graph.Index(name); t >= 0 {
					finished[c.Input.Graph.Tasks[t].Signature] = true
				}
				if r, ok := recs[name]; ok && r.MemoryBytes > 0 {
					corr.ObserveMemory(r.Signature, float64(r.MemoryBytes)/(1<<20), !r.OK())
				}
			}
			fed++
		}
		for k, t := range b.Tasks {
			if seen[t] {
				continue // another piece of the same split task
			}
			seen[t] = true
			task := c.Input.Graph.Tasks[t]
			r, ok := recs[task.Name]
			if !ok || !r.OK() {
				continue
			}
			p := inRunPrediction{rec: r, class: b.Class, predicted: b.Predicted[k], first: !finished[task.Signature],
				uncorrected: c.Input.Table.At(t, cls[b.Class]).Runtime.Value, actual: c.Actual.At(t, cls[b.Class]).Runtime.Value}
			p.memMiB, p.memOK = corr.MemoryMiB(r.Signature)
			out = append(out, p)
		}
	}
	return out
}

// InRunPhase splits one family's SchemeInRun runtime error by what the
// run had taught the correction when each task was submitted.
type InRunPhase struct {
	Family string
	// First are the tasks submitted before any task of their type
	// finished in the run (only the run-wide factor can correct them);
	// Later the others.
	First, Later PhaseScore
	// FlatFloor is the median error if each run's factor of every task
	// type (the median over the run's tasks of actual over uncorrected
	// predicted runtime) were known before the run: about the best one
	// factor per type and run can do (the median ratio, not the factor
	// that minimises this error, so not strictly a floor); FlatClassFloor
	// the same with one factor per type, run and class.
	FlatFloor, FlatClassFloor float64
}

// PhaseScore is the runtime error of one phase: N predictions, their
// median error as corrected at submission (MdAPE) and as the
// leave-one-run-out prediction without in-run correction
// (Uncorrected), both as fractions (FloorSeconds as in Score).
type PhaseScore struct {
	N                  int
	MdAPE, Uncorrected float64
}

// InRunPhases returns, for the comparisons InRunAccuracy scores, one
// InRunPhase per family (in the order first seen) and one for "all".
func InRunPhases(cmps []*Comparison) []InRunPhase {
	type acc struct {
		first, later    [2]tally // corrected, uncorrected
		flat, flatClass tally
	}
	var families []string
	by := map[string]*acc{}
	all := &acc{}
	for _, c := range cmps {
		sw := inRunScored(c)
		if sw == nil {
			continue
		}
		a := by[c.Input.Family]
		if a == nil {
			a = &acc{}
			by[c.Input.Family] = a
			families = append(families, c.Input.Family)
		}
		ps := inRunPredictions(c, sw)
		perType, perClass := map[string][]float64{}, map[string][]float64{}
		for _, p := range ps {
			ph := &a.later
			if p.first {
				ph = &a.first
			}
			ph[0].observeRuntime(p.predicted, p.actual)
			ph[1].observeRuntime(p.uncorrected, p.actual)
			r := flatRatio(p)
			perType[p.rec.Signature] = append(perType[p.rec.Signature], r)
			perClass[p.rec.Signature+"\x00"+p.class] = append(perClass[p.rec.Signature+"\x00"+p.class], r)
		}
		ft, fc := medians(perType), medians(perClass)
		for _, p := range ps {
			a.flat.observeRuntime(p.uncorrected*ft[p.rec.Signature], p.actual)
			a.flatClass.observeRuntime(p.uncorrected*fc[p.rec.Signature+"\x00"+p.class], p.actual)
		}
	}
	row := func(f string, a *acc) InRunPhase {
		ph := func(t *[2]tally) PhaseScore {
			return PhaseScore{N: len(t[0].ape), MdAPE: t[0].score().MdAPE, Uncorrected: t[1].score().MdAPE}
		}
		return InRunPhase{Family: f, First: ph(&a.first), Later: ph(&a.later), FlatFloor: a.flat.score().MdAPE, FlatClassFloor: a.flatClass.score().MdAPE}
	}
	var out []InRunPhase
	for _, f := range families {
		a := by[f]
		out = append(out, row(f, a))
		for i := 0; i < 2; i++ {
			all.first[i].add(&a.first[i])
			all.later[i].add(&a.later[i])
		}
		all.flat.add(&a.flat)
		all.flatClass.add(&a.flatClass)
	}
	if len(families) > 0 {
		out = append(out, row("all", all))
	}
	return out
}

// flatRatio is p's actual over uncorrected runtime, 0 s read as
// zeroRuntime; 1 without an uncorrected prediction.
func flatRatio(p inRunPrediction) float64 {
	if !(p.uncorrected > 0) {
		return 1
	}
	return math.Max(p.actual, zeroRuntime) / p.uncorrected
}

// medians maps each key of xs to the median of its values.
func medians(xs map[string][]float64) map[string]float64 {
	out := make(map[string]float64, len(xs))
	for k, v := range xs {
		out[k] = quantile(v, 0.5)
	}
	return out
}
