package evaluate

import (
	"math"
	"testing"

	"github.com/shardwise/shardwise/planner/graph"
)

// mean is gonum's stat.Mean: no values give NaN (a goal with nothing
// measured is not met), not 0.
func TestMeanOfNothingIsNaN(t *testing.T) {
	if got := mean([]float64{1, 2, 4.5}); got != 2.5 {
		t.Errorf("mean(1, 2, 4.5) = %g, want 2.5", got)
	}
	if got := mean(nil); !math.IsNaN(got) {
		t.Errorf("mean(nil) = %g, want NaN", got)
	}
}

// TestPlannerGoalsLauncherHEFT: two traces; Shardwise 90 and 100 s, HEFT
// as published 100 and 100 s, HEFT as the launcher runs it 100 s and 95 s.
// Against published HEFT the mean is 0.95 with none worse; against HEFT
// as run 0.976 (over the 0.9x goal) with the second trace 5.26% worse. Without LauncherHEFT
// the two rows are absent.
func TestPlannerGoalsLauncherHEFT(t *testing.T) {
	mk := func(name string, sw, heft, run float64) *Comparison {
		in := &Input{Name: name, Graph: graph.New(name)}
		c := &Comparison{Input: in, Outcomes: []*Outcome{
			{Method: MethodSingle, MakespanSeconds: 200},
			{Method: MethodHEFT, MakespanSeconds: heft},
			{Method: MethodShardwise, MakespanSeconds: sw},
		}}
		if run > 0 {
			c.LauncherHEFT = &Outcome{Method: MethodHEFT, MakespanSeconds: run}
		}
		return c
	}
	goals := PlannerGoals([]*Comparison{mk("one", 90, 100, 100), mk("two", 100, 100, 95)})
	byName := map[string]Goal{}
	for _, g := range goals {
		byName[g.Name] = g
	}
	if g := byName["makespan no worse than HEFT on any trace"]; !g.Met {
		t.Errorf("published: %+v, want met", g)
	}
	g := byName["makespan no worse than HEFT as the launcher runs it on any trace"]
	if g.Met || g.Measured != "1 of 2 traces worse" || g.Miss != "worst +5.26% (two)" {
		t.Errorf("as run: %+v, want 1 of 2 worse, worst +5.26%% (two)", g)
	}
	if g := byName["mean makespan, Shardwise / HEFT as the launcher runs it"]; g.Met || g.Measured != "0.976x" {
		t.Errorf("as run mean: %+v, want 0.976x, not met (goal 0.9x)", g)
	}
	if n := len(PlannerGoals([]*Comparison{mk("one", 90, 100, 0)})); n != len(goals)-2 {
		t.Errorf("without LauncherHEFT: %d goals, want %d", n, len(goals)-2)
	}
}
