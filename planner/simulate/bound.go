package simulate

import (
	"fmt"
	"math"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
)

// Bound is a lower bound on the makespan of any schedule of a graph on a
// catalog, in seconds.
type Bound struct {
	// CriticalPathSeconds is the longest path through the graph with every
	// task at its fastest class and transfers ignored: CP_MIN in Topcuoglu
	// et al. (2002), the denominator of SLR.
	CriticalPathSeconds float64
	// WorkSeconds is the sum over tasks of the runtime at the task's
	// fastest class, divided by the total number of instances.
	WorkSeconds float64
	// Seconds is the larger of the two: no schedule finishes sooner.
	Seconds float64
	// CriticalPath lists the task names on the path that gives
	// CriticalPathSeconds, in dependency order.
	CriticalPath []string
}

// LowerBound returns a lower bound on the makespan of g on cat.
//
// runtimes[t][c] is the runtime in seconds of task t (index into g.Tasks)
// on class c (index into cat.Classes), +Inf where the class cannot run the
// task; it has the layout of a predict.Table's runtimes (rows are tasks,
// columns the table's Classes, which are the catalog's in order), so it is
// filled with
//
//	rt[t][c] = tb.At(t, c).Runtime.Value   // or math.Inf(1) if !Feasible
//
// Classes with no instances are not counted. The bound holds for any
// schedule that runs each task whole, once, on one instance: start-up
// latency and transfers only add to a schedule, so leaving them out keeps
// it a bound. A plan that splits a task into pieces can beat the critical
// path part for that task; pass a piece's runtime for a split task to keep
// the bound valid there.
//
// It returns an error if runtimes does not have len(g.Tasks) rows of
// len(cat.Classes) columns, holds a negative or NaN value, if a task has
// no finite runtime on any class with instances, or if g has a cycle (a
// *graph.CycleError).
func LowerBound(g *graph.Graph, runtimes [][]float64, cat *catalog.Catalog) (Bound, error) {
	fastest, total, err := fastestRuntimes(g, runtimes, cat)
	if err != nil || len(fastest) == 0 {
		return Bound{}, err
	}
	order, err := g.TopoOrder()
	if err != nil {
		return Bound{}, err
	}
	b := criticalPath(g, order, fastest)
	var work float64
	for _, w := range fastest {
		work += w
	}
	b.WorkSeconds = work / float64(total)
	b.Seconds = max(b.CriticalPathSeconds, b.WorkSeconds)
	return b, nil
}

// fastestRuntimes returns each task's least runtime over classes with
// instances, and the total number of instances.
func fastestRuntimes(g *graph.Graph, runtimes [][]float64, cat *catalog.Catalog) ([]float64, int, error) {
	if len(runtimes) != len(g.Tasks) {
		return nil, 0, fmt.Errorf("%w: runtimes has %d rows for %d tasks", ErrInvalid, len(runtimes), len(g.Tasks))
	}
	total := 0
	for _, cl := range cat.Classes {
		total += max(cl.Instances, 0)
	}
	fastest := make([]float64, len(runtimes))
	for t, row := range runtimes {
		if len(row) != len(cat.Classes) {
			return nil, 0, fmt.Errorf("%w: runtimes row %d (%s) has %d columns for %d classes",
				ErrInvalid, t, g.Tasks[t].Name, len(row), len(cat.Classes))
		}
		best := math.Inf(1)
		for c, v := range row {
			if v < 0 || math.IsNaN(v) {
				return nil, 0, fmt.Errorf("%w: runtime of %s on %s is %v s", ErrInvalid, g.Tasks[t].Name, cat.Classes[c].Name, v)
			}
			if cat.Classes[c].Instances > 0 {
				best = min(best, v)
			}
		}
		if math.IsInf(best, 1) {
			return nil, 0, fmt.Errorf("%w: task %s runs on no class with instances", ErrInvalid, g.Tasks[t].Name)
		}
		fastest[t] = best
	}
	return fastest, total, nil
}

// criticalPath is the longest path through g weighted by w per task,
// computed in topological order; ties keep the earliest predecessor.
func criticalPath(g *graph.Graph, order []int, w []float64) Bound {
	finish := make([]float64, len(w))
	via := make([]int, len(w))
	end := -1
	for _, i := range order {
		via[i] = -1
		var start float64
		for _, e := range g.In(i) {
			p := g.Index(e.From)
			if finish[p] > start || (via[i] < 0 && finish[p] == start) {
				start, via[i] = finish[p], p
			}
		}
		finish[i] = start + w[i]
		if end < 0 || finish[i] > finish[end] {
			end = i
		}
	}
	var b Bound
	if end < 0 {
		return b
	}
	b.CriticalPathSeconds = finish[end]
	for i := end; i >= 0; i = via[i] {
		b.CriticalPath = append([]string{g.Tasks[i].Name}, b.CriticalPath...)
	}
	return b
}

// SLR is the schedule length ratio: makespan / criticalPathBound, both in
// seconds, where criticalPathBound is Bound.CriticalPathSeconds. It is at
// least 1 for any valid schedule of whole tasks, and lower is better.
// Defined in H. Topcuoglu, S. Hariri and M.-Y. Wu, "Performance-effective
// and low-complexity task scheduling for heterogeneous computing", IEEE
// Transactions on Parallel and Distributed Systems 13(3):260-274, 2002,
// section 5.1. It returns NaN when criticalPathBound is not positive.
func SLR(makespan, criticalPathBound float64) float64 {
	if !(criticalPathBound > 0) {
		return math.NaN()
	}
	return makespan / criticalPathBound
}
