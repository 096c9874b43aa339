package plan

import (
	"math"

	"github.com/shardwise/shardwise/planner/place"
)

// groups are the tasks after fusion: each group is a chain of tasks that
// runs as one shard (or, for a split task, as its pieces). Per-group slices
// are indexed by group, in creation order (topological order of heads).
type groups struct {
	head, tail []int32
	size       []int32
	class      []int32
	// sum is each group's total work in seconds per class (row-major).
	sum []float64
	// spreadAt is, for each group, its row of spread, or -1 for a group
	// of one task, whose spread is its task's (builder.taskSpread); nil
	// when robust fusion is off (robustFusion). spread holds the rows:
	// each fused group's total p90 less p50 runtime per class. Only the
	// few fused groups get a row, so the pass does not copy every task's.
	spreadAt []int32
	spread   []float64
	// saved is the bytes of the edges inside each group, no longer sent.
	saved []float64
	// fused is the number of each group's tasks that belong to a fused
	// chain of two or more tasks.
	fused []int32
	// batch is, for a group of batched siblings, its entry in
	// builder.batchInfos; -1 for any other group. parts is the number of
	// siblings (fused chains or single tasks) a batch runs; 1 otherwise.
	batch, parts []int32

	ofTask []int32 // task -> group
	next   []int32 // task -> next task of its group, or -1
}

func (gs *groups) len() int { return len(gs.head) }

// fuse groups the tasks: it walks the task schedule's order (topological)
// and, when l allows fusion, appends each task to its predecessor's group
// when the edge between them is fusible and fusing is predicted to pay
// (shouldFuse). Each task starts on l.class.
func (b *builder) fuse(l layout) {
	gs := &b.groups
	gs.ofTask, gs.next = make([]int32, b.nt), make([]int32, b.nt)
	gs.head, gs.tail = make([]int32, 0, b.nt), make([]int32, 0, b.nt)
	gs.size, gs.class = make([]int32, 0, b.nt), make([]int32, 0, b.nt)
	gs.sum, gs.saved = make([]float64, 0, b.nt*b.nc), make([]float64, 0, b.nt)
	b.robustFusion()
	for _, t32 := range b.taskSched.Order {
		t := int(t32)
		gs.next[t] = -1
		if e := b.fusibleIn(t); e >= 0 && l.fuse {
			gi := int(gs.ofTask[b.from[e]])
			was := gs.class[gi]
			if b.shouldFuse(gi, t, e, l.class[t]) {
				if !b.riskyChain(gi, t, int(gs.class[gi])) {
					b.appendTask(gi, t, e)
					continue
				}
				gs.class[gi] = was
			}
		}
		b.newGroup(t, l.class[t])
	}
	gs.fused, gs.batch, gs.parts = make([]int32, gs.len()), make([]int32, gs.len()), make([]int32, gs.len())
	for gi, n := range gs.size {
		if n > 1 {
			gs.fused[gi] = n
		}
		gs.batch[gi], gs.parts[gi] = -1, 1
	}
}

// fusibleIn returns the edge into t along which t may join its
// predecessor's shard, or -1: t has exactly one predecessor u, u exactly
// one successor, the edge does not stream, and neither task is split or a
// service.
func (b *builder) fusibleIn(t int) int {
	in := b.g.InIdx(t)
	if len(in) != 1 {
		return -1
	}
	e := in[0]
	u := int(b.from[e])
	if len(b.g.OutIdx(u)) != 1 || b.g.Edges[e].Stream || !b.fusible[u] || !b.fusible[t] {
		return -1
	}
	return e
}

// shouldFuse decides whether task v, on class cv, joins group gi over edge
// e. It does when both are on the same class; otherwise when the
// best class that can run both finishes them no later than the separate
// placement, which pays the transfer and a second start-up:
//
//	min_c sum(c) + work(v, c) + startup(c)
//	  <= sum(cs) + startup(cs) + bytes/bw(cs, cv) + work(v, cv) + startup(cv)
//
// On success the group moves to that class.
func (b *builder) shouldFuse(gi, v, e int, class int32) bool {
	gs := &b.groups
	cs, cv := int(gs.class[gi]), int(class)
	if cs == cv {
		return true
	}
	su := func(c int) float64 { return b.classes[c].StartupSeconds }
	bw := math.Min(b.classes[cs].BandwidthBytes, b.classes[cv].BandwidthBytes)
	separate := gs.sum[gi*b.nc+cs] + su(cs) + b.bytes[e]/bw + b.work[v*b.nc+cv] + su(cv)
	best, bestC := math.Inf(1), -1
	var cand [16]int
	for _, c := range b.fuseCandidates(cand[:0], cs, cv) {
		if f := gs.sum[gi*b.nc+c] + b.work[v*b.nc+c] + su(c); f < best {
			best, bestC = f, c
		}
	}
	if bestC < 0 || best > separate {
		return false
	}
	gs.class[gi] = int32(bestC)
	return true
}

