// Package pq is the planner's priority queue: a binary min-heap of Items
// kept in a slice the caller owns.
//
// It is container/heap's algorithm (Williams, 1964; Knuth TAOCP vol. 3,
// 5.2.3) without its interface, whose Push and Pop box every element (an
// allocation per element, most of a large plan's or simulation's garbage).
// The order is fixed, an Item's Key then its Tie, rather than a caller's
// less function: a function value is an indirect call per comparison that
// the compiler cannot inline, which made the scheduler's ready list about
// 1.2x slower than a hand-written heap (docs/benchmarks.md). Every order the planner uses is total
// (ties broken by an index or an insertion sequence in Tie), so elements
// come out in the same order as from container/heap, and pop order never
// depends on the heap's layout.
package pq

// Item is an element of a heap, carrying Val. Heaps order items by Key,
// then by Tie, both ascending (Before); a max-heap negates its keys.
type Item[V any] struct {
	Key float64
	Tie int64
	Val V
}

// Before reports whether a comes out of a heap before b: the smaller Key,
// else the smaller Tie.
func (a *Item[V]) Before(b *Item[V]) bool {
	if a.Key != b.Key {
		return a.Key < b.Key
	}
	return a.Tie < b.Tie
}

// Push adds x to the min-heap h: O(log n) comparisons.
func Push[S ~[]Item[V], V any](h *S, x Item[V]) {
	*h = append(*h, x)
	up(*h, len(*h)-1)
}

// Pop removes and returns the least item of the non-empty min-heap h:
// O(log n) comparisons. It panics when h is empty.
func Pop[S ~[]Item[V], V any](h *S) Item[V] {
	q := *h
	n := len(q) - 1
	q[0], q[n] = q[n], q[0]
	down(q[:n], 0)
	x := q[n]
	*h = q[:n]
	return x
}

// Fix restores the order of min-heap h after the item at position i
// changed its Key or Tie, either way (container/heap.Fix): O(log n)
// comparisons.
func Fix[S ~[]Item[V], V any](h S, i int) {
	if !down(h, i) {
		up(h, i)
	}
}

// down sifts h[i] down and reports whether it moved.
func down[S ~[]Item[V], V any](h S, i int) bool {
	i0 := i
	for {
		j := 2*i + 1
		if j >= len(h) {
			break
		}
		if j+1 < len(h) && h[j+1].Before(&h[j]) {
			j++
		}
		if !h[j].Before(&h[i]) {
			break
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
	return i > i0
}

// up sifts h[j] up.
func up[S ~[]Item[V], V any](h S, j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h[j].Before(&h[i]) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
}
