package plan

import (
	"math"
	"slices"
)

// Join regions (issue 9, allocations). A join waits for every shard that
// feeds it; where those shards feed nothing else, and the shards feeding
// them feed only them, the region above the join is a part of the graph
// whose one way out is the join. Running the region and its join in one
// allocation, one task after another in a topological order, costs the
// sum of its tasks' runtimes instead of their longest path, and saves the
// start-up of every allocation but one and the transfers between them:
// where the tasks are short next to a start-up (Montage's mImgtbl, 0.2 s,
// feeds only its band's mAdd, which also waits for the mBackground tasks
// mImgtbl waits for, behind a 1 s start-up) the region finishes sooner
// in one allocation than spread out, and the plan needs fewer
// allocations. This is clustering in the sense of Yang and Gerasoulis's
// DSC ("DSC: scheduling parallel tasks on an unbounded number of
// processors", IEEE TPDS 5(9), 1994): zero the edges into a node when the
// schedule does not get longer.
//
// The pass runs after sibling batching, on its groups. For each join (a
// group with two or more upstream groups, in topological order) it grows
// the region level by level, merging each accepted level into the join:
// a level is the groups feeding the join and nothing else, which may
// share a shard (shareable) and run no longer than a start-up
// (fineGrained), if the level as a whole runs no longer in the join's
// allocation than apart (levelPays). Each level is one trial, judged as
// the batching pass judges a packing: kept only if neither the shard
// schedule nor its replay gets slower; the region stops growing at its
// first rejected level. The trials are what the batching pass left of its
// budget (batchTrials), so a plan runs no more schedules than that budget
// allowed before. Where the budget is at its floor (from about 10k tasks)
// the pass does not run: a cost choice, not a budget rule. Batching often
// uses one of its six trials there, and spending the other five on
// regions doubled the plan's time and memory (review of 2026-12-05,
// contended: BenchmarkPlan10k 48-58 -> 88-91 ms and 1.97 -> 3.28 KiB per
// task, Plan100k 0.57-0.66 -> 1.16-1.30 s) for a few merges (7,000
// diamonds: 1-6 regions), against the planner's speed and memory targets
// (docs/benchmarks.md). Trials that re-place only the shards a merge
// moves would lift it.

// fuseRegions merges join regions of the builder's groups (see above),
// leaving the builder with the last accepted merge placed for l. It
// returns an error only when a shard schedule fails.
func (b *builder) fuseRegions(l layout) error {
	// At the budget's floor (from about 10k tasks) regions are not tried:
	// their trials cost more than their merges save (see above).
	if batchWork/max(b.sprob.Nodes+len(b.sprob.EdgeFrom), 1) <= minBatchTrials {
		return nil
	}
	budget, trials := b.trialsLeft, 0
	bestReplay := -1.0
	best := b.snapshot()
	up, down := b.groupAdjacency(&b.groups)
	for j := 0; j < b.groups.len() && trials < budget; j++ {
		if len(up.of(int32(j))) < 2 || !b.shareable(j) {
			continue
		}
		for trials < budget {
			level := b.regionLevel(j, &up, &down)
			if len(level) == 0 {
				break
			}
			if !b.levelPays(j, level) {
				break
			}
			if bestReplay < 0 {
				bestReplay = b.replayer.replay(b.sprob, b.sched)
			}
			trials++
			cur := best.groups
			next := append(slices.Clone(level), int32(j))
			slices.Sort(next)
			ok, err := b.tryRegion(l, &best, &bestReplay, next)
			if err != nil || !ok {
				if err != nil {
					return err
				}
				break
			}
			// The merged groups are renumbered: find the join, which now
			// holds its region, by its head task and go on growing it.
			up, down = b.groupAdjacency(&b.groups)
			j = int(b.groups.ofTask[cur.head[j]])
		}
	}
	b.restore(best)
	return nil
}

// tryRegion merges members (a region and its join, ascending, of best's
// groups) and places the shards for l; it keeps the result in best and
// bestReplay, and reports true, when neither the shard schedule nor its
// replay is slower than best's, else restores best. It returns an error
// only when the schedule fails.
func (b *builder) tryRegion(l layout, best *shardState, bestReplay *float64, members []int32) (bool, error) {
	b.groups = b.mergeRegion(&best.groups, members)
	b.shards = shards{}
	b.cutShards()
	if err := b.placeShards(l, nil); err != nil {
		return false, err
	}
	if worse(b.sched.Makespan, best.sched.Makespan) {
		b.restore(*best)
		return false, nil
	}
	r := b.replayer.replay(b.sprob, b.sched)
	if worse(r, *bestReplay) {
		b.restore(*best)
		return false, nil
	}
	*best, *bestReplay = b.snapshot(), r
	return true, nil
}

// levelPays reports whether level, groups feeding join j's region, runs
// no longer as part of the join's allocation, one group after another,
// than in allocations of its own side by side: the sum of its groups'
// work against a start-up plus the longest group's work, at p50 on the
// class the join has in the shard schedule. Transfers into the join,
// which merging also saves, are left out, so a level that passes cannot
// lengthen the path through it (instances permitting). It is a cheap
// filter before a trial; the trial judges the plan.
func (b *builder) levelPays(j int, level []int32) bool {
	c := int(b.sched.Class[b.shards.first[j]])
	serial, longest := 0.0, 0.0
	for _, g := range level {
		w := b.groups.sum[int(g)*b.nc+c]
		if math.IsInf(w, 1) {
			return false
		}
		serial += w
		longest = math.Max(longest, w)
	}
	return serial <= b.classes[c].StartupSeconds+longest
}

