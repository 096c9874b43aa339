package simulate

import (
	"container/heap"
	"math/rand/v2"
	"testing"
)

// refEvents is container/heap's view of events, the reference for
// pushHeap and popHeap.
type refEvents []event

func (h refEvents) Len() int           { return len(h) }
func (h refEvents) Less(a, b int) bool { return eventBefore(&h[a], &h[b]) }
func (h refEvents) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *refEvents) Push(x any)        { *h = append(*h, x.(event)) }
func (h *refEvents) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// TestHeapSameAsContainerHeap pushes and pops random events (times from a
// few values, so that many tie and insertion order decides) on pushHeap
// and popHeap and on container/heap, and checks that every pop gives the
// same event.
func TestHeapSameAsContainerHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var got eventHeap
	var want refEvents
	for seq := range uint64(20000) {
		if rng.IntN(3) > 0 || len(got) == 0 {
			e := event{t: float64(rng.IntN(50)), seq: seq, idx: int(seq)}
			pushHeap(&got, e, eventBefore)
			heap.Push(&want, e)
			continue
		}
		if g, w := popHeap(&got, eventBefore), heap.Pop(&want).(event); g != w {
			t.Fatalf("pop %d: got %+v, want %+v", seq, g, w)
		}
	}
	for len(got) > 0 {
		if g, w := popHeap(&got, eventBefore), heap.Pop(&want).(event); g != w {
			t.Fatalf("draining: got %+v, want %+v", g, w)
		}
	}
	if len(want) != 0 {
		t.Fatalf("%d events left in the reference", len(want))
	}
}
