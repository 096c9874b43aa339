package plan

import (
	"container/heap"
	"math"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/predict"
)

// Late binding and in-run correction. A plan is made before the run from
// predictions; a Binder re-decides, at the moment the launcher submits a
// shard, which class the shard runs on, with the predictions corrected by
// what has completed so far (predict.Correction) and the cluster's state
// at that moment. The simulator (planner/simulate, Options.Binder) calls
// it exactly where the launcher submits, so that the evaluation measures
// the behaviour that runs.

// DefaultBindMargin is a Binder's Margin when it is zero.
const DefaultBindMargin = 0.5

// BindView is the cluster as the launcher sees it at one submission, one
// entry per executor class with instances, in catalog order.
type BindView struct {
	Classes []ClassView
}

// ClassView is one class at a submission.
type ClassView struct {
	Class     string
	Instances int
	// Running are the shards holding an instance, with when they took it
	// (start-up included from then).
	Running []RunningShard
	// Queued are the shards submitted and waiting for an instance, in the
	// order they will be placed.
	Queued []int
}

// RunningShard is a shard (index in Plan.Shards) holding an instance
// since StartSeconds.
type RunningShard struct {
	Shard        int
	StartSeconds float64
}

// Binding is one submission decision.
type Binding struct {
	Shard int
	// Planned and Class are the shard's class before and after binding.
	Planned, Class string
	AtSeconds      float64
	// Tasks are the graph indices of the shard's tasks and Predicted
	// their corrected p50 runtimes (seconds, whole task) on Class at
	// submission.
	Tasks     []int
	Predicted []float64
}

// Binder late-binds the shards of one plan and learns from the shards that
// finish. Make it with NewBinder; it is not safe for concurrent use.
type Binder struct {
	plan *Plan
	g    *graph.Graph
	cat  *catalog.Catalog
	base *predict.Table
	corr *predict.Correction
	// mix learns the runtime ratios of fused shards by their mix of
	// tasks (bindmix.go).
	mix *predict.Correction
	// Margin: a shard moves off its class only when it would wait there
	// for an instance and another class's p90 finish is earlier by more
	// than Margin times its p90 runtime on its own class.
	Margin float64
	// Move false keeps every shard on its class and only learns (the
	// corrections still reach Log and Corrected).
	Move bool

	tasks  [][]int // graph task indices of each shard
	share  []float64
	class  []int // current class of each shard (catalog index)
	cindex map[string]int
	// Log lists every Bind decision in order.
	Log []Binding
}

// NewBinder returns a Binder for plan p of graph g on cat, with the
// predictions tb (for g and cat) p was built from, learning into corr
// (a fresh predict.NewCorrection(0) when nil). Move is true.
func NewBinder(p *Plan, g *graph.Graph, cat *catalog.Catalog, tb *predict.Table, corr *predict.Correction) *Binder {
	if corr == nil {
		corr = predict.NewCorrection(0)
	}
	b := &Binder{plan: p, g: g, cat: cat, base: tb, corr: corr, mix: predict.NewCorrection(0), Margin: DefaultBindMargin, Move: true,
		tasks: make([][]int, len(p.Shards)), share: make([]float64, len(p.Shards)), class: make([]int, len(p.Shards)),
		cindex: map[string]int{}}
	for c, cl := range cat.Classes {
		b.cindex[cl.Name] = c
	}
	items, bytes := map[string]int{}, map[string]int64{}
	for _, sh := range p.Shards {
		if sp := sh.Split; sp != nil {
			items[sp.Task] += sp.Items
			bytes[sp.Task] += sp.Bytes
		}
	}
	for i, sh := range p.Shards {
		for _, name := range sh.Tasks {
			if t := g.Index(name); t >= 0 {
				b.tasks[i] = append(b.tasks[i], t)
			}
		}
		b.share[i] = 1
		if sp := sh.Split; sp != nil {
			b.share[i] = PieceShare(sp, items[sp.Task], bytes[sp.Task])
		}
		b.class[i] = b.cindex[sh.Class]
	}
	return b
}

