package evaluate

import (
	"fmt"

	"gonum.org/v1/gonum/stat"
)

// Goal is one acceptance target and what was measured against it.
type Goal struct {
	Name   string
	Target string
	// Measured describes the measured value in words.
	Measured string
	Met      bool
	// Miss says by how much the target was missed; empty when met.
	Miss string
}

// Planner goal thresholds (issue 9), over the real traces planned from
// held-out predictions and played with the recorded runtimes: the mean of
// Shardwise's makespan over the best single class's and over HEFT's, no
// trace worse than HEFT, and at most one allocation per AllocationsPerTask
// tasks on traces of more than GoalAllocationsMinTasks tasks.
const (
	GoalSingleRatio         = 0.6
	GoalHEFTRatio           = 0.9
	GoalAllocationsPerTask  = 1.0 / 3
	GoalAllocationsMinTasks = 100
)

// Predictor goal thresholds (issue 9): median runtime error within a trace
// (k-fold) and across runs (leave-one-run-out, pooled and the worst
// family), memory under-prediction rate and over-provisioning ratio.
const (
	GoalRuntimeKFold     = 0.25
	GoalRuntimeLORO      = 0.35
	GoalRuntimeLOROWorst = 0.60
	GoalMemoryUnder      = 0.02
	GoalMemoryOver       = 1.3
)

// sameOrBetter is the relative tolerance under which two simulated
// makespans count as equal (float rounding of sums of seconds).
const sameOrBetter = 1e-9

// PlannerGoals checks the planner goals over cmps (the real traces, planned
// from held-out predictions).
func PlannerGoals(cmps []*Comparison) []Goal {
	var single, heft, heftRun []float64
	worse, n, big, bigOver, worseRun := 0, 0, 0, 0, 0
	worstRun, worstRunName := 0.0, ""
	worst, worstName, worstAlloc, worstAllocName := 0.0, "", 0.0, ""
	for _, c := range cmps {
		sw, h, sg := c.Outcome(MethodShardwise), c.Outcome(MethodHEFT), c.Outcome(MethodSingle)
		if sw == nil || h == nil {
			continue
		}
		n++
		if sg != nil {
			single = append(single, sw.MakespanSeconds/sg.MakespanSeconds)
		}
		heft = append(heft, sw.MakespanSeconds/h.MakespanSeconds)
		if ex := sw.MakespanSeconds/h.MakespanSeconds - 1; ex > sameOrBetter {
			worse++
			if ex > worst {
				worst, worstName = ex, c.Input.Name
			}
		}
		if lh := c.LauncherHEFT; lh != nil {
			heftRun = append(heftRun, sw.MakespanSeconds/lh.MakespanSeconds)
			if ex := sw.MakespanSeconds/lh.MakespanSeconds - 1; ex > sameOrBetter {
				worseRun++
				if ex > worstRun {
					worstRun, worstRunName = ex, c.Input.Name
				}
			}
		}
		if tasks := len(c.Input.Graph.Tasks); tasks > GoalAllocationsMinTasks {
			big++
			if r := float64(sw.Allocations) / float64(tasks); r > GoalAllocationsPerTask+sameOrBetter {
				bigOver++
				if r > worstAlloc {
					worstAlloc, worstAllocName = r, c.Input.Name
				}
			}
		}
	}
	goals := []Goal{
		atMost("mean makespan, Shardwise / best single class", GoalSingleRatio, mean(single), "%.3f", "x"),
		atMost("mean makespan, Shardwise / HEFT", GoalHEFTRatio, mean(heft), "%.3f", "x"),
		{Name: "makespan no worse than HEFT on any trace", Target: "0 traces worse",
			Measured: fmt.Sprintf("%d of %d traces worse", worse, n), Met: worse == 0,
			Miss: missIf(worse > 0, fmt.Sprintf("worst %+.2f%% (%s)", 100*worst, worstName))},
		{Name: fmt.Sprintf("allocations <= tasks/3 on traces of more than %d tasks", GoalAllocationsMinTasks),
			Target:   fmt.Sprintf("%d of %d traces", big, big),
			Measured: fmt.Sprintf("%d of %d traces", big-bigOver, big), Met: bigOver == 0,
			Miss: missIf(bigOver > 0, fmt.Sprintf("worst %.2f allocations per task (%s)", worstAlloc, worstAllocName))},
	}
	if len(heftRun) == 0 {
		return goals
	}
	// The same two HEFT goals against HEFT executed as the launcher
	// runs `-method heft` (Comparison.LauncherHEFT: probed, not late-bound).
	return append(goals,
		atMost("mean makespan, Shardwise / HEFT as the launcher runs it", GoalHEFTRatio, mean(heftRun), "%.3f", "x"),
		Goal{Name: "makespan no worse than HEFT as the launcher runs it on any trace", Target: "0 traces worse",
			Measured: fmt.Sprintf("%d of %d traces worse", worseRun, len(heftRun)), Met: worseRun == 0,
			Miss: missIf(worseRun > 0, fmt.Sprintf("worst %+.2f%% (%s)", 100*worstRun, worstRunName))})
}

