package plan

import "slices"

// Robust batching (issue 9, robust planning). A batch runs its members one
// after another in one allocation, and the shards downstream of it wait
// for the whole allocation: a member's outputs are held until the batch's
// last member ends. Where every member feeds the same downstream groups
// (a join, as BLAST's blastall tasks feed cat) the join waits for all of
// them anyway, and the shard schedule sees what batching costs. Where the
// members feed different groups, the batch couples paths that were
// independent: a member's downstream starts later by up to the runtime of
// the members run with it. The p50 schedule accepts that wherever the
// path has slack. The slack is a p50 figure, though, and the errors of
// different task types are not shared (in Epigenomics ilmn, fastqSplit
// ran 47x its prediction while map ran 0.6x; docs/evaluation.md): a path
// becomes critical when its own tasks run at their p90 while the critical
// path's run at their p50 unless its slack exceeds its p90 spread (the p90
// less p50 runtime of its tasks that have slack; batchMargin). What is left,
// the path's p90 margin, is what a batch may hold the path back by for
// free: a packing that ends a member of such a batch later than its own
// shard ended, by more than its margin (none where the spread exceeds the
// slack) plus what the packing gains at p50, is rejected like one that
// makes the schedule slower (holdsBackPath). A member
// that would have queued for an instance anyway (more siblings than
// instances) is not held back by the batch, and batches as before. The test
// reads only the predictions (p50, p90) and the schedules. Robust fusion
// (robustfuse.go) asks the question for chains.

// batchMargin returns, per task, its p90 margin in seconds: its slack in
// the task schedule less the p90 spread of its path (the largest sum, over
// the paths from the task, itself included, to an exit, of the p90 less
// p50 runtimes of the tasks on it that have slack, each on its class in
// the task schedule; taskSlack computes it), negative where the spread
// exceeds the slack; computed once per builder. Tasks without slack are
// left out of the spread: they are on the critical path, which stretches
// with them. It is nil when no prediction has a spread, or with
// Options.MedianBatching.
func (b *builder) batchMargin() []float64 {
	if b.marginDone {
		return b.margin
	}
	b.marginDone = true
	if b.opts.MedianBatching || !b.anySpread() {
		return nil
	}
	slack, down := b.slack, b.pathSpread
	if slack == nil || down == nil {
		slack, down = b.taskSlack()
	}
	margin := make([]float64, b.nt)
	for t := range margin {
		margin[t] = slack[t] - down[t]
	}
	b.margin = margin
	return margin
}

// batchTol is the tolerance of robust batching's comparisons, in seconds:
// a millionth of the task schedule's makespan, as robust fusion's.
func (b *builder) batchTol() float64 { return 1e-6 * b.taskSched.Makespan }

// rankSpread is task t's p90 less p50 runtime on class c in the task
// schedule's terms (a split task at its piece count there), in seconds:
// the p90 ranks hold the p90 beside the p50, so it is read without the
// table; taskSpread where the ranks are the medians (Options.MedianRanks).
func (b *builder) rankSpread(t, c int) float64 {
	if rank := b.taskProb.RankRuntime; rank != nil {
		return rank(t, c) - b.taskRT[t*b.nc+c]
	}
	return b.taskSpread(t, c)
}

// holdsBackPath reports whether the builder's trial schedule holds a
// member of a batch of extra (batches of fused's groups) back by more than
// its p90 margin (batchMargin, none where negative) plus what the trial
// gains at p50: the batch's shard ends later than the member's own shard
// ended in prev, the schedule before the trial. The excess is what the
// batch costs when the member's path runs at its p90 while the rest runs
// at its p50, the gain what not batching costs when everything runs at
// its p50; the batch is kept where the second is the larger (minimax
// regret over the two, as the robust guard of planner.Pipeline decides
// between whole plans). Batches whose members all feed the same
// downstream groups are not checked.
func (b *builder) holdsBackPath(fused *groups, extra []batch, prev *shardState) bool {
	if b.opts.MedianBatching || !b.spreads {
		return false
	}
	tol := b.batchTol()
	gain := max(0, prev.sched.Makespan-b.sched.Makespan)
	var margin []float64
	for _, bt := range extra {
		coupled := -1 // unknown until a member is held back by more than the gain
		for _, gi := range bt.members {
			h := fused.head[gi]
			before := prev.sched.Finish[prev.shards.first[prev.groups.ofTask[h]]]
			held := b.sched.Finish[b.shards.first[b.groups.ofTask[h]]] - before
			if held <= gain+tol {
				continue
			}
			if margin == nil {
				if margin = b.batchMargin(); margin == nil {
					return false
				}
			}
			if held-max(0, margin[h]) <= gain+tol {
				continue
			}
			if coupled < 0 {
				coupled = 0
				if !b.sameDownstream(fused, bt.members) {
					coupled = 1
				}
			}
			if coupled == 1 {
				return true
			}
			break // every member feeds the same groups: the batch is not checked
		}
	}
	return false
}

// sameDownstream reports whether the groups members of gs all feed the
// same set of downstream groups. Only a group's tail has successors
// outside it (a fused chain's earlier tasks have one successor, the next).
func (b *builder) sameDownstream(gs *groups, members []int32) bool {
	var first, row []int32
	for i, gi := range members {
		row = row[:0]
		for _, e := range b.g.OutIdx(int(gs.tail[gi])) {
			row = append(row, gs.ofTask[b.to[e]])
		}
		slices.Sort(row)
		row = slices.Compact(row)
		if i == 0 {
			first = slices.Clone(row)
			continue
		}
		if !slices.Equal(first, row) {
			return false
		}
	}
	return true
}
