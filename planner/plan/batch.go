package plan

import (
	"container/heap"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/shardwise/shardwise/planner/place"
)

// Sibling batching (horizontal clustering) packs shards that wait for the
// same upstream shards into fewer allocations. Such siblings become ready
// at the same instant, so running several of them one after another in one
// allocation costs no waiting for inputs and saves every start-up but the
// first. The shard-level schedule decides: a sibling set keeps its batches
// only if the plan's makespan does not grow (see batch).

// Trial budget: the batching pass runs at most maxBatchTrials shard-level
// schedules (each followed by a replay) beyond the first, and fewer on
// large problems: batchWork node-and-edge visits in all, but never fewer
// than minBatchTrials. From about 10k tasks (40k nodes and edges) on that
// is 6 schedules, about what the rest of Build runs (tasks, shards, five
// baselines), so batching at most doubles planning time; on the few
// thousand tasks of real workflows, where a schedule takes milliseconds,
// it is 24.
const (
	maxBatchTrials = 24
	minBatchTrials = 6
	batchWork      = 240_000
)

// batchTrials is the trial budget for a shard problem of n nodes and m
// edges.
func batchTrials(n, m int) int {
	return max(minBatchTrials, min(maxBatchTrials, batchWork/max(n+m, 1)))
}

// maxRollbacks bounds the rounds of the batching pass's joint trials, each
// dropping the sibling sets on the critical path of the last.
const maxRollbacks = 3

// batchSet is one set of sibling groups: fused groups that are not split,
// not services, touch no streaming edge and wait for the same upstream
// groups.
type batchSet struct {
	id int32 // index among the candidate sets, in topological order
	// members are the sibling groups (indices into the fused groups), in
	// ascending order; class is the class the shard schedule gave each.
	members []int32
	class   []int32
	// packings are the ways to cut the set into batches, tried in order
	// (see packings).
	packings [][]batch
	tasks    int // tasks in all members
	// sub are the set's members on each class, as sets of their own.
	sub []batchSet
	// near is true for a set of near siblings (nearSets): tasks of one
	// type whose upstream groups differ; a batch of them waits for all.
	near bool
}

// batch is one allocation's worth of sibling groups.
type batch struct {
	// members are fused groups, ascending; at least two.
	members []int32
	// info indexes builder.batchInfos: the set and packing it came from.
	info int32
}

// batchInfo describes, for a batched group, the sibling set it came from.
type batchInfo struct {
	set      int32 // the candidate set (batchSet.id) it packs
	siblings int   // tasks in the sibling set
	batches  int   // allocations the set was packed into
	near     bool  // the set is of near siblings (nearSets)
}

