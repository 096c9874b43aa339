package evaluate

import (
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
		sw := c.Outcome(MethodShardwise)
		if c.Holdout != HoldoutRun || sw == nil || sw.Bindings == nil || c.Actual == nil {
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

// onlyShardwise drops the baselines' (empty) scores from r.
func onlyShardwise(r AccuracyRow) AccuracyRow {
	r.Scores = map[Estimator]Score{EstShardwise: r.Scores[EstShardwise]}
	return r
}

// inRunTally walks c's submissions in order, feeding the memory peaks of
// the shards finished by each submission into a Correction, and tallies
// every successful task's prediction at its submission.
func inRunTally(g *group, c *Comparison, sw *Outcome) {
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
	cls := map[string]int{}
	for ci, name := range c.Actual.Classes {
		cls[name] = ci
	}
	for _, b := range sw.Bindings {
		for fed < len(order) && sw.Sim.Shards[order[fed]].FinishSeconds <= b.AtSeconds {
			for _, name := range sw.Plan.Shards[order[fed]].Tasks {
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
			name := c.Input.Graph.Tasks[t].Name
			r, ok := recs[name]
			if !ok || !r.OK() {
				continue
			}
			tl := g.by[EstShardwise]
			if g.byType[r.Signature] == nil {
				g.byType[r.Signature] = &tally{}
			}
			g.types[r.Signature] = true
			actual := c.Actual.At(t, cls[b.Class]).Runtime.Value
			tl.observeRuntime(b.Predicted[k], actual)
			g.byType[r.Signature].observeRuntime(b.Predicted[k], actual)
			if mem, ok := corr.MemoryMiB(r.Signature); ok && r.MemoryBytes > 0 {
				tl.observeMemory(mem, float64(r.MemoryBytes)/(1<<20))
			}
		}
	}
}
