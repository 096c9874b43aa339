package place

import "github.com/shardwise/shardwise/planner/pq"

// readyHeap is a max-heap (planner/pq) of node indices ordered by rank,
// lower index first on equal rank, so the scheduling order is
// deterministic: an item's Key is minus the node's rank, its Tie the
// node. rank does not change while the heap is in use.
type readyHeap struct {
	rank  []float64
	items []pq.Item[struct{}]
}

// newReadyHeap returns an empty readyHeap over rank, reusing items' array.
func newReadyHeap(rank []float64, items []pq.Item[struct{}]) readyHeap {
	return readyHeap{rank: rank, items: items[:0]}
}

func (h *readyHeap) len() int { return len(h.items) }
func (h *readyHeap) push(n int32) {
	pq.Push(&h.items, pq.Item[struct{}]{Key: -h.rank[n], Tie: int64(n)})
}
func (h *readyHeap) pop() int32 { return int32(pq.Pop(&h.items).Tie) }

// instance is one processor of a class in the non-insertion scheduler: Key
// is when it becomes free (seconds), Tie its id, Val the node it ran last
// (-1 if none).
type instance = pq.Item[int32]

// pool is a min-heap (planner/pq) of a class's instances by free time,
// lower id first on equal times, so the earliest free instance is pool[0].
type pool []instance

// resetPool returns a pool of n idle instances, in p's array when it is
// large enough.
func resetPool(p pool, n int) pool {
	p = resize(p, n)
	for i := range p {
		p[i] = instance{Tie: int64(i), Val: -1}
	}
	return p
}

// find returns the position in p of the instance with the given id.
// Without LocalTransfersFree the chosen instance is always the top, so
// this returns at once.
func (p pool) find(id int32) int {
	for i := range p {
		if p[i].Tie == int64(id) {
			return i
		}
	}
	return -1
}

// occupy gives the instance at position i to node n until free, which is
// no earlier than its current free time, and restores the heap order in
// O(log I) (pq.Fix: it sifts down).
func (p pool) occupy(i int, n int32, free float64) {
	p[i].Key, p[i].Val = free, n
	pq.Fix(p, i)
}
