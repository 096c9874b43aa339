package simulate

import (
	"math"
	"slices"
	"testing"

	"github.com/shardwise/shardwise/planner/plan"
)

// finishLog is a Binder that keeps every shard's class and records what
// Finished is told.
type finishLog struct {
	runtime map[int]float64
	times   map[int][]float64
}

func (f *finishLog) Bind(int, float64, View) string { return "" }

func (f *finishLog) Finished(i int, _ string, _, runtimeSeconds float64, taskSeconds []float64) {
	f.runtime[i], f.times[i] = runtimeSeconds, taskSeconds
}

// TestFinishedGetsTheTasksOwnRuntimes: the binder is told the own
// runtimes of a fused shard's tasks (actual on the class, times the
// shard's noise, adding up to the shard's runtime), as the launcher reads
// them from the script's times file; a one-task shard and a split piece
// get none, as in the launcher.
func TestFinishedGetsTheTasksOwnRuntimes(t *testing.T) {
	fm := sh("fm", "a", 94)
	fm.Tasks = []string{"f", "m"}
	one := sh("one", "a", 5, "fm")
	one.Tasks = []string{"o"}
	p0, p1 := sh("p0", "a", 10), sh("p1", "a", 10)
	p0.Tasks, p1.Tasks = []string{"p"}, []string{"p"}
	p0.Split = &plan.Split{Task: "p", Index: 0, Count: 2}
	p1.Split = &plan.Split{Task: "p", Index: 1, Count: 2}
	p := &plan.Plan{Shards: []*plan.Shard{fm, one, p0, p1}}
	act := TableActual([]string{"f", "m", "o", "p"}, []string{"a"}, [][]float64{{40}, {54}, {5}, {20}})
	for _, noise := range []float64{0, 0.5} {
		log := &finishLog{runtime: map[int]float64{}, times: map[int][]float64{}}
		mustRun(t, p, cat(class("a", 2, 1e9, 0)), Options{Actual: act, Binder: log, Noise: noise, Seed: 7})
		got := log.times[0]
		if len(got) != 2 || math.Abs(got[0]+got[1]-log.runtime[0]) > 1e-9 || math.Abs(got[0]/got[1]-40.0/54) > 1e-9 {
			t.Errorf("noise %v: fused shard's task times %v (runtime %v), want 40:54 adding up to its runtime", noise, got, log.runtime[0])
		}
		if noise == 0 && !slices.Equal(got, []float64{40, 54}) {
			t.Errorf("fused shard's task times %v, want [40 54]", got)
		}
		for i := 1; i < 4; i++ {
			if log.times[i] != nil {
				t.Errorf("noise %v: shard %d (one task or a split piece) got task times %v", noise, i, log.times[i])
			}
		}
	}
}
