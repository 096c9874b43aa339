package pq

import (
	"container/heap"
	"math/rand/v2"
	"slices"
	"testing"
)

// it is the items of these tests; Val is a payload that must travel with
// its item.
type it = Item[int]

// ref is container/heap's view of items, the reference.
type ref []it

func (h ref) Len() int           { return len(h) }
func (h ref) Less(a, b int) bool { return h[a].Before(&h[b]) }
func (h ref) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *ref) Push(x any)        { *h = append(*h, x.(it)) }
func (h *ref) Pop() any {
	q := *h
	x := q[len(q)-1]
	*h = q[:len(q)-1]
	return x
}

// TestMatchesContainerHeap interleaves pushes and pops of items with few
// keys (so that many tie and Tie decides) on Push/Pop and on
// container/heap, and checks that every pop gives the same item and that
// the two heaps have the same layout after every operation.
func TestMatchesContainerHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var got []it
	want := &ref{}
	for seq := 0; seq < 5000; seq++ {
		x := it{Key: float64(rng.IntN(8)) - 4, Tie: int64(seq), Val: -seq}
		Push(&got, x)
		heap.Push(want, x)
		if rng.IntN(3) == 0 {
			if g, w := Pop(&got), heap.Pop(want).(it); g != w {
				t.Fatalf("pop %d: got %v, container/heap %v", seq, g, w)
			}
		}
		if !slices.Equal(got, *want) {
			t.Fatalf("after %d: layouts differ", seq)
		}
	}
	for len(got) > 0 {
		if g, w := Pop(&got), heap.Pop(want).(it); g != w {
			t.Fatalf("drain: got %v, container/heap %v", g, w)
		}
		if !slices.Equal(got, *want) {
			t.Fatal("drain: layouts differ")
		}
	}
	if want.Len() != 0 {
		t.Fatalf("container/heap kept %d items", want.Len())
	}
}

// TestPopSorts checks that popping everything gives ascending (Key, Tie)
// order, each item with its Val.
func TestPopSorts(t *testing.T) {
	var h []it
	for i, k := range []float64{5, 3, 9, 1, 1, 7, 0, 4, -2} {
		Push(&h, it{Key: k, Tie: int64(10 - i), Val: i})
	}
	var keys []float64
	var vals []int
	for len(h) > 0 {
		x := Pop(&h)
		keys, vals = append(keys, x.Key), append(vals, x.Val)
	}
	if want := []float64{-2, 0, 1, 1, 3, 4, 5, 7, 9}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	// The two 1s: Tie 6 (Val 4) before Tie 7 (Val 3).
	if want := []int{8, 6, 4, 3, 1, 7, 0, 5, 2}; !slices.Equal(vals, want) {
		t.Errorf("vals %v, want %v", vals, want)
	}
}

// TestFix raises and lowers keys in place and checks the layout after
// every Fix and the pop order after all, against container/heap.Fix on
// the same changes.
func TestFix(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var got []it
	want := &ref{}
	for seq := 0; seq < 200; seq++ {
		x := it{Key: float64(rng.IntN(50)), Tie: int64(seq)}
		Push(&got, x)
		heap.Push(want, x)
	}
	raised, lowered := 0, 0
	for k := 0; k < 1000; k++ {
		i := rng.IntN(len(got))
		key := float64(rng.IntN(50))
		switch {
		case key > got[i].Key:
			raised++
		case key < got[i].Key:
			lowered++
		}
		got[i].Key, (*want)[i].Key = key, key
		Fix(got, i)
		heap.Fix(want, i)
		if !slices.Equal(got, *want) {
			t.Fatalf("change %d: layouts differ", k)
		}
	}
	if raised == 0 || lowered == 0 {
		t.Fatalf("raised %d, lowered %d keys: want both", raised, lowered)
	}
	for len(got) > 0 {
		if g, w := Pop(&got), heap.Pop(want).(it); g != w {
			t.Fatalf("drain: got %v, container/heap %v", g, w)
		}
	}
}
