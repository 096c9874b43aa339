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

// eventHeap orders events by time, then by insertion order (eventBefore).
type eventHeap []event

func (h eventHeap) Len() int { return len(h) }

// eventBefore orders events by time, then by insertion order.
func eventBefore(a, b *event) bool {
	if a.t != b.t {
		return a.t < b.t
	}
	return a.seq < b.seq
}

// waiting is a ready shard in its class's queue.
type waiting struct {
	ready float64 // seconds
	shard int     // position in plan.Shards
}

// readyQueue orders a class's ready shards by place.DispatchBefore: ready
// time, then plan order.
type readyQueue []waiting

func (q readyQueue) Len() int           { return len(q) }
func (q readyQueue) Less(a, b int) bool { return waitingBefore(&q[a], &q[b]) }

func waitingBefore(a, b *waiting) bool {
	return place.DispatchBefore(a.ready, a.shard, b.ready, b.shard)
}

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
		return pq.Pop(&p.released, intBefore), true
	}
	if p.fresh < p.capacity {
		p.fresh++
		return p.fresh - 1, true
	}
	return 0, false
}

// free returns instance i to the pool.
func (p *instances) free(i int) { pq.Push(&p.released, i, intBefore) }

// available reports whether an instance is free.
func (p *instances) available() bool { return p.released.Len() > 0 || p.fresh < p.capacity }

type intHeap []int

func (h intHeap) Len() int { return len(h) }

func intBefore(a, b *int) bool { return *a < *b }