// batch tries to pack sibling groups into fewer shards, group set by group
// set, keeping a packing only if it makes the plan no slower, judged two
// ways: the shard-level list schedule's makespan, and the makespan of that
// schedule replayed the way the launcher runs it (replay). The second
// matters because a batch is a long node that becomes ready early: the
// list schedule may book it late, but at run time it takes the first idle
// instance and can hold it while a critical node waits.
//
// It starts from the fused groups and their shard schedule (b.groups,
// b.shards, b.sched, placed for l) and leaves the builder with the best
// accepted packing placed. Every set's first packing is tried at once;
// while that is slower, the sets with a batch on the trial's critical path
// are set aside and the others tried together again (maxRollbacks rounds).
// The sets set aside, and any left, are then bisected in topological order
// of their first members, down to single sets, each of which tries its
// other packings and then its members on each class alone. The trials
// stop at the budget of batchTrials; sets not reached keep one shard per
// group.
func (b *builder) batch(l layout) error {
	// The fused plan's replay is what every packing is judged against; it
	// reads only the shard schedule, so it runs while the sets are found.
	b.trialsLeft = batchTrials(b.sprob.Nodes, len(b.sprob.EdgeFrom))
	bestReplay := 0.0
	var wg sync.WaitGroup
	wg.Go(func() { bestReplay = b.replayer.replay(b.sprob, b.sched) })
	sets := b.batchSets(l.pin)
	wg.Wait()
	if len(sets) == 0 {
		return nil
	}
	fused := b.groups
	best := b.snapshot()
	fusedState := best // every trial merges its groups
	var accepted []batch
	trials, budget := 0, batchTrials(b.sprob.Nodes, len(b.sprob.EdgeFrom))
	try := func(extra []batch) (bool, error) {
		trials++
		b.groups = b.mergeGroups(&fused, append(slices.Clip(accepted), extra...))
		b.shards = shards{}
		b.cutShards()
		if err := b.placeShards(l, &fusedState); err != nil {
			return false, err
		}
		if worse(b.sched.Makespan, best.sched.Makespan) || b.holdsBackPath(&fused, extra, &best) {
			return false, nil
		}
		r := b.replayer.replay(b.sprob, b.sched)
		if worse(r, bestReplay) {
			return false, nil
		}
		accepted = append(accepted, extra...)
		best, bestReplay = b.snapshot(), r
		return true, nil
	}
	var visit func(sets []batchSet) error
	visit = func(sets []batchSet) error {
		if len(sets) == 0 || trials >= budget {
			return nil
		}
		if len(sets) == 1 {
			for _, p := range sets[0].packings {
				if ok, err := try(p); ok || err != nil || trials >= budget {
					return err
				}
			}
			return visit(sets[0].sub)
		}
		var all []batch
		for _, s := range sets {
			all = append(all, s.packings[0]...)
		}
		if ok, err := try(all); ok || err != nil {
			return err
		}
		h := len(sets) / 2
		if err := visit(sets[:h]); err != nil {
			return err
		}
		return visit(sets[h:])
	}
	// Roll back: while the joint trial is slower, drop the sets with a
	// batch on its critical path and try the rest jointly again; then
	// bisect the dropped sets.
	cand, rest := sets, []batchSet(nil)
	for round := 0; round < maxRollbacks && len(cand) > 1 && trials < budget; round++ {
		var all []batch
		for _, s := range cand {
			all = append(all, s.packings[0]...)
		}
		ok, err := try(all)
		if err != nil {
			return err
		}
		if ok {
			cand = nil
			break
		}
		onPath := map[int32]bool{}
		for _, sh := range b.sched.CriticalPath() {
			if bi := b.groups.batch[b.shards.group[sh]]; bi >= 0 {
				onPath[b.batchInfos[bi].set] = true
			}
		}
		if len(onPath) == 0 {
			break
		}
		keep := cand[:0:0]
		for _, s := range cand {
			if onPath[s.id] {
				rest = append(rest, s)
			} else {
				keep = append(keep, s)
			}
		}
		cand = keep
	}
	rest = append(rest, cand...)
	slices.SortFunc(rest, func(x, y batchSet) int { return int(x.id - y.id) })
	err := visit(rest)
	b.restore(best)
	b.trialsLeft = max(0, budget-trials)
	return err
}

// worse reports whether makespan m exceeds ref by more than float
// rounding (a relative 1e-9).
func worse(m, ref float64) bool { return m > ref+1e-9*math.Max(1, ref) }

// shardState is the part of the builder a decomposition replaces.
type shardState struct {
	groups groups
	shards shards
	sprob  *place.Problem
	sched  *place.Schedule
	edgeOf []int32
}

func (b *builder) snapshot() shardState {
	return shardState{groups: b.groups, shards: b.shards, sprob: b.sprob, sched: b.sched, edgeOf: b.edgeOf}
}

func (b *builder) restore(s shardState) {
	b.groups, b.shards, b.sprob, b.sched, b.edgeOf = s.groups, s.shards, s.sprob, s.sched, s.edgeOf
}

// batchable reports whether fused group gi may join a batch: it may share
// a shard (shareable) and only its head has predecessors outside it, as
// batchSets reads a group's upstream groups from its head (true of every
// fused chain; a join region, region.go, is not batched again).
func (b *builder) batchable(gi int) bool {
	gs := &b.groups
	if !b.shareable(gi) {
		return false
	}
	for t := gs.next[gs.head[gi]]; t >= 0; t = gs.next[t] {
		for _, e := range b.g.InIdx(int(t)) {
			if gs.ofTask[b.from[e]] != int32(gi) {
				return false
			}
		}
	}
	return true
}

// shareable reports whether group gi may share a shard with other
// groups: it is not a split task, runs no service and has no streaming
// edge in or out.
func (b *builder) shareable(gi int) bool {
	gs := &b.groups
	if b.splitOfGroup(gi) != nil {
		return false
	}
	for t := gs.head[gi]; t >= 0; t = gs.next[t] {
		if !b.fusible[t] || b.streams[t] {
			return false
		}
	}
	return true
}

