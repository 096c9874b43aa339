package place

// scheduler holds the state of one Run.
//
// Its times are never NaN (Validate rejects NaN runtimes and sizes, and
// bandwidths are positive), so it uses the built-in min and max, which
// compile to a few instructions, where math.Min and math.Max, calls that
// differ from them only when an argument is NaN, cost more.
type scheduler struct {
	p   *Problem
	adj *adjacency
	s   *Schedule
	opt Options
	nc  int

	ready readyHeap
	// waiting counts each node's predecessors not yet scheduled.
	waiting []int32
	// inv[a*nc+b] is 1/min(bandwidth a, bandwidth b) in s/byte.
	inv []float64

	pools []pool       // non-insertion: one instance heap per class
	lines [][]timeline // insertion: busy intervals per class, per instance

	// Per-class scratch for the node being placed.
	dataReady []float64
	dataBound []int32
}

// choice is a candidate placement of one node on one class.
type choice struct {
	class, inst int
	start, fin  float64
	// prev is the node that held the instance up to start (-1 if none).
	prev int32
}

// reset prepares sc to schedule p into s, nodes taken in decreasing rank,
// reusing its buffers.
func (sc *scheduler) reset(p *Problem, adj *adjacency, s *Schedule, rank []float64, opt Options) {
	nc := len(p.Classes)
	sc.p, sc.adj, sc.s, sc.opt, sc.nc = p, adj, s, opt, nc
	sc.ready = newReadyHeap(rank, sc.ready.items)
	sc.waiting = resize(sc.waiting, p.Nodes)
	sc.inv = resize(sc.inv, nc*nc)
	sc.dataReady = resize(sc.dataReady, nc)
	sc.dataBound = resize(sc.dataBound, nc)
	for a := range p.Classes {
		for b := range p.Classes {
			sc.inv[a*nc+b] = 1 / min(p.Classes[a].BandwidthBytes, p.Classes[b].BandwidthBytes)
		}
	}
	sc.pools, sc.lines = sc.pools[:0], nil
	if opt.Insertion {
		sc.lines = make([][]timeline, nc)
		for c := range p.Classes {
			sc.lines[c] = make([]timeline, sc.instances(c))
		}
		return
	}
	for c := range p.Classes {
		var pl pool
		if k := len(sc.pools); k < cap(sc.pools) {
			pl = sc.pools[:k+1][k]
		}
		sc.pools = append(sc.pools, resetPool(pl, sc.instances(c)))
	}
}

// instances is how many of class c's instances the schedule keeps: no more
// than there are nodes, since no more can ever be busy; the rest would be
// idle at time 0 with higher indices, never chosen over an idle one kept
// (ties go to the lower index). A catalog's instances = 1000000000 once
// took 24 GB here.
func (sc *scheduler) instances(c int) int {
	return min(sc.p.Classes[c].Instances, max(sc.p.Nodes, 1))
}

// run schedules every node: repeatedly the ready node of highest rank.
func (sc *scheduler) run() {
	for n := 0; n < sc.p.Nodes; n++ {
		sc.waiting[n] = sc.adj.inStart[n+1] - sc.adj.inStart[n]
		if sc.waiting[n] == 0 {
			sc.ready.push(int32(n))
		}
	}
	for sc.ready.len() > 0 {
		n := sc.ready.pop()
		sc.place(int(n))
		if !sc.opt.Minimal {
			sc.s.Order = append(sc.s.Order, n)
		}
		for _, e := range sc.adj.out(int(n)) {
			t := sc.p.EdgeTo[e]
			sc.waiting[t]--
			if sc.waiting[t] == 0 {
				sc.ready.push(t)
			}
		}
	}
}

// place assigns node n to the class and instance with the earliest finish
// (its pinned class if it has one; lower class index on ties) and records
// the result.
func (sc *scheduler) place(n int) {
	pin := sc.p.pinned(n)
	if pin >= 0 && !sc.opt.Alternatives && !sc.opt.LocalTransfersFree {
		// Only the pinned class is looked at (it is feasible: Validate).
		sc.dataReadyOn(n, pin)
		sc.commit(n, sc.candidate(n, pin))
		return
	}
	sc.computeDataReady(n)
	best := choice{class: -1}
	for c := 0; c < sc.nc; c++ {
		if !sc.p.feasible(n, c) || (pin >= 0 && c != pin && !sc.opt.Alternatives) {
			if sc.s.Alt != nil {
				sc.s.Alt[n*sc.nc+c] = Infeasible
			}
			continue
		}
		ch := sc.candidate(n, c)
		if sc.s.Alt != nil {
			sc.s.Alt[n*sc.nc+c] = ch.fin
		}
		if (pin < 0 && (best.class < 0 || ch.fin < best.fin)) || c == pin {
			best = ch
		}
	}
	sc.commit(n, best)
}

