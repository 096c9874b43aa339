// Package pq is the planner's priority queue: a binary min-heap kept in a
// slice the caller owns, ordered by the caller's less function.
//
// It is container/heap's algorithm (Williams, 1964; Knuth TAOCP vol. 3,
// 5.2.3) without its interface, whose Push and Pop box every element (an
// allocation per element, most of a large plan's or simulation's garbage).
// Every order the planner uses is total (ties broken by an index or an
// insertion sequence), so elements come out in the same order as from
// container/heap, and pop order never depends on the heap's layout.
package pq

// Push adds x to the min-heap h ordered by less: O(log n) comparisons.
func Push[S ~[]E, E any](h *S, x E, less func(a, b *E) bool) {
	*h = append(*h, x)
	up(*h, len(*h)-1, less)
}

// Pop removes and returns the least element of the non-empty min-heap h
// ordered by less: O(log n) comparisons. It panics when h is empty.
func Pop[S ~[]E, E any](h *S, less func(a, b *E) bool) E {
	q := *h
	n := len(q) - 1
	q[0], q[n] = q[n], q[0]
	down(q[:n], 0, less)
	x := q[n]
	*h = q[:n]
	return x
}

// Fix restores the order of min-heap h after the element at position i
// changed (container/heap.Fix): O(log n) comparisons.
func Fix[S ~[]E, E any](h S, i int, less func(a, b *E) bool) {
	if !down(h, i, less) {
		up(h, i, less)
	}
}

// down sifts h[i] down and reports whether it moved.
func down[S ~[]E, E any](h S, i int, less func(a, b *E) bool) bool {
	i0 := i
	for {
		j := 2*i + 1
		if j >= len(h) {
			break
		}
		if j+1 < len(h) && less(&h[j+1], &h[j]) {
			j++
		}
		if !less(&h[j], &h[i]) {
			break
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
	return i > i0
}

// up sifts h[j] up.
func up[S ~[]E, E any](h S, j int, less func(a, b *E) bool) {
	for j > 0 {
		i := (j - 1) / 2
		if !less(&h[j], &h[i]) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
}
