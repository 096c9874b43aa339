package plan

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/shardwise/shardwise/internal/parallel"
	"github.com/shardwise/shardwise/planner/place"
)

// baseline plans every task on each class that can run them all, with no
// fusion (split tasks cut for that class), and returns the class with the
// shortest makespan (first in catalog order on ties), or nil if no class
// can run every task. Speedup is left for the caller. The builder's own
// shards are left as they were. The classes are planned concurrently;
// with split tasks, only once the builder's robust fusion is prepared
// (after its first decompose), as each class's plan copies the builder.
func (b *builder) baseline() (*Baseline, error) {
	return b.startBaseline()()
}

// startBaseline starts planning the baselines and returns the function
// that waits for them and returns baseline's result. Without split tasks
// the baselines read only the task-level problem, so the builder may
// decompose in the meantime.
func (b *builder) startBaseline() func() (*Baseline, error) {
	ms, errs := make([]float64, b.nc), make([]error, b.nc)
	runs := make([]bool, b.nc)
	var todo []int
	for c := 0; c < b.nc; c++ {
		if runs[c] = b.runsAll(c); runs[c] {
			todo = append(todo, c)
		}
	}
	// One workspace per goroutine, reused by the classes it plans. Without
	// split tasks a class's baseline is the task-level problem pinned: one
	// goroutine borrows the builder's workspace, which has just scheduled
	// that problem and holds its edge index and buffers at their size,
	// until the baselines are done (the builder's next schedule waits for
	// it: workspace). The shard-level passes meanwhile fuse and cut.
	newState := newWorkspace
	var lent chan struct{}
	if len(b.splits) == 0 && len(todo) > 0 {
		ws := b.workspace()
		lent = make(chan struct{})
		b.wsLent = lent
		var given atomic.Bool
		newState = func() *place.Workspace {
			if given.CompareAndSwap(false, true) {
				return ws
			}
			return newWorkspace()
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		parallel.ChunksWith(len(todo), 1, newState, func(ws *place.Workspace, lo, hi int) {
			for _, c := range todo[lo:hi] {
				ms[c], errs[c] = b.singleClassMakespan(c, ws)
			}
		})
		if lent != nil {
			close(lent)
		}
	})
	return func() (*Baseline, error) {
		wg.Wait()
		b.workspace() // given back: forget the loan
		var best *Baseline
		for c, m := range ms {
			switch {
			case !runs[c]:
				continue
			case errs[c] != nil:
				return nil, errs[c]
			case best == nil || m < best.MakespanSeconds:
				best = &Baseline{Class: b.classes[c].Name, MakespanSeconds: m}
			}
		}
		return best, nil
	}
}

func newWorkspace() *place.Workspace { return new(place.Workspace) }

// singleClassMakespan is the makespan in seconds of every task on class c,
// unfused, scheduled in ws. Without split tasks the shards are the tasks,
// and the task-level problem pinned to c is scheduled directly.
func (b *builder) singleClassMakespan(c int, ws *place.Workspace) (float64, error) {
	if len(b.splits) > 0 {
		alt := *b
		// The classes plan concurrently: alt gets scratch of its own.
		alt.replayer, alt.ws, alt.cross, alt.wsLent = replayer{}, *ws, crossScratch{}, nil
		err := alt.decompose(b.singleClass(c, false, false))
		*ws = alt.ws // keep what it grew for the next class
		if err != nil {
			return 0, err
		}
		return alt.sched.Makespan, nil
	}
	p := *b.taskProb
	p.Pin = make([]int32, b.nt)
	for t := range p.Pin {
		p.Pin[t] = int32(c)
	}
	m, err := ws.Makespan(&p, place.Options{Insertion: b.opts.Insertion})
	if err != nil {
		return 0, b.scheduleError(err)
	}
	return m, nil
}

// runsAll reports whether class c can run every task (split tasks cut for c).
func (b *builder) runsAll(c int) bool {
	for t := 0; t < b.nt; t++ {
		if math.IsInf(b.taskRT[t*b.nc+c], 1) {
			return false
		}
	}
	return true
}