// fuseCandidates appends to out the classes to try for a fused group, the
// group's and the task's own first so that ties keep them.
func (b *builder) fuseCandidates(out []int, cs, cv int) []int {
	out = append(out, cs, cv)
	for c := 0; c < b.nc; c++ {
		if c != cs && c != cv {
			out = append(out, c)
		}
	}
	return out
}

func (b *builder) newGroup(t int, class int32) {
	gs := &b.groups
	gs.ofTask[t] = int32(gs.len())
	gs.head = append(gs.head, int32(t))
	gs.tail = append(gs.tail, int32(t))
	gs.size = append(gs.size, 1)
	gs.class = append(gs.class, class)
	gs.sum = append(gs.sum, b.work[t*b.nc:(t+1)*b.nc]...)
	if gs.spreadAt != nil {
		gs.spreadAt = append(gs.spreadAt, -1)
	}
	gs.saved = append(gs.saved, 0)
}

func (b *builder) appendTask(gi, t, e int) {
	gs := &b.groups
	gs.next[gs.tail[gi]] = int32(t)
	gs.tail[gi] = int32(t)
	gs.size[gi]++
	gs.ofTask[t] = int32(gi)
	gs.saved[gi] += b.bytes[e]
	for c := 0; c < b.nc; c++ {
		gs.sum[gi*b.nc+c] += b.work[t*b.nc+c]
	}
	if gs.spreadAt != nil {
		if gs.spreadAt[gi] < 0 { // its second task: the row starts as its head's
			gs.spreadAt[gi] = int32(len(gs.spread) / b.nc)
			h := int(gs.head[gi])
			for c := 0; c < b.nc; c++ {
				gs.spread = append(gs.spread, b.taskSpread(h, c))
			}
		}
		row := gs.spread[int(gs.spreadAt[gi])*b.nc:]
		for c := 0; c < b.nc; c++ {
			row[c] += b.taskSpread(t, c)
		}
	}
}

// tasks returns group gi's tasks in chain (dependency) order.
func (gs *groups) tasks(gi int) []int32 {
	return gs.appendTasks(make([]int32, 0, gs.size[gi]), gi)
}

// appendTasks appends group gi's tasks to out, in chain order.
func (gs *groups) appendTasks(out []int32, gi int) []int32 {
	for t := gs.head[gi]; t >= 0; t = gs.next[t] {
		out = append(out, t)
	}
	return out
}

// shards are the placement units: one per group, or one per piece of a
// split task's group. Per-shard slices are indexed by shard.
type shards struct {
	group []int32 // shard -> group
	piece []int32 // index among its group's pieces (nil when no task is split)
	first []int32 // group -> its first shard
	count []int32 // group -> its number of shards
}

func (sh *shards) len() int { return len(sh.group) }

// cutShards makes the shards: a split task's group becomes Split.Count
// pieces on the class the task schedule chose for it.
func (b *builder) cutShards() {
	gs, sh := &b.groups, &b.shards
	n := gs.len()
	if len(b.splits) == 0 {
		b.oneShardPerGroup(n)
		return
	}
	sh.first, sh.count = make([]int32, n), make([]int32, n)
	sh.group, sh.piece = make([]int32, 0, n), make([]int32, 0, n)
	for gi := 0; gi < n; gi++ {
		pieces := 1
		if sp := b.splitOfGroup(gi); sp != nil {
			pieces = sp.count[gs.class[gi]]
		}
		sh.first[gi], sh.count[gi] = int32(sh.len()), int32(pieces)
		for i := 0; i < pieces; i++ {
			sh.group = append(sh.group, int32(gi))
			sh.piece = append(sh.piece, int32(i))
		}
	}
}

// oneShardPerGroup makes shard i group i's only shard (no task is
// split). The three slices are read-only views of arrays made once per
// builder (0, 1, 2, ... and all ones), shared by every pass.
func (b *builder) oneShardPerGroup(n int) {
	if b.iota == nil {
		b.iota, b.ones = make([]int32, b.nt), make([]int32, b.nt)
		for i := range b.iota {
			b.iota[i], b.ones[i] = int32(i), 1
		}
	}
	// piece is read only for split groups: none here.
	b.shards = shards{group: b.iota[:n:n], first: b.iota[:n:n], count: b.ones[:n:n]}
}

// splitOfGroup returns the split plan of group gi's task, or nil.
func (b *builder) splitOfGroup(gi int) *splitPlan {
	if b.splitOf == nil {
		return nil
	}
	if k := b.splitOf[b.groups.head[gi]]; k >= 0 {
		return &b.splits[k]
	}
	return nil
}