// PieceShare is a split piece's share of its task's work, given the
// task's total items and bytes over all its pieces: items, else bytes,
// else 1/count. The planner and the simulator share it.
func PieceShare(sp *Split, totalItems int, totalBytes int64) float64 {
	switch {
	case sp.Items > 0 && totalItems > 0:
		return float64(sp.Items) / float64(totalItems)
	case sp.Bytes > 0 && totalBytes > 0:
		return float64(sp.Bytes) / float64(totalBytes)
	case sp.Count > 0:
		return 1 / float64(sp.Count)
	}
	return 1
}

// Correction returns the in-run learning state.
func (b *Binder) Correction() *predict.Correction { return b.corr }

// base50 is shard i's uncorrected p50 runtime on class c.
func (b *Binder) base50(i, c int) float64 {
	var s float64
	for _, t := range b.tasks[i] {
		s += b.base.Runtime(t, c).Value
	}
	return s * b.share[i]
}

// Corrected returns shard i's corrected p50 and p90 runtimes on class c
// (seconds), and whether every task of it can run there: the sum of its
// tasks' corrected runtimes, or for a fused shard whose mix of tasks has
// completed in the run, its uncorrected runtime times the mix's factor
// (mixFactor).
func (b *Binder) Corrected(i, c int) (p50, p90 float64, ok bool) {
	name := b.cat.Classes[c].Name
	ok = true
	var b50, b90 float64
	for _, t := range b.tasks[i] {
		rt := b.base.Runtime(t, c)
		if !b.base.Feasible(t, c) || math.IsInf(rt.Value, 0) {
			ok = false
		}
		if pin := b.g.Tasks[t].Hints.Executor; pin != "" && pin != name {
			ok = false
		}
		f50, f90, _ := b.corr.Factors(b.g.Tasks[t].Signature, name)
		hi := rt.P90
		if hi < rt.Value {
			hi = rt.Value
		}
		p50 += rt.Value * f50
		p90 += hi * f90
		b50, b90 = b50+rt.Value, b90+hi
	}
	if f, mixed := b.mixFactor(i, name); mixed {
		p50, p90 = b50*f, b90*f
	}
	return p50 * b.share[i], p90 * b.share[i], ok
}

// Bind returns the class shard i is submitted on at time now: its current
// class, unless Move is set, it is neither a split piece nor a service,
// it would wait there for an instance (by the corrected predictions of
// what runs and queues there), and another class where it can run
// finishes it earlier at p90 by more than Margin times its p90 runtime
// on its current class. It logs the decision with the corrected
// predictions.
func (b *Binder) Bind(i int, now float64, v BindView) string {
	cur := b.class[i]
	best := cur
	if b.Move && b.movable(i) {
		best = b.choose(i, now, v)
	}
	b.class[i] = best
	b.log(i, cur, best, now)
	if best == cur {
		return ""
	}
	return b.cat.Classes[best].Name
}

func (b *Binder) movable(i int) bool {
	if b.plan.Shards[i].Split != nil || b.plan.Shards[i].Type == "service" {
		return false
	}
	return len(b.tasks[i]) > 0
}

// choose picks the class of earliest corrected p90 finish, with the
// stickiness rules of Bind.
func (b *Binder) choose(i int, now float64, v BindView) int {
	cur := b.class[i]
	views := map[int]*ClassView{}
	for k := range v.Classes {
		if c, ok := b.cindex[v.Classes[k].Class]; ok {
			views[c] = &v.Classes[k]
		}
	}
	curAvail := b.available(views[cur], cur, now)
	if curAvail <= now {
		return cur
	}
	_, curP90, _ := b.Corrected(i, cur)
	curFinish := curAvail + b.cat.Classes[cur].Startup.Seconds() + curP90
	best, bestFinish := cur, curFinish
	for c, cl := range b.cat.Classes {
		if c == cur || views[c] == nil {
			continue
		}
		_, p90, ok := b.Corrected(i, c)
		if !ok {
			continue
		}
		if fin := b.available(views[c], c, now) + cl.Startup.Seconds() + p90; fin < bestFinish {
			best, bestFinish = c, fin
		}
	}
	if best != cur && bestFinish < curFinish-b.margin()*curP90 {
		return best
	}
	return cur
}

