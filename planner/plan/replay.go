package plan

import (
	"github.com/shardwise/shardwise/planner/place"
	"github.com/shardwise/shardwise/planner/pq"
)

// replay returns the makespan in seconds of schedule s of problem p when
// it is run the way the launcher runs a plan: every node on its scheduled
// class, started as soon as its inputs have arrived and an instance of the
// class is free (work-conserving: an instance is never held back for a
// node booked earlier that is not ready yet), ready nodes served by
// place.DispatchBefore (ready time, then index), as the launcher and Nomad
// serve them whatever start the schedule booked. The list
// schedule books instances in rank order and may leave an instance idle
// that a later-booked, already-ready node would fill at run time; a long
// node filling it can then delay a critical one. This is the queueing
// model of planner/simulate (docs/simulator.md) without noise, kept here
// because the planner cannot import the simulator, which reads plans.
//
// A node's inputs all arrive by the latest of its predecessors' finish
// plus transfer, known once its last predecessor has finished: the node
// then joins its class's queue with that ready time, which may lie ahead.
// The queue serves by ready time first, so its head is the next node the
// class can start; the only events are finishes, and the clock moves to
// the next finish or to the earliest head ready time of a class with a
// free instance, whichever comes first. At each time every finish is
// handled before the dispatch, so their order does not matter.
//
// It costs O(E + V log V + T·C) time (T distinct times, C classes) and
// O(V+E) memory; r's buffers are reused from call to call.
func (r *replayer) replay(p *place.Problem, s *place.Schedule) float64 {
	n, nc := p.Nodes, len(p.Classes)
	r.index(p)
	r.arrive = resize(r.arrive, n)
	clear(r.arrive)
	r.free = resize(r.free, nc)
	for c, cl := range p.Classes {
		r.free[c] = cl.Instances
	}
	r.queues = resize(r.queues, nc)
	for c := range r.queues {
		r.queues[c] = r.queues[c][:0]
	}
	r.events = r.events[:0]
	for v := 0; v < n; v++ {
		if r.pending[v] == 0 {
			r.queues[s.Class[v]].push(replayWait{ready: 0, node: int32(v)})
		}
	}
	makespan, seq := 0.0, int32(0)
	// dispatch starts, on each class, the queued nodes ready by t while
	// an instance is free.
	dispatch := func(t float64) {
		for c := range r.queues {
			q := &r.queues[c]
			for r.free[c] > 0 && len(*q) > 0 && q.next() <= t {
				w := q.pop()
				r.free[c]--
				fin := t + p.Classes[c].StartupSeconds + p.Runtime[int(w.node)*nc+c]
				makespan = max(makespan, fin)
				r.events.push(replayEvent{t: fin, seq: seq, node: w.node})
				seq++
			}
		}
	}
	dispatch(0)
	for {
		t, ok := r.nextTime()
		if !ok {
			return makespan
		}
		for len(r.events) > 0 && r.events.next() == t {
			ev := r.events.pop()
			cf := int(s.Class[ev.node])
			r.free[cf]++
			for _, e := range r.outEdge[r.outStart[ev.node]:r.outStart[ev.node+1]] {
				to := p.EdgeTo[e]
				r.arrive[to] = max(r.arrive[to], t+p.Transfer(p.EdgeBytes[e], cf, int(s.Class[to])))
				if r.pending[to]--; r.pending[to] == 0 {
					r.queues[s.Class[to]].push(replayWait{ready: r.arrive[to], node: to})
				}
			}
		}
		dispatch(t)
	}
}

// index fills pending (each node's in-degree) and the out-edges of p in
// compressed rows (outEdge[outStart[v]:outStart[v+1]]).
func (r *replayer) index(p *place.Problem) {
	n := p.Nodes
	r.pending = resize(r.pending, n)
	clear(r.pending)
	r.outStart = resize(r.outStart, n+1)
	clear(r.outStart)
	for e, t := range p.EdgeTo {
		r.pending[t]++
		r.outStart[p.EdgeFrom[e]+1]++
	}
	for v := 0; v < n; v++ {
		r.outStart[v+1] += r.outStart[v]
	}
	r.outEdge = resize(r.outEdge, len(p.EdgeFrom))
	r.next = append(r.next[:0], r.outStart[:n]...)
	for e, f := range p.EdgeFrom {
		r.outEdge[r.next[f]] = int32(e)
		r.next[f]++
	}
}

