package plan

import (
	"math/rand/v2"
	"testing"

	"github.com/shardwise/shardwise/planner/place"
)

// TestReplayMatchesEventModel checks replay against the direct event
// model it shortcuts: every input's arrival an event of its own, a node
// queued when its last input arrives. Runtimes, start-ups and transfers
// are whole seconds, so that many events fall at the same time.
func TestReplayMatchesEventModel(t *testing.T) {
	var r replayer
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		p, s := randomReplayCase(rng)
		want := replayByArrivals(p, s)
		if got := r.replay(p, s); got != want {
			t.Fatalf("seed %d (%d nodes, %d edges): replay %g, event model %g", seed, p.Nodes, len(p.EdgeFrom), got, want)
		}
	}
}

// randomReplayCase is a random DAG on 2-4 classes with a random class per
// node.
func randomReplayCase(rng *rand.Rand) (*place.Problem, *place.Schedule) {
	nc := 2 + rng.IntN(3)
	p := &place.Problem{Nodes: 1 + rng.IntN(60)}
	for c := 0; c < nc; c++ {
		p.Classes = append(p.Classes, place.Class{Name: string(rune('a' + c)), Instances: 1 + rng.IntN(3),
			BandwidthBytes: float64(1 + rng.IntN(2)), StartupSeconds: float64(rng.IntN(3))})
	}
	p.Runtime = make([]float64, p.Nodes*nc)
	for i := range p.Runtime {
		p.Runtime[i] = float64(rng.IntN(5))
	}
	for v := 1; v < p.Nodes; v++ {
		for k := rng.IntN(4); k > 0; k-- {
			p.EdgeFrom = append(p.EdgeFrom, int32(rng.IntN(v)))
			p.EdgeTo = append(p.EdgeTo, int32(v))
			p.EdgeBytes = append(p.EdgeBytes, float64(rng.IntN(3)))
		}
	}
	s := &place.Schedule{Class: make([]int32, p.Nodes)}
	for v := range s.Class {
		s.Class[v] = int32(rng.IntN(nc))
	}
	return p, s
}

// replayByArrivals is replay's model run literally: one event per input
// arrival and per finish, in a heap by time then sequence; at each time
// every event is handled, then each class starts its queued nodes (ready
// time, then index) on its free instances.
func replayByArrivals(p *place.Problem, s *place.Schedule) float64 {
	type event struct {
		t      float64
		node   int32
		finish bool
	}
	nc := len(p.Classes)
	pending := make([]int, p.Nodes)
	for _, to := range p.EdgeTo {
		pending[to]++
	}
	free := make([]int, nc)
	for c, cl := range p.Classes {
		free[c] = cl.Instances
	}
	queues := make([]replayQueue, nc)
	var events []event // kept sorted by time, then insertion order
	push := func(e event) {
		i := len(events)
		for i > 0 && events[i-1].t > e.t {
			i--
		}
		events = append(events, event{})
		copy(events[i+1:], events[i:])
		events[i] = e
	}
	for v := 0; v < p.Nodes; v++ {
		if pending[v] == 0 {
			queues[s.Class[v]].push(replayWait{ready: 0, node: int32(v)})
		}
	}
	makespan := 0.0
	dispatch := func(t float64) {
		for c := range queues {
			for free[c] > 0 && len(queues[c]) > 0 {
				w := queues[c].pop()
				free[c]--
				fin := t + p.Classes[c].StartupSeconds + p.Runtime[int(w.node)*nc+c]
				makespan = max(makespan, fin)
				push(event{t: fin, node: w.node, finish: true})
			}
		}
	}
	dispatch(0)
	for len(events) > 0 {
		t := events[0].t
		for len(events) > 0 && events[0].t == t {
			ev := events[0]
			events = events[1:]
			if !ev.finish {
				if pending[ev.node]--; pending[ev.node] == 0 {
					queues[s.Class[ev.node]].push(replayWait{ready: t, node: ev.node})
				}
				continue
			}
			cf := int(s.Class[ev.node])
			free[cf]++
			for e, from := range p.EdgeFrom {
				if from == ev.node {
					to := p.EdgeTo[e]
					push(event{t: t + p.Transfer(p.EdgeBytes[e], cf, int(s.Class[to])), node: to})
				}
			}
		}
		dispatch(t)
	}
	return makespan
}
