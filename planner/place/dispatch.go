package place

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
	if readyA != readyB {
		return readyA < readyB
	}
	return posA < posB
}
