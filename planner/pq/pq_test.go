package pq

import (
	"container/heap"
	"math/rand/v2"
	"testing"
)

// item is ordered by key, then by seq (a total order, as the planner's).
type item struct{ key, seq int }

func itemBefore(a, b *item) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return a.seq < b.seq
}

// ref is container/heap's view of items, the reference.
type ref []item

func (h ref) Len() int           { return len(h) }
func (h ref) Less(a, b int) bool { return itemBefore(&h[a], &h[b]) }
func (h ref) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *ref) Push(x any)        { *h = append(*h, x.(item)) }
func (h *ref) Pop() any {
	q := *h
	x := q[len(q)-1]
	*h = q[:len(q)-1]
	return x
}

// TestMatchesContainerHeap interleaves pushes and pops of items with few
// keys (so that many tie and seq decides) on Push/Pop and on
// container/heap, and checks that every pop gives the same item.
func TestMatchesContainerHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var got []item
	want := &ref{}
	for seq := 0; seq < 5000; seq++ {
		it := item{key: rng.IntN(8), seq: seq}
		Push(&got, it, itemBefore)
		heap.Push(want, it)
		if rng.IntN(3) == 0 {
			if g, w := Pop(&got, itemBefore), heap.Pop(want).(item); g != w {
				t.Fatalf("pop %d: got %v, container/heap %v", seq, g, w)
			}
		}
	}
	for len(got) > 0 {
		if g, w := Pop(&got, itemBefore), heap.Pop(want).(item); g != w {
			t.Fatalf("drain: got %v, container/heap %v", g, w)
		}
	}
	if want.Len() != 0 {
		t.Fatalf("container/heap kept %d items", want.Len())
	}
}

// TestPopSorts checks that popping everything gives ascending order.
func TestPopSorts(t *testing.T) {
	var h []int
	less := func(a, b *int) bool { return *a < *b }
	for _, v := range []int{5, 3, 9, 1, 1, 7, 0, 4} {
		Push(&h, v, less)
	}
	prev := -1
	for len(h) > 0 {
		v := Pop(&h, less)
		if v < prev {
			t.Fatalf("popped %d after %d", v, prev)
		}
		prev = v
	}
}

// TestFix raises and lowers keys in place and checks the heap still pops
// in order, against container/heap.Fix on the same changes.
func TestFix(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var got []item
	want := &ref{}
	for seq := 0; seq < 200; seq++ {
		it := item{key: rng.IntN(50), seq: seq}
		Push(&got, it, itemBefore)
		heap.Push(want, it)
	}
	for k := 0; k < 1000; k++ {
		i := rng.IntN(len(got))
		// The same element sits at the same position in both heaps: they
		// have done the same swaps, the orders being total.
		if got[i] != (*want)[i] {
			t.Fatalf("change %d: layouts differ at %d: %v vs %v", k, i, got[i], (*want)[i])
		}
		key := rng.IntN(50)
		got[i].key, (*want)[i].key = key, key
		Fix(got, i, itemBefore)
		heap.Fix(want, i)
	}
	for len(got) > 0 {
		if g, w := Pop(&got, itemBefore), heap.Pop(want).(item); g != w {
			t.Fatalf("drain: got %v, container/heap %v", g, w)
		}
	}
}
