package simulate

import (
	"math"

	"github.com/shardwise/shardwise/planner/plan"
)

// Actual gives the runtime, in seconds, that graph task task really takes
// on executor class class (start-up latency excluded), and false when it
// does not know one. It is what happened (a trace's recorded runtimes,
// scaled to the class), kept apart from what the plan predicted: a
// simulation with Options.Actual plays the plan's shards, classes and
// dependencies with these runtimes.
type Actual func(task, class string) (seconds float64, ok bool)

// TableActual returns the Actual of a task-by-class matrix: seconds[t][c]
// is task t's runtime on class classes[c], tasks named by names (same
// order). A missing task or class, or a value that is +Inf or NaN (the
// class cannot run the task), reports false.
func TableActual(names, classes []string, seconds [][]float64) Actual {
	ti := make(map[string]int, len(names))
	for i, n := range names {
		ti[n] = i
	}
	ci := make(map[string]int, len(classes))
	for i, c := range classes {
		ci[c] = i
	}
	return func(task, class string) (float64, bool) {
		t, ok := ti[task]
		c, ok2 := ci[class]
		if !ok || !ok2 || t >= len(seconds) || c >= len(seconds[t]) {
			return 0, false
		}
		v := seconds[t][c]
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, false
		}
		return v, true
	}
}

// applyActual replaces every shard's runtime by its actual one: a shard
// of several tasks (fused chain or batch, run one after another in one
// allocation) takes the sum of its tasks' actual runtimes on its class; a
// piece of a split task takes its share of the whole task's actual
// runtime: its Items over the pieces' total items, else its Bytes over
// their total bytes, else 1/Count.
func (m *model) applyActual() error {
	for i := range m.shards {
		v, err := m.actualOn(i, m.class[i])
		if err != nil {
			return err
		}
		m.runtime[i] = v
	}
	return nil
}

// splitTotals sums Items and Bytes over the pieces of each split task.
func splitTotals(p *plan.Plan) (items map[string]int, bytes map[string]int64) {
	items, bytes = map[string]int{}, map[string]int64{}
	for _, sh := range p.Shards {
		if sp := sh.Split; sp != nil {
			items[sp.Task] += sp.Items
			bytes[sp.Task] += sp.Bytes
		}
	}
	return items, bytes
}