// computeDataReady fills dataReady[c] with the time all of n's inputs can
// be on an instance of class c, and dataBound[c] with the predecessor whose
// data arrives last (-1 if n has none).
func (sc *scheduler) computeDataReady(n int) {
	for c := range sc.dataReady {
		sc.dataReady[c], sc.dataBound[c] = 0, -1
	}
	for _, e := range sc.adj.in(n) {
		from := int(sc.p.EdgeFrom[e])
		fin, bytes := sc.s.Finish[from], sc.p.EdgeBytes[e]
		if bytes == 0 || sc.p.sameGroup(from, n) {
			sc.raiseAll(fin, int32(from))
			continue
		}
		row := sc.inv[int(sc.s.Class[from])*sc.nc:]
		for c := 0; c < sc.nc; c++ {
			if t := fin + bytes*row[c]; t > sc.dataReady[c] || sc.dataBound[c] < 0 {
				sc.dataReady[c], sc.dataBound[c] = max(t, sc.dataReady[c]), int32(from)
			}
		}
	}
}

// dataReadyOn is computeDataReady for class c alone.
func (sc *scheduler) dataReadyOn(n, c int) {
	ready, bound := 0.0, int32(-1)
	for _, e := range sc.adj.in(n) {
		from := int(sc.p.EdgeFrom[e])
		t := sc.s.Finish[from]
		if bytes := sc.p.EdgeBytes[e]; bytes != 0 && !sc.p.sameGroup(from, n) {
			t += bytes * sc.inv[int(sc.s.Class[from])*sc.nc+c]
		}
		if t > ready || bound < 0 {
			ready, bound = max(t, ready), int32(from)
		}
	}
	sc.dataReady[c], sc.dataBound[c] = ready, bound
}

// raiseAll raises every class's data-ready time to at least t, set by from.
func (sc *scheduler) raiseAll(t float64, from int32) {
	for c := range sc.dataReady {
		if t > sc.dataReady[c] || sc.dataBound[c] < 0 {
			sc.dataReady[c], sc.dataBound[c] = max(t, sc.dataReady[c]), from
		}
	}
}

// candidate returns n's earliest placement on class c.
func (sc *scheduler) candidate(n, c int) choice {
	dur := sc.p.Runtime[n*sc.nc+c] + sc.p.Classes[c].StartupSeconds
	if sc.opt.LocalTransfersFree {
		return sc.localCandidate(n, c, dur)
	}
	ready := sc.dataReady[c]
	if sc.opt.Insertion {
		return sc.insertionSlot(c, ready, dur)
	}
	top := sc.pools[c][0] // Key: free time, Tie: id, Val: last node
	start := max(top.Key, ready)
	return choice{class: c, inst: int(top.Tie), start: start, fin: start + dur, prev: top.Val}
}

// commit records n's placement and books the instance.
func (sc *scheduler) commit(n int, ch choice) {
	s := sc.s
	s.Class[n] = int32(ch.class)
	if s.Instance != nil { // nil with Options.Minimal
		s.Instance[n] = int32(ch.inst)
	}
	s.Finish[n] = ch.fin
	if s.Start != nil { // Makespan keeps neither starts nor bounds
		s.Start[n] = ch.start
		s.Bound[n] = sc.dataBound[ch.class]
		if ch.start > sc.dataReady[ch.class] {
			s.Bound[n] = ch.prev
		}
	}
	s.Makespan = max(s.Makespan, ch.fin)
	if sc.opt.Insertion {
		sc.insertInterval(ch, int32(n))
		return
	}
	pl := sc.pools[ch.class]
	pl.occupy(pl.find(int32(ch.inst)), int32(n), ch.fin)
}

// localCandidate returns n's earliest placement on class c when transfers
// between nodes on one instance are free (Options.LocalTransfersFree):
// every instance has its own data-ready time, so each is examined; the
// lowest instance index wins ties. It leaves the chosen instance's
// data-ready time and bounding predecessor in dataReady[c] and
// dataBound[c] for commit.
func (sc *scheduler) localCandidate(n, c int, dur float64) choice {
	best := choice{class: c, inst: -1}
	var bestReady float64
	bestBound := int32(-1)
	for i := 0; i < sc.instances(c); i++ {
		ready, bound := sc.instanceReady(n, c, i)
		var ch choice
		if sc.opt.Insertion {
			start, prev := sc.lines[c][i].earliestGap(ready, dur)
			ch = choice{class: c, inst: i, start: start, fin: start + dur, prev: prev}
		} else {
			in := sc.pools[c][sc.pools[c].find(int32(i))]
			start := max(in.Key, ready)
			ch = choice{class: c, inst: i, start: start, fin: start + dur, prev: in.Val}
		}
		if best.inst < 0 || ch.fin < best.fin {
			best, bestReady, bestBound = ch, ready, bound
		}
	}
	sc.dataReady[c], sc.dataBound[c] = bestReady, bestBound
	return best
}

// instanceReady is the time all of n's inputs can be on instance inst of
// class c, inputs produced on that same instance arriving at once, and the
// predecessor whose data arrives last (-1 if n has none).
func (sc *scheduler) instanceReady(n, c, inst int) (float64, int32) {
	ready, bound := 0.0, int32(-1)
	for _, e := range sc.adj.in(n) {
		from := int(sc.p.EdgeFrom[e])
		t := sc.s.Finish[from]
		local := int(sc.s.Class[from]) == c && int(sc.s.Instance[from]) == inst
		if b := sc.p.EdgeBytes[e]; b > 0 && !local && !sc.p.sameGroup(from, n) {
			t += b * sc.inv[int(sc.s.Class[from])*sc.nc+c]
		}
		if t > ready || bound < 0 {
			ready, bound = max(t, ready), int32(from)
		}
	}
	return ready, bound
}
