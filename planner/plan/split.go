package plan

import (
	"fmt"
	"math"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/place"
)

// splitPlan is the piece count of one data-parallel task on each class.
type splitPlan struct {
	task  int
	bytes int64 // input bytes cut among the pieces
	items int   // work items cut among the pieces (0: by bytes)
	// count[c] is the best piece count on class c; 0 where the task cannot
	// be split to fit the class (why[c] says why) or cannot run there.
	count []int
	why   []string
}

// planSplits chooses a piece count per class for every split task and
// derives the task-level runtimes: a split task's runtime on a class is the
// finish time of its pieces there, minus the one start-up the scheduler
// adds.
func (b *builder) planSplits() error {
	// taskRT is work itself until a split task's row differs: then a copy.
	// splitOf is nil until the first split task.
	b.taskRT = b.work
	for t, task := range b.g.Tasks {
		if task.Split == nil {
			continue
		}
		if len(b.splits) == 0 {
			b.taskRT = append([]float64(nil), b.work...)
			b.splitOf = make([]int32, b.nt)
			for i := range b.splitOf {
				b.splitOf[i] = -1
			}
		}
		sp := b.planSplit(t)
		b.splitOf[t] = int32(len(b.splits))
		b.splits = append(b.splits, sp)
		if !b.anyFeasible(b.taskRT, t) {
			return taskError(task, "cannot be split to fit any class (%s)", joinWhy(b.classes, sp.why))
		}
	}
	return nil
}

// planSplit fills a splitPlan for task t and overwrites t's row of taskRT.
func (b *builder) planSplit(t int) splitPlan {
	task := b.g.Tasks[t]
	sp := splitPlan{task: t, bytes: b.splitBytes(t), items: task.Split.Items,
		count: make([]int, b.nc), why: make([]string, b.nc)}
	for c, cl := range b.cat.Classes {
		w := b.work[t*b.nc+c]
		if math.IsInf(w, 1) {
			sp.why[c] = "cannot run the task"
			b.taskRT[t*b.nc+c] = place.Infeasible
			continue
		}
		nmin := minPieces(sp.bytes, pieceCapacity(b.kinds[t], cl))
		nmax := maxPieces(task.Split)
		if nmax > 0 && nmin > nmax {
			sp.why[c] = fmt.Sprintf("needs %d pieces to fit one instance, at most %d allowed", nmin, nmax)
			b.taskRT[t*b.nc+c] = place.Infeasible
			continue
		}
		su := b.classes[c].StartupSeconds
		n := bestPieces(w, cl.Instances, nmin, nmax)
		sp.count[c] = n
		b.taskRT[t*b.nc+c] = splitFinish(w, n, cl.Instances, su) - su
	}
	return sp
}

// splitBytes is the input a split task cuts, in bytes: Split.InputBytes,
// else Task.InputBytes, else the sum of its in-edges.
func (b *builder) splitBytes(t int) int64 {
	task := b.g.Tasks[t]
	switch {
	case task.Split.InputBytes > 0:
		return task.Split.InputBytes
	case task.InputBytes > 0:
		return task.InputBytes
	}
	sum := 0.0
	for _, e := range b.g.InIdx(t) {
		sum += b.bytes[e]
	}
	return int64(sum)
}

// pieceCapacity is the bytes one piece may hold on cl: an instance's memory
// for memory-bound work, its disk otherwise; 0 when the catalog does not
// give the size.
func pieceCapacity(k graph.Kind, cl *catalog.Class) int64 {
	if k == graph.KindMemory {
		return cl.Shape.MemoryMiB << 20
	}
	return cl.Shape.DiskMiB << 20
}

// minPieces is the fewest pieces of bytes that each fit capacity (1 when
// either is unknown).
func minPieces(bytes, capacity int64) int {
	if bytes <= 0 || capacity <= 0 {
		return 1
	}
	return int((bytes + capacity - 1) / capacity)
}

// maxPieces is the bound from MaxShards and Items; 0 means none.
func maxPieces(s *graph.Split) int {
	n := s.MaxShards
	if s.Items > 0 && (n <= 0 || s.Items < n) {
		n = s.Items
	}
	return max(n, 0)
}

// bestPieces returns the piece count in [nmin, nmax] (nmax 0: unbounded)
// that minimises splitFinish on a class of `instances` instances. With
// w = ceil(N/I) waves the finish is w·(work/N + startup), which for fixed w
// falls as N grows, and at N = w·I is work/I + w·startup, which grows with
// w; so the best N fills the fewest waves that nmin allows, capped by nmax.
// Work of zero seconds gains nothing from pieces: nmin.
func bestPieces(work float64, instances, nmin, nmax int) int {
	if work <= 0 {
		return nmin
	}
	waves := (nmin + instances - 1) / instances
	n := waves * instances
	if nmax > 0 && n > nmax {
		n = nmax
	}
	return max(n, nmin)
}

// splitFinish is the time in seconds to run work seconds of work as n
// pieces on `instances` instances, each piece paying startup seconds.
func splitFinish(work float64, n, instances int, startup float64) float64 {
	waves := (n + instances - 1) / instances
	return float64(waves) * (work/float64(n) + startup)
}

// share returns piece i's part of total when cut into n near-equal parts
// (the first total%n parts one larger).
func share(total int64, i, n int) int64 {
	q, r := total/int64(n), total%int64(n)
	if int64(i) < r {
		return q + 1
	}
	return q
}

func joinWhy(cl []place.Class, why []string) string {
	s := ""
	for c, w := range why {
		if s != "" {
			s += "; "
		}
		s += cl[c].Name + ": " + w
	}
	return s
}
