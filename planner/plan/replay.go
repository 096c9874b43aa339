package plan

import (
	"container/heap"

	"github.com/shardwise/shardwise/planner/place"
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
// It costs O((V+E) log(V+E)) time and O(V+E) memory.
func replay(p *place.Problem, s *place.Schedule) float64 {
	n, nc := p.Nodes, len(p.Classes)
	pending := make([]int32, n)
	out := make([][]int32, n)
	for e, t := range p.EdgeTo {
		pending[t]++
		out[p.EdgeFrom[e]] = append(out[p.EdgeFrom[e]], int32(e))
	}
	free := make([]int, nc)
	for c, cl := range p.Classes {
		free[c] = cl.Instances
	}
	queues := make([]replayQueue, nc)
	var events replayEvents
	seq := 0
	push := func(t float64, node int32, finish bool) {
		heap.Push(&events, replayEvent{t: t, seq: seq, node: node, finish: finish})
		seq++
	}
	ready := func(v int32, t float64) {
		c := s.Class[v]
		heap.Push(&queues[c], replayWait{ready: t, node: v})
	}
	for v := 0; v < n; v++ {
		if pending[v] == 0 {
			ready(int32(v), 0)
		}
	}
	makespan := 0.0
	dispatch := func(t float64) {
		for c := range queues {
			for free[c] > 0 && queues[c].Len() > 0 {
				w := heap.Pop(&queues[c]).(replayWait)
				free[c]--
				fin := t + p.Classes[c].StartupSeconds + p.Runtime[int(w.node)*nc+c]
				makespan = max(makespan, fin)
				push(fin, w.node, true)
			}
		}
	}
	dispatch(0)
	for events.Len() > 0 {
		t := events[0].t
		for events.Len() > 0 && events[0].t == t {
			ev := heap.Pop(&events).(replayEvent)
			if !ev.finish {
				if pending[ev.node]--; pending[ev.node] == 0 {
					ready(ev.node, t)
				}
				continue
			}
			free[s.Class[ev.node]]++
			for _, e := range out[ev.node] {
				to := p.EdgeTo[e]
				arrive := t + p.Transfer(p.EdgeBytes[e], int(s.Class[ev.node]), int(s.Class[to]))
				push(arrive, to, false)
			}
		}
		dispatch(t)
	}
	return makespan
}

// replayEvent is a node finishing (finish) or one of its inputs arriving.
type replayEvent struct {
	t      float64
	seq    int
	node   int32
	finish bool
}

type replayEvents []replayEvent

func (h replayEvents) Len() int { return len(h) }
func (h replayEvents) Less(a, b int) bool {
	if h[a].t != h[b].t {
		return h[a].t < h[b].t
	}
	return h[a].seq < h[b].seq
}
func (h replayEvents) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *replayEvents) Push(x any)   { *h = append(*h, x.(replayEvent)) }
func (h *replayEvents) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// replayWait is a ready node in its class's queue.
type replayWait struct {
	ready float64
	node  int32
}

type replayQueue []replayWait

func (q replayQueue) Len() int { return len(q) }
func (q replayQueue) Less(a, b int) bool {
	return place.DispatchBefore(q[a].ready, int(q[a].node), q[b].ready, int(q[b].node))
}
func (q replayQueue) Swap(a, b int) { q[a], q[b] = q[b], q[a] }
func (q *replayQueue) Push(x any)   { *q = append(*q, x.(replayWait)) }
func (q *replayQueue) Pop() any {
	old := *q
	w := old[len(old)-1]
	*q = old[:len(old)-1]
	return w
}