// countUpstream indexes p (index) and counts each node's distinct
// upstream nodes (the nodes it has in-edges from); it returns their sum
// and leaves in pending where each node's list starts in one list of
// every node's, in node order, for eachUpstream.
func (r *replayer) countUpstream(p *place.Problem) int {
	r.index(p)
	last := r.next // free once index is done: the last upstream node seen
	for v := range last {
		last[v], r.pending[v] = -1, 0
	}
	for u := range int32(p.Nodes) {
		for _, e := range r.outEdge[r.outStart[u]:r.outStart[u+1]] {
			if t := p.EdgeTo[e]; last[t] != u {
				last[t] = u
				r.pending[t]++
			}
		}
	}
	total := int32(0)
	for v, n := range r.pending {
		r.pending[v], total = total, total+n
	}
	return int(total)
}

// eachUpstream calls fn(pos, u) for each distinct upstream node u of each
// node, nodes in order and each one's upstream nodes ascending, pos
// counting from where countUpstream, which must come first, put the
// node's list. It returns each node's list's end (r's buffer).
func (r *replayer) eachUpstream(p *place.Problem, fn func(pos, u int32)) []int32 {
	last := r.next
	for v := range last {
		last[v] = -1
	}
	for u := range int32(p.Nodes) {
		for _, e := range r.outEdge[r.outStart[u]:r.outStart[u+1]] {
			if t := p.EdgeTo[e]; last[t] != u {
				last[t] = u
				fn(r.pending[t], u)
				r.pending[t]++
			}
		}
	}
	return r.pending
}

// nextTime is when something can next happen: the next finish, or the
// earliest ready time at the head of a queue whose class has a free
// instance; false when neither remains.
func (r *replayer) nextTime() (float64, bool) {
	t, ok := 0.0, false
	if len(r.events) > 0 {
		t, ok = r.events.next(), true
	}
	for c, q := range r.queues {
		if r.free[c] > 0 && len(q) > 0 && (!ok || q.next() < t) {
			t, ok = q.next(), true
		}
	}
	return t, ok
}

// replayer holds replay's buffers.
type replayer struct {
	pending, outStart, outEdge, next []int32
	// arrive is the latest input arrival so far per node, in seconds.
	arrive []float64
	free   []int
	queues []replayQueue
	events replayEvents
}

// resize returns s with length n, reusing its array when large enough;
// the contents are not cleared.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// replayEvent is a node finishing at t; seq numbers the events in the
// order they were made.
type replayEvent struct {
	t    float64
	seq  int32
	node int32
}

// replayEvents is a min-heap (planner/pq) of nodes finishing: an item's
// Key is the finish time, its Tie the event's sequence (a total order, so
// the pop order does not depend on the heap's layout), its Val the node.
type replayEvents []pq.Item[int32]

func (h *replayEvents) push(e replayEvent) {
	pq.Push(h, pq.Item[int32]{Key: e.t, Tie: int64(e.seq), Val: e.node})
}

func (h *replayEvents) pop() replayEvent {
	x := pq.Pop(h)
	return replayEvent{t: x.Key, seq: int32(x.Tie), node: x.Val}
}

// next is the time of the non-empty heap's first event.
func (h replayEvents) next() float64 { return h[0].Key }

// replayWait is a ready node in its class's queue.
type replayWait struct {
	ready float64
	node  int32
}

// replayQueue is a min-heap (planner/pq) of ready nodes in
// place.DispatchBefore order (place.DispatchItem: ready time, then node, a
// total order).
type replayQueue []pq.Item[struct{}]

func (h *replayQueue) push(w replayWait) {
	pq.Push(h, place.DispatchItem(w.ready, int(w.node), struct{}{}))
}

func (h *replayQueue) pop() replayWait {
	x := pq.Pop(h)
	return replayWait{ready: x.Key, node: int32(x.Tie)}
}

// next is the ready time of the non-empty queue's first node.
func (h replayQueue) next() float64 { return h[0].Key }