// batchSets finds the sibling sets among the fused groups, in ascending
// order of their first member, with their packings; sets that would not
// shrink are left out. Only a group's head has predecessors outside the
// group (a fused chain's later tasks have exactly one predecessor, the
// task before), so its upstream groups are those of its head's
// predecessors. pin, when not nil, is the class every shard is pinned to.
func (b *builder) batchSets(pin *int32) []batchSet {
	b.batchInfos = nil
	gs, sh := &b.groups, &b.shards
	ng := gs.len()
	// Each batchable group's upstream groups, sorted and distinct, in
	// compressed rows; groups with equal rows are siblings. A set is
	// numbered when its first member is met, so sets come in order of
	// their first member. Rows are found by a hash, checked in full.
	setOf := make([]int32, ng)
	upStart := make([]int32, ng+1)
	upList := make([]int32, 0, len(b.from))
	// per set: first member, members; sized for the usual case, most
	// groups a set of their own.
	first, count := make([]int32, 0, ng), make([]int32, 0, ng)
	index := newRowIndex(ng)
	for gi := 0; gi < ng; gi++ {
		lo := int32(len(upList))
		upStart[gi] = lo
		setOf[gi] = -1
		if !b.batchable(gi) {
			upStart[gi+1] = lo
			continue
		}
		for _, e := range b.g.InIdx(int(gs.head[gi])) {
			upList = append(upList, gs.ofTask[b.from[e]])
		}
		row := upList[lo:]
		slices.Sort(row)
		row = slices.Compact(row)
		upList = upList[:int(lo)+len(row)]
		upStart[gi+1] = int32(len(upList))
		i, k := index.find(row, func(k int32) []int32 { return upList[upStart[first[k]]:upStart[first[k]+1]] })
		if k < 0 {
			k = int32(len(first))
			index.slot[i] = k
			first, count = append(first, int32(gi)), append(count, 0)
		}
		setOf[gi] = k
		count[k]++
	}
	// Sets of two or more members, their members ascending, packed into
	// one backing array.
	at := make([]int32, len(first)) // set -> its index in sets, or -1
	nsets, nsingle, total := 0, 0, 0
	for _, n := range count {
		switch {
		case n >= 2:
			nsets++
			total += int(n)
		case n == 1:
			nsingle++
		}
	}
	sets := make([]batchSet, 0, nsets)
	for k, n := range count {
		at[k] = -1
		if n >= 2 {
			at[k] = int32(len(sets))
			sets = append(sets, batchSet{})
		}
	}
	members, class := make([]int32, 0, total), make([]int32, 0, total)
	off := 0
	for i, k := 0, 0; k < len(count); k++ {
		if at[k] < 0 {
			continue
		}
		n := int(count[k])
		sets[i].members, sets[i].class = members[off:off:off+n], class[off:off:off+n]
		off += n
		i++
	}
	for gi := 0; gi < ng; gi++ {
		k := setOf[gi]
		if k < 0 || at[k] < 0 {
			continue
		}
		st := &sets[at[k]]
		st.members = append(st.members, int32(gi))
		st.class = append(st.class, b.sched.Class[sh.first[gi]])
		st.tasks += int(gs.size[gi])
	}
	// Groups no exact sibling shares an upstream set with, ascending.
	single := make([]int32, 0, nsingle)
	for gi := 0; gi < ng; gi++ {
		if k := setOf[gi]; k >= 0 && count[k] == 1 {
			single = append(single, int32(gi))
		}
	}
	if near := b.nearSets(single); len(near) > 0 {
		sets = append(sets, near...)
		slices.SortStableFunc(sets, func(x, y batchSet) int { return int(x.members[0] - y.members[0]) })
	}
	out := sets[:0]
	for _, s := range sets {
		if len(s.members) < 2 { // a near set nobody joined
			continue
		}
		s.id = int32(len(out))
		if b.packings(&s, pin); len(s.packings) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// nearSets returns the sets of near siblings among single, the groups
// that exact sibling sets leave alone (sets of one member), in ascending
// order; it sorts single. Near siblings are batchable groups whose
// heads share a task signature (one tool, so alike in runtime and
// resources) but wait for different upstream groups, as Montage's
// mDiffFit tasks each wait for their own pair of mProject tasks. A batch
// of them waits for every member's upstream shards, so it only pays when
// those finish at about the same time; the batching pass's trials judge
// that on the shard schedule and its replay, like any packing. A group
// joins its signature's first set (in order of creation) whose first
// member follows all of the group's upstream groups, so that the merged
// group, which takes its first member's place, keeps the groups in
// topological order (see mergeGroups); otherwise it starts a set of its
// own. A signature's sets are created in ascending order of their first
// members, so a binary search finds that set: O(log n) per group.
func (b *builder) nearSets(single []int32) []batchSet {
	gs, sh := &b.groups, &b.shards
	sig := func(gi int32) string { return b.g.Tasks[gs.head[gi]].Signature }
	// A group whose signature no other task has is its signature's only
	// group: it is skipped below, so it need not be sorted.
	shared := b.sharedSignatures()
	single = slices.DeleteFunc(single, func(gi int32) bool { return !shared[gs.head[gi]] })
	// By signature, then group: a signature's groups in ascending order.
	slices.SortStableFunc(single, func(x, y int32) int { return strings.Compare(sig(x), sig(y)) })
	var out []batchSet
	var sets []int // the current signature's sets, indices into out
	for i, gi := range single {
		if i == 0 || sig(gi) != sig(single[i-1]) {
			sets = sets[:0]
			if i+1 == len(single) || sig(single[i+1]) != sig(gi) {
				continue // the only group of its signature
			}
		}
		last := int32(-1)
		for _, e := range b.g.InIdx(int(gs.head[gi])) {
			last = max(last, gs.ofTask[b.from[e]])
		}
		j := sort.Search(len(sets), func(k int) bool { return out[sets[k]].members[0] > last })
		k := len(out)
		if j < len(sets) {
			k = sets[j]
		} else {
			out = append(out, batchSet{near: true})
			sets = append(sets, k)
		}
		out[k].members = append(out[k].members, gi)
		out[k].class = append(out[k].class, b.sched.Class[sh.first[gi]])
		out[k].tasks += int(gs.size[gi])
	}
	return out
}

// sharedSignatures returns, by task, whether another task of the graph
// has the same signature, computed once per builder. Only signatures that
// differ from their task's name are counted in a map: a task whose
// signature is its own name (the default) shares it exactly with the
// tasks counted under that name, as names are unique; one whose signature
// is not its name shares it with another counted task or with the task of
// that name if that task's signature is its name.
func (b *builder) sharedSignatures() []bool {
	if b.sharedSig != nil {
		return b.sharedSig
	}
	named := map[string]int32{} // tasks by signature, where it is not their name
	for _, task := range b.g.Tasks {
		if task.Signature != task.Name {
			named[task.Signature]++
		}
	}
	shared := make([]bool, len(b.g.Tasks))
	for t, task := range b.g.Tasks {
		if task.Signature == task.Name {
			shared[t] = named[task.Name] > 0
			continue
		}
		u := b.g.Index(task.Signature)
		shared[t] = named[task.Signature] > 1 || (u >= 0 && b.g.Tasks[u].Signature == task.Signature)
	}
	b.sharedSig = shared
	return shared
}

// rowIndex finds sibling sets by their upstream rows: an open-addressing
// hash table (linear probing) of set numbers, -1 for an empty slot, with
// more than 1.5 slots per group so that it is never full. It replaces a
// map of hashes with chains: a quarter of the memory, no per-entry
// allocation.
type rowIndex struct {
	slot []int32
	mask uint64
}

func newRowIndex(groups int) rowIndex {
	size := 1
	for size < groups+groups/2+1 {
		size <<= 1
	}
	slot := make([]int32, size)
	for i := range slot {
		slot[i] = -1
	}
	return rowIndex{slot: slot, mask: uint64(size - 1)}
}

// find returns the slot of row and the set it holds, or -1 and the empty
// slot where the row's set goes; rowOf returns a set's row.
func (x rowIndex) find(row []int32, rowOf func(k int32) []int32) (int, int32) {
	h := hashRow(row)
	i := (h ^ h>>32) & x.mask // FNV's low bits see only the inputs' low bits
	for ; x.slot[i] >= 0; i = (i + 1) & x.mask {
		if k := x.slot[i]; slices.Equal(rowOf(k), row) {
			return int(i), k
		}
	}
	return int(i), -1
}

// hashRow is an FNV-1a hash of a row of group indices.
func hashRow(row []int32) uint64 {
	h := uint64(14695981039346656037)
	for _, v := range row {
		h ^= uint64(uint32(v))
		h *= 1099511628211
	}
	return h
}

// packings fills s.packings with the ways to batch set s worth trying,
// each keeping only the batches of two or more members, duplicates and
// packings without any such batch left out:
//
//  1. across classes: the members, longest first (by their shortest
//     runtime), each join the batch, on any instance of any class that can
//     run them (only *pin when pin is not nil), that would finish it
//     earliest, a batch paying its class's start-up once (list scheduling
//     of the set with start-up per allocation, not per task). Start-up
//     dominated the task-level choice of class, which no longer holds once
//     siblings share it.
//  2. per class, the members the shard schedule put on each class packed
//     into the fewest batches that finish as early as min(n, Instances)
//     batches would (classBins);
//  3. per class, exactly min(n, Instances) batches.
//
// It also fills s.sub with one set per class holding two or more members,
// with packings 2 and 3 of those members alone, tried when every packing
// of the whole set is rejected.
func (b *builder) packings(s *batchSet, pin *int32) {
	seen := map[string]bool{}
	b.addPacking(s, seen, b.crossBins(*s, pin))
	var fewest, most [][]int32
	for c := 0; c < b.nc; c++ {
		sub := batchSet{id: s.id, near: s.near}
		for i, gi := range s.members {
			if int(s.class[i]) == c {
				sub.members = append(sub.members, gi)
				sub.class = append(sub.class, int32(c))
				sub.tasks += int(b.groups.size[gi])
			}
		}
		if len(sub.members) < 2 {
			continue
		}
		f, k := b.classBins(sub.members, c)
		fewest, most = append(fewest, f...), append(most, k...)
		subSeen := map[string]bool{}
		b.addPacking(&sub, subSeen, f)
		b.addPacking(&sub, subSeen, k)
		if len(sub.packings) > 0 {
			s.sub = append(s.sub, sub)
		}
	}
	b.addPacking(s, seen, slices.Clone(fewest))
	b.addPacking(s, seen, slices.Clone(most))
	if len(s.sub) == 1 && len(s.sub[0].members) == len(s.members) {
		s.sub = nil // the whole set is on one class: nothing new to try
	}
}

// addPacking appends bins to s.packings as batches (bins of two or more
// members, each sorted, ordered by first member) and records them in
// b.batchInfos, unless no bin has two members or seen already holds the
// same batches.
func (b *builder) addPacking(s *batchSet, seen map[string]bool, bins [][]int32) {
	var bs []batch
	used := 0
	for _, m := range bins {
		if len(m) > 0 {
			used++
		}
		if len(m) < 2 {
			continue
		}
		m = slices.Clone(m)
		slices.Sort(m)
		bs = append(bs, batch{members: m})
	}
	if len(bs) == 0 {
		return
	}
	slices.SortFunc(bs, func(x, y batch) int { return int(x.members[0] - y.members[0]) })
	var key []byte
	for _, bt := range bs {
		for _, gi := range bt.members {
			key = strconv.AppendInt(key, int64(gi), 10)
			key = append(key, ',')
		}
		key = append(key, ';')
	}
	if seen[string(key)] {
		return
	}
	seen[string(key)] = true
	info := int32(len(b.batchInfos))
	b.batchInfos = append(b.batchInfos, batchInfo{set: s.id, siblings: s.tasks, batches: used, near: s.near})
	for i := range bs {
		bs[i].info = info
	}
	s.packings = append(s.packings, bs)
}

// crossBins packs set s's members on every instance of the classes that
// can run them (see packings, item 1) and returns the bins, each a list of
// members. The bins are b.cross's, valid until the next call (addPacking
// copies what it keeps).
func (b *builder) crossBins(s batchSet, pin *int32) [][]int32 {
	x := &b.cross
	x.bins, x.first = x.bins[:0], x.first[:0]
	for c := 0; c < b.nc; c++ {
		x.first = append(x.first, len(x.bins)) // class -> its bins: bins[first[c]:first[c+1]]
		if pin != nil && int32(c) != *pin {
			continue
		}
		for i := 0; i < min(b.classes[c].Instances, len(s.members)); i++ {
			x.bins = append(x.bins, crossBin{class: c})
		}
	}
	x.first = append(x.first, len(x.bins))
	bins, first := x.bins, x.first
	// Members longest first by their shortest runtime on the classes
	// used, a stable sort of positions (keys computed once per member).
	x.short = x.short[:0]
	x.order = x.order[:0]
	for i, gi := range s.members {
		m := math.Inf(1)
		for c := 0; c < b.nc; c++ {
			if first[c+1] > first[c] {
				m = math.Min(m, b.groups.sum[int(gi)*b.nc+c])
			}
		}
		x.short, x.order = append(x.short, m), append(x.order, int32(i))
	}
	slices.SortStableFunc(x.order, func(i, j int32) int {
		switch wi, wj := x.short[i], x.short[j]; {
		case wi > wj:
			return -1
		case wi < wj:
			return 1
		}
		return 0
	})
	// Each member's bin, then the bins' members in one array.
	x.binOf = x.binOf[:0]
	for _, i := range x.order {
		gi := s.members[i]
		best, bestF := -1, math.Inf(1)
		for c := 0; c < b.nc; c++ {
			w := b.groups.sum[int(gi)*b.nc+c]
			if math.IsInf(w, 1) {
				continue
			}
			// The least loaded bin of the class finishes the member first
			// there (lowest index on ties).
			lo := -1
			for i := first[c]; i < first[c+1]; i++ {
				if lo < 0 || bins[i].load < bins[lo].load {
					lo = i
				}
			}
			if lo < 0 {
				continue
			}
			if f := b.classes[c].StartupSeconds + bins[lo].load + w; f < bestF {
				best, bestF = lo, f
			}
		}
		if best < 0 {
			return nil // no allowed class runs it: leave the set as it is
		}
		bins[best].load += b.groups.sum[int(gi)*b.nc+bins[best].class]
		bins[best].n++
		x.binOf = append(x.binOf, int32(best))
	}
	return x.cut(s.members)
}

// crossBin is one instance's batch in crossBins: its class, load in
// seconds and number of members.
type crossBin struct {
	class int
	load  float64
	n     int
}

// crossScratch is crossBins' space, reused from set to set.
type crossScratch struct {
	bins    []crossBin
	first   []int
	short   []float64
	order   []int32 // member positions, longest first
	binOf   []int32 // bin of order[k]
	members []int32
	out     [][]int32
}

// cut returns the bins' members (members[order[k]] in bin binOf[k]), in
// the order they joined, as slices of one array.
func (x *crossScratch) cut(members []int32) [][]int32 {
	x.members = resize(x.members, len(members))
	x.out = resize(x.out, len(x.bins))
	at := 0
	for i, bn := range x.bins {
		x.out[i] = x.members[at : at : at+bn.n]
		at += bn.n
	}
	for k, i := range x.order {
		bn := x.binOf[k]
		x.out[bn] = append(x.out[bn], members[i])
	}
	return x.out
}

// classBins packs members, all on class c, into batches. With n members of
// runtimes w on a class of I instances and start-up u, K batches ready at
// once (K <= I) finish at u + the largest batch, which
// longest-processing-time-first packing (LPT: Graham 1969) keeps within 4/3
// of the best; more than I batches cannot finish earlier than I, since an
// instance running several pays a start-up for each. So K = min(n, I)
// gives the earliest finish. It returns the LPT packing into the fewest K
// that finishes as early (saving most allocations), and the one into
// min(n, I).
func (b *builder) classBins(members []int32, c int) (fewest, most [][]int32) {
	n := len(members)
	w := make([]float64, n)
	total := 0.0
	for i, gi := range members {
		w[i] = b.groups.sum[int(gi)*b.nc+c]
		total += w[i]
	}
	kmax := min(n, b.classes[c].Instances)
	target := lptMakespan(w, lpt(w, kmax))
	k := 1
	if target > 0 {
		k = max(1, min(kmax, int(math.Ceil(total/target*(1-1e-12)))))
	}
	for ; k < kmax; k++ {
		if lptMakespan(w, lpt(w, k)) <= target*(1+1e-12) {
			break
		}
	}
	bins := func(k int) [][]int32 {
		out := make([][]int32, k)
		for i, bin := range lpt(w, k) {
			out[bin] = append(out[bin], members[i])
		}
		return out
	}
	return bins(k), bins(kmax)
}

// lpt packs jobs of the given sizes into k bins, longest first, each into
// the least loaded bin (lowest index on ties; equal sizes keep their
// order), and returns each job's bin.
func lpt(w []float64, k int) []int {
	order := make([]int, len(w))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case w[a] > w[b]:
			return -1
		case w[a] < w[b]:
			return 1
		}
		return 0
	})
	h := binHeap{load: make([]float64, k), bin: make([]int, k)}
	for i := range h.bin {
		h.bin[i] = i
	}
	bin := make([]int, len(w))
	for _, j := range order {
		top := h.bin[0]
		bin[j] = top
		h.load[top] += w[j]
		heap.Fix(&h, 0)
	}
	return bin
}

