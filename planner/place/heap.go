package place

import "github.com/shardwise/shardwise/planner/pq"

// readyHeap is a max-heap (planner/pq) of node indices ordered by rank,
// lower index first on equal rank, so the scheduling order is
// deterministic.
type readyHeap struct {
	rank  []float64
	nodes []int32
	// before is the heap's order, made once per schedule: it reads rank.
	before func(a, b *int32) bool
}

// newReadyHeap returns an empty readyHeap over rank, reusing nodes' array.
func newReadyHeap(rank []float64, nodes []int32) readyHeap {
	return readyHeap{rank: rank, nodes: nodes[:0], before: func(a, b *int32) bool {
		if rank[*a] != rank[*b] {
			return rank[*a] > rank[*b]
		}
		return *a < *b
	}}
}

func (h *readyHeap) len() int     { return len(h.nodes) }
func (h *readyHeap) push(n int32) { pq.Push(&h.nodes, n, h.before) }
func (h *readyHeap) pop() int32   { return pq.Pop(&h.nodes, h.before) }

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

func instanceBefore(a, b *instance) bool {
	if a.free != b.free {
		return a.free < b.free
	}
	return a.id < b.id
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
	pq.Fix(p, i, instanceBefore)
}
