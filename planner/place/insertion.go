package place

// busy is one node's occupation of an instance, [start, end) in seconds.
type busy struct {
	start, end float64
	node       int32
}

// timeline is an instance's busy intervals, sorted by start, disjoint.
type timeline []busy

// earliestGap returns the earliest start >= ready at which an idle period
// of length dur begins on the instance (HEFT's insertion policy,
// Topcuoglu et al. 2002, eq. 3), and the node whose interval ends just
// before it (-1 if none).
func (tl timeline) earliestGap(ready, dur float64) (start float64, prev int32) {
	prevEnd, prev := 0.0, int32(-1)
	for _, iv := range tl {
		if cand := max(ready, prevEnd); cand+dur <= iv.start {
			return cand, prev
		}
		prevEnd, prev = iv.end, iv.node
	}
	return max(ready, prevEnd), prev
}

// insert adds b in start order.
func (tl timeline) insert(b busy) timeline {
	i := len(tl)
	for i > 0 && tl[i-1].start > b.start {
		i--
	}
	tl = append(tl, busy{})
	copy(tl[i+1:], tl[i:])
	tl[i] = b
	return tl
}

// insertionSlot returns the earliest start on any instance of class c (the
// lowest instance index on ties) for a node needing dur seconds after ready.
func (sc *scheduler) insertionSlot(c int, ready, dur float64) choice {
	best := choice{class: c, inst: -1}
	for i, tl := range sc.lines[c] {
		start, prev := tl.earliestGap(ready, dur)
		if best.inst < 0 || start < best.start {
			best = choice{class: c, inst: i, start: start, fin: start + dur, prev: prev}
		}
	}
	return best
}

// insertInterval books the instance chosen for node n.
func (sc *scheduler) insertInterval(ch choice, n int32) {
	tl := sc.lines[ch.class][ch.inst]
	sc.lines[ch.class][ch.inst] = tl.insert(busy{start: ch.start, end: ch.fin, node: n})
}