// lptMakespan is the largest bin load of a packing.
func lptMakespan(w []float64, bin []int) float64 {
	k := 0
	for _, b := range bin {
		k = max(k, b+1)
	}
	load := make([]float64, k)
	m := 0.0
	for j, b := range bin {
		load[b] += w[j]
		m = math.Max(m, load[b])
	}
	return m
}

// binHeap orders bins by load, then index; bin holds the heap order and
// load is indexed by bin.
type binHeap struct {
	load []float64
	bin  []int
}

func (h binHeap) Len() int { return len(h.bin) }
func (h binHeap) Less(a, b int) bool {
	la, lb := h.load[h.bin[a]], h.load[h.bin[b]]
	if la != lb {
		return la < lb
	}
	return h.bin[a] < h.bin[b]
}
func (h binHeap) Swap(a, b int) { h.bin[a], h.bin[b] = h.bin[b], h.bin[a] }
func (h *binHeap) Push(any)     { panic("binHeap: fixed size") }
func (h *binHeap) Pop() any     { panic("binHeap: fixed size") }

// mergeGroups returns the groups of fused with each batch merged into one
// group that runs its members' chains one after another. A merged group
// takes the place of its first member, so groups stay in a topological
// order: the members share their upstream groups, which precede the first
// member, and every member's successors follow that member. fused is not
// modified.
func (b *builder) mergeGroups(fused *groups, batches []batch) groups {
	n := fused.len()
	lead := make([]int32, n) // fused group -> index into batches, or -1
	for gi := range lead {
		lead[gi] = -1
	}
	for i, bt := range batches {
		for _, gi := range bt.members {
			lead[gi] = int32(i)
		}
	}
	out := b.emptyGroups(fused)
	one := make([]int32, 1)
	for gi := 0; gi < n; gi++ {
		m, info := one, int32(-1)
		if k := lead[gi]; k >= 0 {
			if batches[k].members[0] != int32(gi) {
				continue
			}
			m, info = batches[k].members, batches[k].info
		} else {
			one[0] = int32(gi)
		}
		size, fz, saved := b.appendGroup(&out, fused, m)
		out.size = append(out.size, size)
		out.fused = append(out.fused, fz)
		out.saved = append(out.saved, saved)
		out.batch = append(out.batch, info)
		out.parts = append(out.parts, int32(len(m)))
	}
	return out
}

