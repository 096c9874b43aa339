package place

import "github.com/shardwise/shardwise/planner/pq"

// DispatchBefore is the one dispatch policy of a running plan, shared by
// the planner's replay of its own schedule (planner/plan) and by the
// simulator (planner/simulate); docs/simulator.md states it. It reports
// whether a ready unit (shard or node) a, ready since readyA seconds and at
// position posA in plan order, takes a free instance of its class before
// unit b.
//
// The launcher submits a shard's job when its upstream shards have
// completed (planner order among shards that become ready together), and
// Nomad places a class's queued allocations first come, first served on
// the first free node of the class: so a class serves its ready units by
// ready time, then plan order, whatever start time the plan booked.
func DispatchBefore(readyA float64, posA int, readyB float64, posB int) bool {
	a, b := DispatchItem(readyA, posA, struct{}{}), DispatchItem(readyB, posB, struct{}{})
	return a.Before(&b)
}

// DispatchItem is a ready unit at position pos in plan order, ready since
// ready seconds, carrying v, as a planner/pq item: a heap of them serves
// the units in DispatchBefore order (Key the ready time, Tie the
// position).
func DispatchItem[V any](ready float64, pos int, v V) pq.Item[V] {
	return pq.Item[V]{Key: ready, Tie: int64(pos), Val: v}
}