// placeShards runs the shard-level schedule: split pieces pinned to their
// class, every other shard free to take any class that runs all its tasks,
// or every shard on class *l.pin when that is set. like, when not nil, is
// an earlier shard state whose groups the current ones merge (see
// shardEdgesLike).
func (b *builder) placeShards(l layout, like *shardState) error {
	p := &place.Problem{Classes: b.classes, Nodes: b.shards.len()}
	p.Runtime = b.shardRuntimes()
	p.Pin = b.shardPins(l.pin)
	if like == nil || !b.shardEdgesLike(p, like) {
		b.shardEdges(p)
	}
	// The shard schedules are read for classes, times, bounds and
	// alternatives only (Minimal: no instances or order).
	s, err := b.workspace().Run(p, place.Options{Insertion: b.opts.Insertion, Alternatives: l.alternatives, Minimal: true})
	if err != nil {
		return b.scheduleError(err)
	}
	b.sprob, b.sched = p, s
	return nil
}

// shardRuntimes returns each shard's runtime per class in seconds: the
// group's summed work, or a piece's share of its task's work on classes
// where that many pieces fit.
func (b *builder) shardRuntimes() []float64 {
	sh := &b.shards
	if len(b.splits) == 0 {
		// Every shard is its group (cutShards keeps their order) and the
		// groups' sums are not written once cut: share them, no copy.
		n := sh.len() * b.nc
		return b.groups.sum[:n:n]
	}
	rt := make([]float64, sh.len()*b.nc)
	for s := 0; s < sh.len(); s++ {
		gi := int(sh.group[s])
		row := rt[s*b.nc : (s+1)*b.nc]
		copy(row, b.groups.sum[gi*b.nc:(gi+1)*b.nc])
		sp := b.splitOfGroup(gi)
		if sp == nil {
			continue
		}
		n := int(sh.count[gi])
		for c, cl := range b.cat.Classes {
			if sp.count[c] == 0 || minPieces(sp.bytes, pieceCapacity(b.kinds[sp.task], cl)) > n {
				row[c] = place.Infeasible
				continue
			}
			row[c] /= float64(n)
		}
	}
	return rt
}

// shardPins pins split pieces to their group's class, and every shard to
// *all when all is not nil; nil when no shard is pinned.
func (b *builder) shardPins(all *int32) []int32 {
	if all == nil && len(b.splits) == 0 {
		return nil // nothing to pin
	}
	pins := make([]int32, b.shards.len())
	for s := range pins {
		gi := b.shards.group[s]
		pins[s] = -1
		if all != nil {
			pins[s] = *all
		} else if b.splitOfGroup(int(gi)) != nil {
			pins[s] = b.groups.class[gi]
		}
	}
	return pins
}

// shardEdgesLike sets p's edges from those of like, a shard state whose
// groups the builder's merge (the batching pass's trials merge sibling
// groups, between which no edge runs), and reports whether it could:
// without split tasks, a graph edge runs between two groups after the
// merge exactly when it did before, so the shard-level edges are like's,
// in the same order and with the same bytes, only their endpoints
// renumbered; p shares like's EdgeBytes and edgeOf (neither is written
// once made). It returns false, setting nothing, when a task is split or
// an edge of like falls inside a group.
func (b *builder) shardEdgesLike(p *place.Problem, like *shardState) bool {
	if len(b.splits) > 0 {
		return false
	}
	of := b.groups.ofTask // a group is its shard: oneShardPerGroup
	from, to := make([]int32, len(like.edgeOf)), make([]int32, len(like.edgeOf))
	for k, e := range like.edgeOf {
		from[k], to[k] = of[b.from[e]], of[b.to[e]]
		if from[k] == to[k] {
			return false
		}
	}
	p.EdgeFrom, p.EdgeTo, p.EdgeBytes, b.edgeOf = from, to, like.sprob.EdgeBytes, like.edgeOf
	return true
}

// shardEdges adds one shard-level edge per graph edge between groups, per
// pair of pieces when either end is split, with the edge's bytes shared
// evenly among the pairs.
func (b *builder) shardEdges(p *place.Problem) {
	gs, sh := &b.groups, &b.shards
	m := 0
	for e := range b.from {
		gu, gv := gs.ofTask[b.from[e]], gs.ofTask[b.to[e]]
		if gu != gv {
			m += int(sh.count[gu] * sh.count[gv])
		}
	}
	p.EdgeFrom, p.EdgeTo = make([]int32, 0, m), make([]int32, 0, m)
	p.EdgeBytes, b.edgeOf = make([]float64, 0, m), make([]int32, 0, m)
	for e := range b.from {
		gu, gv := gs.ofTask[b.from[e]], gs.ofTask[b.to[e]]
		if gu == gv {
			continue
		}
		nu, nv := sh.count[gu], sh.count[gv]
		per := b.bytes[e] / float64(nu*nv)
		for i := sh.first[gu]; i < sh.first[gu]+nu; i++ {
			for j := sh.first[gv]; j < sh.first[gv]+nv; j++ {
				p.EdgeFrom, p.EdgeTo = append(p.EdgeFrom, i), append(p.EdgeTo, j)
				p.EdgeBytes, b.edgeOf = append(p.EdgeBytes, per), append(b.edgeOf, int32(e))
			}
		}
	}
}
