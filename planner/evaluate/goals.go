package evaluate

import (
	"fmt"
	"math"
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

// Planner goal thresholds (issue 6): over the real traces, the mean of
// Shardwise's makespan over the best single class's, Shardwise's makespan
// against HEFT's on every trace with fewer allocations, and the mean SLR.
const (
	GoalSingleRatio = 0.7
	GoalMeanSLR     = 1.3
)

// Predictor goal thresholds (issue 6): median runtime error where history
// exists, memory under-prediction rate and over-provisioning ratio.
const (
	GoalRuntimeMdAPE = 0.15
	GoalMemoryUnder  = 0.02
	GoalMemoryOver   = 1.3
)

// sameOrBetter is the relative tolerance under which two simulated
// makespans count as equal (float rounding of sums of seconds).
const sameOrBetter = 1e-9

// PlannerGoals checks the planner goals over cmps (the real traces).
func PlannerGoals(cmps []*Comparison) []Goal {
	var ratio, slr []float64
	worse, fewer, n := 0, 0, 0
	worst, worstName := 0.0, ""
	for _, c := range cmps {
		sw, heft, single := c.Outcome(MethodShardwise), c.Outcome(MethodHEFT), c.Outcome(MethodSingle)
		if sw == nil || heft == nil {
			continue
		}
		n++
		if single != nil {
			ratio = append(ratio, sw.MakespanSeconds/single.MakespanSeconds)
		}
		slr = append(slr, sw.SLR)
		if ex := sw.MakespanSeconds/heft.MakespanSeconds - 1; ex > sameOrBetter {
			worse++
			if ex > worst {
				worst, worstName = ex, c.Input.Name
			}
		}
		if sw.Allocations < heft.Allocations {
			fewer++
		}
	}
	mr, ms := mean(ratio), mean(slr)
	return []Goal{
		atMost("mean makespan, Shardwise / best single class", GoalSingleRatio, mr, "%.3f", "x"),
		{Name: "makespan no worse than HEFT on any trace", Target: "0 traces worse",
			Measured: fmt.Sprintf("%d of %d traces worse", worse, n), Met: worse == 0,
			Miss: missIf(worse > 0, fmt.Sprintf("worst %+.2f%% (%s)", 100*worst, worstName))},
		{Name: "fewer allocations than HEFT on every trace", Target: fmt.Sprintf("%d of %d traces", n, n),
			Measured: fmt.Sprintf("%d of %d traces", fewer, n), Met: fewer == n,
			Miss: missIf(fewer < n, fmt.Sprintf("%d traces with as many allocations", n-fewer))},
		atMost("mean SLR of Shardwise", GoalMeanSLR, ms, "%.2f", ""),
	}
}

// PredictorGoals checks the predictor goals on the pooled ("all") rows of
// each scheme, for the Shardwise estimator.
func PredictorGoals(rows []AccuracyRow) []Goal {
	var out []Goal
	for _, r := range rows {
		if r.Family != "all" {
			continue
		}
		s := r.Scores[EstShardwise]
		out = append(out,
			atMost("median runtime error ("+r.Scheme+")", GoalRuntimeMdAPE, s.MdAPE, "%.3f", ""),
			below("memory under-prediction rate ("+r.Scheme+")", GoalMemoryUnder, s.UnderRate),
			atMost("memory over-provisioning, median predicted/observed ("+r.Scheme+")", GoalMemoryOver, s.OverMedian, "%.2f", "x"),
		)
	}
	return out
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

// mean is the arithmetic mean of xs, NaN when empty.
func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