// emptyGroups returns groups with room for as many groups as src holds,
// every task's next as in src.
func (b *builder) emptyGroups(src *groups) groups {
	n := src.len()
	return groups{
		ofTask: make([]int32, b.nt), next: slices.Clone(src.next),
		head: make([]int32, 0, n), tail: make([]int32, 0, n),
		size: make([]int32, 0, n), class: make([]int32, 0, n),
		sum: make([]float64, 0, n*b.nc), saved: make([]float64, 0, n),
		fused: make([]int32, 0, n), batch: make([]int32, 0, n), parts: make([]int32, 0, n),
	}
}

// appendGroup appends to out one group that runs src's groups m one
// after another, on the class of m's first: its head, tail, class, work
// per class and tasks (ofTask, next). It returns the tasks, fused tasks
// and saved bytes of m's groups, summed, for the caller to record with
// what else the group is (size, fused, saved, batch and parts are left
// to it).
func (b *builder) appendGroup(out, src *groups, m []int32) (size, fz int32, saved float64) {
	ng := int32(out.len())
	out.head = append(out.head, src.head[m[0]])
	out.tail = append(out.tail, src.tail[m[len(m)-1]])
	out.class = append(out.class, src.class[m[0]])
	for c := 0; c < b.nc; c++ {
		out.sum = append(out.sum, 0)
	}
	row := out.sum[int(ng)*b.nc:]
	for i, f := range m {
		size += src.size[f]
		fz += src.fused[f]
		saved += src.saved[f]
		for c := 0; c < b.nc; c++ {
			row[c] += src.sum[int(f)*b.nc+c]
		}
		for t := src.head[f]; t >= 0; t = src.next[t] {
			out.ofTask[t] = ng
		}
		if i+1 < len(m) {
			out.next[src.tail[f]] = src.head[m[i+1]]
		}
	}
	return size, fz, saved
}
