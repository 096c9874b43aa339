package place

// readyHeap is a max-heap of node indices ordered by rank, lower index first
// on equal rank, so the scheduling order is deterministic.
type readyHeap struct {
	rank  []float64
	nodes []int32
}

func (h *readyHeap) less(i, j int) bool {
	a, b := h.nodes[i], h.nodes[j]
	if h.rank[a] != h.rank[b] {
		return h.rank[a] > h.rank[b]
	}
	return a < b
}

func (h *readyHeap) len() int { return len(h.nodes) }

func (h *readyHeap) push(n int32) {
	h.nodes = append(h.nodes, n)
	for i := len(h.nodes) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h.nodes[i], h.nodes[parent] = h.nodes[parent], h.nodes[i]
		i = parent
	}
}

func (h *readyHeap) pop() int32 {
	top := h.nodes[0]
	last := len(h.nodes) - 1
	h.nodes[0] = h.nodes[last]
	h.nodes = h.nodes[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && h.less(l, m) {
			m = l
		}
		if r < last && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h.nodes[i], h.nodes[m] = h.nodes[m], h.nodes[i]
		i = m
	}
	return top
}

// instance is one processor of a class in the non-insertion scheduler: when
// it becomes free (seconds) and the node it ran last (-1 if none).
type instance struct {
	free float64
	id   int32
	last int32
}

// pool is a min-heap of a class's instances by free time, lower id first on
// equal times, so the earliest free instance is pool[0].
type pool []instance

// resetPool returns a pool of n idle instances, in p's array when it is
// large enough.
func resetPool(p pool, n int) pool {
	p = resize(p, n)
	for i := range p {
		p[i] = instance{id: int32(i), last: -1}
	}
	return p
}

func (p pool) less(i, j int) bool {
	if p[i].free != p[j].free {
		return p[i].free < p[j].free
	}
	return p[i].id < p[j].id
}

// find returns the position in p of the instance with the given id.
// Without LocalTransfersFree the chosen instance is always the top, so
// this returns at once.
func (p pool) find(id int32) int {
	for i := range p {
		if p[i].id == id {
			return i
		}
	}
	return -1
}

// occupy gives the instance at position i to node n until free, which is
// no earlier than its current free time, and restores the heap order in
// O(log I) by sifting it down.
func (p pool) occupy(i int, n int32, free float64) {
	p[i].free, p[i].last = free, n
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(p) && p.less(l, m) {
			m = l
		}
		if r < len(p) && p.less(r, m) {
			m = r
		}
		if m == i {
			return
		}
		p[i], p[m] = p[m], p[i]
		i = m
	}
}