// PredictorGoals checks the predictor goals for the Shardwise estimator:
// on the pooled ("all") row of the k-fold scheme (within a trace) and of
// the in-run scheme (across runs: leave-one-run-out corrected as the run
// proceeds) the median runtime error (against GoalRuntimeKFold and
// GoalRuntimeLORO), memory under-prediction and over-provisioning; and for
// the in-run scheme the worst family's median runtime error. Plain
// leave-one-run-out rows are reported but carry no goal.
func PredictorGoals(rows []AccuracyRow) []Goal {
	var out []Goal
	for _, r := range rows {
		if r.Family != "all" || r.Scheme == SchemeLORO {
			continue
		}
		s := r.Scores[EstShardwise]
		target := GoalRuntimeLORO
		if r.Scheme == SchemeKFold {
			target = GoalRuntimeKFold
		}
		out = append(out, atMost("median runtime error, pooled ("+r.Scheme+")", target, s.MdAPE, "%.3f", ""))
		if r.Scheme != SchemeKFold {
			worst, name := worstFamily(rows, r.Scheme)
			g := atMost("median runtime error, worst family ("+r.Scheme+")", GoalRuntimeLOROWorst, worst, "%.3f", "")
			g.Measured += " (" + name + ")"
			out = append(out, g)
		}
		if s.Memory == 0 {
			out = append(out, Goal{Name: "memory under-prediction and over-provisioning (" + r.Scheme + ")",
				Target: fmt.Sprintf("< %.1f%%; <= %.2fx", 100*GoalMemoryUnder, GoalMemoryOver), Measured: "no task qualifies",
				Miss: "no task with a recorded peak was submitted after one of its type completed"})
			continue
		}
		out = append(out,
			below("memory under-prediction rate ("+r.Scheme+")", GoalMemoryUnder, s.UnderRate),
			atMost("memory over-provisioning, median predicted/observed ("+r.Scheme+")", GoalMemoryOver, s.OverMedian, "%.2f", "x"),
		)
	}
	return out
}

// worstFamily is the largest Shardwise median runtime error among the
// family rows of scheme, and that family.
func worstFamily(rows []AccuracyRow, scheme string) (float64, string) {
	worst, name := 0.0, ""
	for _, r := range rows {
		if r.Family != "all" && r.Scheme == scheme && r.Scores[EstShardwise].MdAPE > worst {
			worst, name = r.Scores[EstShardwise].MdAPE, r.Family
		}
	}
	return worst, name
}

// atMost is the goal value <= target.
func atMost(name string, target, value float64, format, unit string) Goal {
	g := Goal{Name: name, Target: "<= " + fmt.Sprintf(format, target) + unit,
		Measured: fmt.Sprintf(format, value) + unit, Met: value <= target}
	if !g.Met {
		g.Miss = fmt.Sprintf("+"+format+unit+" (%.0f%% over)", value-target, 100*(value/target-1))
	}
	return g
}

// below is the goal rate < target, rates shown as percentages.
func below(name string, target, value float64) Goal {
	g := Goal{Name: name, Target: fmt.Sprintf("< %.1f%%", 100*target),
		Measured: fmt.Sprintf("%.1f%%", 100*value), Met: value < target}
	if !g.Met {
		g.Miss = fmt.Sprintf("+%.1f points", 100*(value-target))
	}
	return g
}

func missIf(missed bool, s string) string {
	if missed {
		return s
	}
	return ""
}

// mean is the arithmetic mean of xs (gonum's stat.Mean), NaN when empty.
func mean(xs []float64) float64 { return stat.Mean(xs, nil) }
