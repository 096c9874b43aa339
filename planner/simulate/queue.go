package simulate

import (
	"github.com/shardwise/shardwise/planner/place"
	"github.com/shardwise/shardwise/planner/pq"
)

// event is a scheduled change: a shard finishing, a channel arriving, a
// ready shard handed to the launcher's registrar, a registration done, or
// a finished shard's instance released.
type event struct {
	t    float64 // seconds
	seq  uint64  // insertion order, to break ties deterministically
	kind EventKind
	idx  int // channel index for EventArrive, else shard index
}

// Internal events (never recorded): eventHandOver, a ready shard reaches
// the launcher's registrar after the launcher's reaction; eventRelease, a
// finished shard's instance becomes free again after
// Dispatch.ReleaseSeconds; eventPlace, the scheduler has placed a shard
// on the instance it holds (Dispatch.PlaceSeconds).
const (
	eventHandOver EventKind = "handover"
	eventRelease  EventKind = "release"
	eventPlace    EventKind = "place"
)

// eventHeap is a min-heap (planner/pq) of events: an item's Key is the
// event's time, its Tie the insertion order, its Val the rest.
type eventHeap []pq.Item[eventVal]

// eventVal is what an eventHeap item carries besides time and order.
type eventVal struct {
	kind EventKind
	idx  int
}

func (h eventHeap) Len() int { return len(h) }

func (h *eventHeap) push(e event) {
	pq.Push(h, pq.Item[eventVal]{Key: e.t, Tie: int64(e.seq), Val: eventVal{e.kind, e.idx}})
}

func (h *eventHeap) pop() event {
	x := pq.Pop(h)
	return event{t: x.Key, seq: uint64(x.Tie), kind: x.Val.kind, idx: x.Val.idx}
}

// next is the time of the non-empty heap's first event.
func (h eventHeap) next() float64 { return h[0].Key }

// waiting is a ready shard in its class's queue.
type waiting struct {
	ready float64 // seconds
	shard int     // position in plan.Shards
}

// readyQueue is a min-heap (planner/pq) of a class's ready shards in
// place.DispatchBefore order (place.DispatchItem: ready time, then plan
// order).
type readyQueue []pq.Item[struct{}]

func (q readyQueue) Len() int           { return len(q) }
func (q readyQueue) Less(a, b int) bool { return q[a].Before(&q[b]) }

func (q *readyQueue) push(w waiting) { pq.Push(q, place.DispatchItem(w.ready, w.shard, struct{}{})) }

func (q *readyQueue) pop() waiting {
	x := pq.Pop(q)
	return waiting{ready: x.Key, shard: int(x.Tie)}
}

// shard is the shard at position i of the queue's array.
func (q readyQueue) shard(i int) int { return int(q[i].Tie) }

// instances hands out a class's instances, lowest number first. Instances
// never used yet are numbered from fresh upward; released ones wait in a
// min-heap and are all below fresh, so the lowest free instance is the
// heap's top if any, else fresh. Memory grows with the instances used, not
// with the class's capacity.
type instances struct {
	capacity int
	fresh    int
	released intHeap
}

// take returns the lowest free instance, or false if all are busy.
func (p *instances) take() (int, bool) {
	if p.released.Len() > 0 {
		return int(pq.Pop(&p.released).Tie), true
	}
	if p.fresh < p.capacity {
		p.fresh++
		return p.fresh - 1, true
	}
	return 0, false
}

// free returns instance i to the pool.
func (p *instances) free(i int) { pq.Push(&p.released, pq.Item[struct{}]{Tie: int64(i)}) }

// available reports whether an instance is free.
func (p *instances) available() bool { return p.released.Len() > 0 || p.fresh < p.capacity }

// intHeap is a min-heap (planner/pq) of instance numbers, in Tie.
type intHeap []pq.Item[struct{}]

func (h intHeap) Len() int { return len(h) }
