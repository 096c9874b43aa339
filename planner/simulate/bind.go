package simulate

import (
	"fmt"
	"math"
	"sort"

	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/sdk"
)

// Binder decides a shard's executor class at the moment it is submitted
// (late binding), from what the launcher knows then: the shards that have
// finished, with their actual runtimes, and what is running and queued on
// each class. planner/plan's Binder is the launcher's; the simulator calls
// it exactly where the launcher would, when the shard becomes ready.
type Binder interface {
	// Bind returns the class shard i (its index in plan.Shards) is
	// submitted on at time now (seconds); "" keeps its current class. A
	// class that is not in the catalog, has no instances or cannot run a
	// task of the shard (no actual runtime for it) is an error.
	Bind(i int, now float64, view View) string
	// Finished reports that shard i finished on class after
	// runtimeSeconds (start-up excluded) at time now. taskSeconds are
	// its tasks' own runtimes, in Shard.Tasks order, for a fused shard
	// whose script times its tasks (sdk.TimesTasks), as the launcher
	// reads them; nil for any other shard.
	Finished(i int, class string, now, runtimeSeconds float64, taskSeconds []float64)
}

// View is the cluster as the launcher sees it at a submission
// (plan.BindView, shared with the launcher's binder).
type View = plan.BindView

// rebind asks the binder for shard i's class at time t and, when it moves,
// recomputes its runtime on the new class.
func (s *sim) rebind(i int, t float64) error {
	name := s.m.binder.Bind(i, t, s.view())
	if name == "" || name == s.m.classes[s.m.class[i]].Name {
		return nil
	}
	c, ok := s.m.classPos[name]
	if !ok {
		return fmt.Errorf("shard %s: binder chose %w %q", s.m.ids[i], ErrUnknownClass, name)
	}
	rt, err := s.m.actualOn(i, c)
	if err != nil {
		return err
	}
	s.m.class[i] = c
	s.m.runtime[i] = rt * s.m.noise[i]
	s.runs[i].Class = name
	return nil
}

// view describes every class for the binder.
func (s *sim) view() View {
	v := View{Classes: make([]plan.ClassView, len(s.m.classes))}
	for c, cl := range s.m.classes {
		cv := plan.ClassView{Class: cl.Name, Instances: cl.Instances}
		for _, i := range s.running[c] {
			cv.Running = append(cv.Running, plan.RunningShard{Shard: i, StartSeconds: s.runs[i].StartSeconds})
		}
		sort.Slice(cv.Running, func(a, b int) bool { return cv.Running[a].Shard < cv.Running[b].Shard })
		q := append(readyQueue(nil), s.queues[c]...)
		sort.Slice(q, func(a, b int) bool { return q.Less(a, b) })
		for k := range q {
			cv.Queued = append(cv.Queued, q.shard(k))
		}
		v.Classes[c] = cv
	}
	return v
}

// actualOn is shard i's runtime on class c without noise: its actual
// runtime there (Options.Actual).
func (m *model) actualOn(i, c int) (float64, error) {
	sh := m.shards[i]
	cl := m.classes[c].Name
	var sum float64
	for _, task := range sh.Tasks {
		v, ok := m.act(task, cl)
		if !ok || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("shard %s: %w: no actual runtime for task %q on class %s", sh.ID, ErrInvalid, task, cl)
		}
		sum += v
	}
	if sp := sh.Split; sp != nil {
		sum *= plan.PieceShare(sp, m.splitItems[sp.Task], m.splitBytes[sp.Task])
	}
	return sum, nil
}

// taskTimes are the runtimes of shard i's tasks on its current class,
// each with the shard's noise, when the launcher would read them (a
// fused shard whose script times its tasks, sdk.TimesTasks); nil
// otherwise. They add up to the shard's runtime.
func (m *model) taskTimes(i int) []float64 {
	sh := m.shards[i]
	if sh.Split != nil || !sdk.TimesTasks(len(sh.Tasks)) {
		return nil
	}
	cl := m.classes[m.class[i]].Name
	out := make([]float64, len(sh.Tasks))
	for k, task := range sh.Tasks {
		v, _ := m.act(task, cl)
		out[k] = v * m.noise[i]
	}
	return out
}

// transferNow is channel k's transfer time with the classes its ends have
// now; the planned time when a class has no usable bandwidth.
func (m *model) transferNow(k int) float64 {
	if m.chanBytes[k] == 0 {
		return 0
	}
	bw := math.Inf(1)
	for _, c := range []int{m.class[m.chanFrom[k]], m.class[m.chanTo[k]]} {
		b := m.classes[c].BandwidthBytes
		if !(b > 0) || math.IsInf(b, 0) {
			return m.chanSecs[k]
		}
		bw = math.Min(bw, b)
	}
	return float64(m.chanBytes[k]) / bw
}