// fineGrained reports whether group g runs, at p50 on class c, no longer
// than the class's start-up: an allocation of its own would cost more
// than the work it runs. Only such groups join a region: a group longer
// than its start-up gains from running beside others more than merging
// saves (the granularity argument of Gerasoulis and Yang, "On the
// granularity and clustering of directed acyclic task graphs", IEEE TPDS
// 4(6), 1993, with the start-up as the overhead: clustering pays on the
// fine-grained parts of a graph). Transfers, which chain fusion and the
// task schedule already weigh, are left out, so the pass stays on the
// parts of a graph that start-ups dominate.
func (b *builder) fineGrained(g int32, c int) bool {
	return b.groups.sum[int(g)*b.nc+c] <= b.classes[c].StartupSeconds
}

// regionLevel returns the next level of join j's region (j holds the
// region merged so far): the groups feeding j that feed nothing else,
// that may share a shard (shareable) and that are fine-grained on j's
// class in the shard schedule, ascending.
func (b *builder) regionLevel(j int, up, down *adjacency) []int32 {
	c := int(b.sched.Class[b.shards.first[j]])
	var level []int32
	for _, u := range up.of(int32(j)) {
		if len(down.of(u)) == 1 && b.shareable(int(u)) && b.fineGrained(u, c) {
			level = append(level, u)
		}
	}
	return level
}

// adjacency holds, for each group, a list of groups (distinct,
// ascending): group g's is at[start[g]:end[g]]. One block for every
// group's list, as the shard-level edges are kept, not a slice a group.
type adjacency struct{ start, end, at []int32 }

// of returns group g's list.
func (a *adjacency) of(g int32) []int32 { return a.at[a.start[g]:a.end[g]] }

// groupAdjacency returns, for every group of gs, its upstream and its
// downstream groups (distinct, ascending), from the edges between their
// tasks.
func (b *builder) groupAdjacency(gs *groups) (up, down adjacency) {
	n := gs.len()
	up = adjacency{start: make([]int32, n+1), end: make([]int32, n), at: make([]int32, 0, len(b.from))}
	down = adjacency{start: make([]int32, n+1), end: make([]int32, n), at: make([]int32, 0, len(b.from))}
	for e := range b.from {
		if f, t := gs.ofTask[b.from[e]], gs.ofTask[b.to[e]]; f != t {
			up.start[t+1]++
			down.start[f+1]++
		}
	}
	for g := 0; g < n; g++ {
		up.start[g+1] += up.start[g]
		down.start[g+1] += down.start[g]
	}
	up.at, down.at = up.at[:up.start[n]], down.at[:down.start[n]]
	copy(up.end, up.start[:n])
	copy(down.end, down.start[:n])
	for e := range b.from {
		if f, t := gs.ofTask[b.from[e]], gs.ofTask[b.to[e]]; f != t {
			up.at[up.end[t]] = f
			up.end[t]++
			down.at[down.end[f]] = t
			down.end[f]++
		}
	}
	for _, a := range []*adjacency{&up, &down} {
		for g := 0; g < n; g++ {
			l := a.at[a.start[g]:a.end[g]]
			slices.Sort(l)
			a.end[g] = a.start[g] + int32(len(slices.Compact(l)))
		}
	}
	return up, down
}

// mergeRegion returns the groups of cur with members (ascending group
// indices, a join region and its join, the join last) merged into one
// group that runs the members' tasks in their group order, a topological
// order. The merged group takes the place of its last member, the join:
// every group feeding a member precedes that member, and only the join
// feeds groups outside the region. cur is not modified.
func (b *builder) mergeRegion(cur *groups, members []int32) groups {
	join := members[len(members)-1]
	member := make([]bool, cur.len())
	for _, g := range members {
		member[g] = true
	}
	out := b.emptyGroups(cur)
	one := make([]int32, 1)
	for gi := int32(0); gi < int32(cur.len()); gi++ {
		switch {
		case gi == join:
			size, _, saved := b.appendGroup(&out, cur, members)
			out.class[len(out.class)-1] = cur.class[join]
			for e := range b.from { // the edges between members no longer carry data
				f, t := cur.ofTask[b.from[e]], cur.ofTask[b.to[e]]
				if f != t && member[f] && member[t] {
					saved += b.bytes[e]
				}
			}
			out.size = append(out.size, size)
			out.fused = append(out.fused, size) // runs as one chain
			out.saved = append(out.saved, saved)
			out.batch = append(out.batch, -1)
			out.parts = append(out.parts, 1)
		case member[gi]:
		default:
			one[0] = gi
			size, fz, saved := b.appendGroup(&out, cur, one)
			out.size = append(out.size, size)
			out.fused = append(out.fused, fz)
			out.saved = append(out.saved, saved)
			out.batch = append(out.batch, cur.batch[gi])
			out.parts = append(out.parts, cur.parts[gi])
		}
	}
	return out
}
