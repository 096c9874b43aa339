package plan

// Robust fusion (issue 9, robust planning): a chain that has slack in the
// task schedule at p50 but whose high quantile would make it the critical
// path (its p90 spread exceeds its slack plus the p90 spread of the p50
// critical path: the chain's path at p90 would be longer than the
// critical path's at p90) is not fused. Kept as shards of their
// own, its later tasks can still be late-bound (Binder) and corrected in
// run once the first ones have run long; fused, the whole chain is bound
// to one class at its first submission. A chain already on the critical
// path at p50 fuses as before: it is critical either way, and fusion
// saves its start-ups and transfers.

// taskSlack returns each task's slack in seconds in the task schedule: its
// latest finish that keeps the makespan (backward over its successors'
// latest starts less the transfers, instance contention ignored) less its
// finish. Tasks on the critical path have slack 0. In the same backward
// pass it returns robust batching's path spread (robustbatch.go): per
// task, the largest sum of p90 less p50 runtimes (rankSpread) of the
// tasks with slack on a path from it to an exit.
func (b *builder) taskSlack() (slack, down []float64) {
	s, p := b.taskSched, b.taskProb
	lf, down := make([]float64, b.nt), make([]float64, b.nt)
	for t := range lf {
		lf[t] = s.Makespan
	}
	tol := b.batchTol()
	for k := len(s.Order) - 1; k >= 0; k-- {
		t := int(s.Order[k])
		ls := lf[t] - (s.Finish[t] - s.Start[t])
		if lf[t]-s.Finish[t] > tol { // every successor has lowered lf[t] already
			down[t] += b.rankSpread(t, int(s.Class[t]))
		}
		for _, e := range b.g.InIdx(t) {
			u := int(b.from[e])
			lf[u] = min(lf[u], ls-p.Transfer(b.bytes[e], int(s.Class[u]), int(s.Class[t])))
			down[u] = max(down[u], down[t])
		}
	}
	for t := range lf {
		lf[t] = max(0, lf[t]-s.Finish[t])
	}
	return lf, down
}

// spread is task t's p90 less p50 runtime on class c in seconds (0 when
// the prediction has no spread).
func (b *builder) spread(t, c int) float64 {
	p50, p90 := b.quantiles(t, c)
	if !(p50 > 0) {
		return 0
	}
	return b.work[t*b.nc+c] * (p90/p50 - 1)
}

// taskSpread is robust fusion's spread of task t on class c in seconds:
// spread where it is positive, else 0. It is computed where it is read
// (the tasks a fusion pass considers and the critical path's), not kept
// for every task and class.
func (b *builder) taskSpread(t, c int) float64 {
	if x := b.spread(t, c); x > 0 {
		return x
	}
	return 0
}

// robustFusion prepares riskyChain for a fusion pass: the task slack
// (groups.spread then sums the tasks' spreads per fused group), or
// nothing when no prediction has a positive spread or with
// Options.MedianFusion. The slack is computed once per plan, from the
// task schedule, and serves every layout's fusion pass.
func (b *builder) robustFusion() {
	b.groups.spreadAt, b.groups.spread = nil, nil
	if !b.robustDone {
		b.robustDone = true
		b.robustInit()
	}
	if b.slack != nil {
		b.groups.spreadAt = make([]int32, 0, b.nt)
	}
}

func (b *builder) robustInit() {
	if b.opts.MedianFusion {
		return
	}
	if b.anySpread() {
		b.slack, b.pathSpread = b.taskSlack()
		b.cpSpread = b.criticalSpread()
	}
}

// anySpread reports whether some task has a positive spread on some
// class; it stops at the first.
func (b *builder) anySpread() bool {
	if !b.spreads {
		return false
	}
	for t := 0; t < b.nt; t++ {
		for c := 0; c < b.nc; c++ {
			if b.taskSpread(t, c) > 0 {
				return true
			}
		}
	}
	return false
}

// criticalSpread is the p90 less p50 runtime, in seconds, of the task
// schedule's critical path: the tasks without slack met walking back from
// the last to finish along what bound each start (Schedule.Bound).
func (b *builder) criticalSpread() float64 {
	s := b.taskSched
	last := -1
	for t := range s.Finish {
		if last < 0 || s.Finish[t] > s.Finish[last] {
			last = t
		}
	}
	var sum float64
	for t, n := last, 0; t >= 0 && n <= b.nt; t, n = int(s.Bound[t]), n+1 {
		if !(b.slack[t] > 1e-6*s.Makespan) {
			sum += b.taskSpread(t, int(s.Class[t]))
		}
	}
	return sum
}

// riskyChain reports whether group gi with task v appended, on class c,
// is a chain that has slack at p50 (v's, more than a millionth of the
// makespan) that its tasks' p90 spread on c exceeds by more than the
// critical path's p90 spread.
func (b *builder) riskyChain(gi, v, c int) bool {
	if b.slack == nil {
		return false
	}
	sl := b.slack[v]
	if !(sl > 1e-6*b.taskSched.Makespan) {
		return false
	}
	return b.groupSpread(gi, c)+b.taskSpread(v, c) > sl+b.cpSpread
}

// groupSpread is group gi's total p90 less p50 runtime on class c in
// seconds, while robust fusion is on.
func (b *builder) groupSpread(gi, c int) float64 {
	gs := &b.groups
	if at := gs.spreadAt[gi]; at >= 0 {
		return gs.spread[int(at)*b.nc+c]
	}
	return b.taskSpread(int(gs.head[gi]), c)
}