func (b *Binder) margin() float64 {
	if b.Margin > 0 {
		return b.Margin
	}
	return DefaultBindMargin
}

// available is when an instance of class c is predicted free for one more
// shard: the running shards end at their start plus start-up plus their
// corrected p50 runtime (not before now), then the queued shards take the
// instances in order.
func (b *Binder) available(cv *ClassView, c int, now float64) float64 {
	if cv == nil || cv.Instances <= 0 {
		return math.Inf(1)
	}
	if len(cv.Running)+len(cv.Queued) < cv.Instances {
		return now
	}
	su := b.cat.Classes[c].Startup.Seconds()
	free := make(freeTimes, 0, cv.Instances)
	for _, r := range cv.Running {
		p50, _, _ := b.Corrected(r.Shard, c)
		free = append(free, math.Max(now, r.StartSeconds+su+p50))
	}
	for len(free) < cv.Instances {
		free = append(free, now)
	}
	heap.Init(&free)
	for _, q := range cv.Queued {
		p50, _, _ := b.Corrected(q, c)
		t := heap.Pop(&free).(float64)
		heap.Push(&free, t+su+p50)
	}
	return free[0]
}

func (b *Binder) log(i, planned, class int, now float64) {
	bd := Binding{Shard: i, Planned: b.cat.Classes[planned].Name, Class: b.cat.Classes[class].Name, AtSeconds: now}
	name := b.cat.Classes[class].Name
	for _, t := range b.tasks[i] {
		f, _ := b.corr.Factor(b.g.Tasks[t].Signature, name)
		bd.Tasks = append(bd.Tasks, t)
		bd.Predicted = append(bd.Predicted, b.base.Runtime(t, class).Value*f)
	}
	b.Log = append(b.Log, bd)
}

// Finished learns from shard i, which ran runtimeSeconds (start-up
// excluded) on class: a fused shard's ratio is observed for its mix
// (observeMix). taskSeconds, when it holds one runtime per task of
// the shard (a fused shard whose script timed its tasks, sdk.TimesTasks),
// observes each task's signature with that task's own actual over
// uncorrected predicted runtime there; otherwise each signature of the
// shard is observed once with the shard's actual over predicted runtime.
func (b *Binder) Finished(i int, class string, now, runtimeSeconds float64, taskSeconds []float64) {
	c, ok := b.cindex[class]
	if !ok {
		return
	}
	b.observeMix(i, class, b.base50(i, c), runtimeSeconds)
	if len(taskSeconds) > 0 && len(taskSeconds) == len(b.tasks[i]) && len(b.tasks[i]) == len(b.plan.Shards[i].Tasks) {
		for k, t := range b.tasks[i] {
			b.corr.Observe(b.g.Tasks[t].Signature, class, b.base.Runtime(t, c).Value*b.share[i], taskSeconds[k])
		}
		return
	}
	pred := b.base50(i, c)
	seen := map[string]bool{}
	for _, t := range b.tasks[i] {
		sig := b.g.Tasks[t].Signature
		if seen[sig] {
			continue
		}
		seen[sig] = true
		b.corr.Observe(sig, class, pred, runtimeSeconds)
	}
}

// freeTimes is a min-heap of instance free times.
type freeTimes []float64

func (h freeTimes) Len() int           { return len(h) }
func (h freeTimes) Less(a, b int) bool { return h[a] < h[b] }
func (h freeTimes) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *freeTimes) Push(x any)        { *h = append(*h, x.(float64)) }
func (h *freeTimes) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
