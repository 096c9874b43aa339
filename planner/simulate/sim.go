package simulate

import "fmt"

// EventKind names what happened at an Event.
type EventKind string

// Event kinds, in the order they happen to one shard.
const (
	// EventReady: the shard's upstream shards finished and its channels
	// arrived; it joins its class's queue (with Options.Dispatch: the
	// launcher's, which registers it).
	EventReady EventKind = "ready"
	// EventRegistered: with Options.Dispatch, the shard's job was
	// registered; it joins its class's queue.
	EventRegistered EventKind = "registered"
	// EventStart: the shard took an instance; start-up latency begins.
	EventStart EventKind = "start"
	// EventFinish: the shard finished and freed its instance.
	EventFinish EventKind = "finish"
	// EventTransfer: a channel's transfer began (its producer finished).
	EventTransfer EventKind = "transfer"
	// EventArrive: a channel's data reached its consumer.
	EventArrive EventKind = "arrive"
)

// Event is one step of a simulated run.
type Event struct {
	// TimeSeconds is when it happened, in seconds from the run's start.
	TimeSeconds float64
	Kind        EventKind
	// Shard is the shard the event concerns: for transfer and arrive
	// events, the consumer.
	Shard string
	// Channel is the channel's ID for transfer and arrive events.
	Channel string
	// Class is the class of Shard.
	Class string
	// Instance is the instance number for start and finish events, -1
	// otherwise.
	Instance int
}

// sim is the state of one simulated run.
type sim struct {
	m       *model
	events  eventHeap
	seq     uint64
	pending []int
	queues  []readyQueue
	pools   []instances
	runs    []ShardRun
	done    int
	// running[c] are the shards holding an instance of class c.
	running [][]int
	record  bool
	log     []Event
	// The launcher's registrar (Options.Dispatch): shards handed to it and
	// waiting for a registration slot, and the registrations in flight.
	dispatchModel Dispatch
	registrar     readyQueue
	registering   int
	// schedFree is when the scheduler is done with its last placement
	// (Dispatch.PlaceSeconds).
	schedFree float64
	// With Dispatch.Congestion: every finish time so far (in time
	// order), the first of them still in the trailing window, and the
	// shards finished at the current instant whose release waits for
	// the instant's last finish to be counted.
	finishTimes []float64
	windowFrom  int
	releasing   []int
}

func newSim(m *model, record bool) *sim {
	s := &sim{
		m:       m,
		pending: append([]int(nil), m.pending...),
		queues:  make([]readyQueue, len(m.classes)),
		pools:   make([]instances, len(m.classes)),
		runs:    make([]ShardRun, len(m.ids)),
		running: make([][]int, len(m.classes)),
		record:  record,
	}
	for c, cl := range m.classes {
		s.pools[c].capacity = cl.Instances
	}
	for i, id := range m.ids {
		s.runs[i] = ShardRun{ID: id, Class: m.classes[m.class[i]].Name, Instance: -1}
	}
	return s
}

// run applies events in time order until none is left. At each instant it
// first applies every event of that instant, then starts what can start.
func (s *sim) run() error {
	for i, n := range s.pending {
		if n == 0 {
			if err := s.ready(i, 0); err != nil {
				return err
			}
		}
	}
	s.register(0)
	s.dispatch(0)
	for s.events.Len() > 0 {
		t := s.events.next()
		for s.events.Len() > 0 && s.events.next() == t {
			if err := s.apply(s.events.pop()); err != nil {
				return err
			}
		}
		s.settle(t)
		s.register(t)
		s.dispatch(t)
	}
	if s.done != len(s.runs) {
		// Unreachable for an acyclic model with positive capacities.
		return fmt.Errorf("simulate: %d of %d shards never ran", len(s.runs)-s.done, len(s.runs))
	}
	return nil
}

func (s *sim) push(t float64, kind EventKind, idx int) {
	s.events.push(event{t: t, seq: s.seq, kind: kind, idx: idx})
	s.seq++
}

func (s *sim) apply(e event) error {
	switch e.kind {
	case eventHandOver:
		s.registrar.push(waiting{ready: s.runs[e.idx].ReadySeconds, shard: e.idx})
		return nil
	case EventRegistered:
		s.registering--
		s.queue(e.idx, e.t)
		return nil
	case EventFinish:
		return s.finish(e.idx, e.t)
	case eventRelease:
		s.pools[s.m.class[e.idx]].free(s.runs[e.idx].Instance)
		return nil
	case eventPlace:
		s.start(e.idx, s.runs[e.idx].Instance, e.t)
		return nil
	case EventArrive:
		to := s.m.chanTo[e.idx]
		s.note(e.t, EventArrive, to, s.m.chanID[e.idx], -1)
		return s.satisfy(to, e.t)
	}
	return nil
}

// finish frees shard i's instance (after Dispatch.ReleaseSeconds, or,
// with Dispatch.Congestion, once the instant's finishes are counted:
// settle), releases the shards waiting on it and starts its outgoing
// transfers.
func (s *sim) finish(i int, t float64) error {
	r := &s.runs[i]
	c := s.m.class[i]
	if s.dispatchModel.Congestion.SecondsPerRate > 0 {
		s.finishTimes = append(s.finishTimes, t)
		s.releasing = append(s.releasing, i)
	} else if rel := s.dispatchModel.ReleaseSeconds; rel > 0 {
		s.push(t+rel, eventRelease, i)
	} else {
		s.pools[c].free(r.Instance)
	}
	s.done++
	s.running[c] = remove(s.running[c], i)
	s.note(t, EventFinish, i, "", r.Instance)
	if s.m.binder != nil {
		s.m.binder.Finished(i, r.Class, t, r.RuntimeSeconds, s.m.taskTimes(i))
	}
	for _, j := range s.m.waiters[i] {
		if err := s.satisfy(j, t); err != nil {
			return err
		}
	}
	for _, k := range s.m.out[i] {
		s.note(t, EventTransfer, s.m.chanTo[k], s.m.chanID[k], -1)
		secs := s.m.chanSecs[k]
		if s.m.binder != nil {
			secs = s.m.transferNow(k)
		}
		s.push(t+secs, EventArrive, k)
	}
	return nil
}

// settle schedules the release of the instances freed at instant t
// (Dispatch.Congestion): the completion rate counts every finish in
// (t - WindowSeconds, t], those of t included.
func (s *sim) settle(t float64) {
	if len(s.releasing) == 0 {
		return
	}
	cong := s.dispatchModel.Congestion
	for s.windowFrom < len(s.finishTimes) && s.finishTimes[s.windowFrom] <= t-cong.WindowSeconds {
		s.windowFrom++
	}
	rate := float64(len(s.finishTimes)-s.windowFrom) / cong.WindowSeconds
	rel := s.dispatchModel.ReleaseSeconds + cong.extra(rate)
	for _, i := range s.releasing {
		if rel > 0 {
			s.push(t+rel, eventRelease, i)
		} else {
			s.pools[s.m.class[i]].free(s.runs[i].Instance)
		}
	}
	s.releasing = s.releasing[:0]
}

// remove deletes v from xs, keeping the order of the rest.
func remove(xs []int, v int) []int {
	for k, x := range xs {
		if x == v {
			return append(xs[:k], xs[k+1:]...)
		}
	}
	return xs
}

// satisfy counts one of shard j's dependencies as met at time t.
func (s *sim) satisfy(j int, t float64) error {
	s.pending[j]--
	if s.pending[j] == 0 {
		return s.ready(j, t)
	}
	return nil
}

func (s *sim) ready(i int, t float64) error {
	if s.m.binder != nil {
		if err := s.rebind(i, t); err != nil {
			return err
		}
	}
	s.runs[i].ReadySeconds = t
	s.note(t, EventReady, i, "", -1)
	if s.dispatchModel.registersAtOnce() {
		s.queue(i, t)
		return nil
	}
	s.push(t+s.dispatchModel.ReactionSeconds, eventHandOver, i)
	return nil
}

// queue puts registered shard i in its class's queue at time t.
func (s *sim) queue(i int, t float64) {
	s.runs[i].RegisteredSeconds = t
	s.queues[s.m.class[i]].push(waiting{ready: t, shard: i})
	if !s.dispatchModel.registersAtOnce() {
		s.note(t, EventRegistered, i, "", -1)
	}
}

// register starts the registrations the registrar has room for at time t,
// in place.DispatchBefore order.
func (s *sim) register(t float64) {
	limit := s.dispatchModel.RegisterConcurrency
	for s.registrar.Len() > 0 && (limit <= 0 || s.registering < limit) {
		w := s.registrar.pop()
		s.registering++
		s.push(t+s.dispatchModel.RegisterSeconds, EventRegistered, w.shard)
	}
}

// dispatch starts queued shards on free instances, class by class. With
// Dispatch.PlaceSeconds, the shards that found their instance free when
// registered go through the scheduler one at a time, in
// place.DispatchBefore order (registration time, then plan order), and
// start when it has placed them.
func (s *sim) dispatch(t float64) {
	var fresh readyQueue
	for c := range s.queues {
		for s.queues[c].Len() > 0 && s.pools[c].available() {
			w := s.queues[c].pop()
			inst, _ := s.pools[c].take()
			if s.dispatchModel.PlaceSeconds == 0 || w.ready < t {
				// Placed at once, or handed the instance after waiting
				// for it (the release holds its scheduling).
				s.start(w.shard, inst, t)
				continue
			}
			s.runs[w.shard].Instance = inst
			fresh.push(w)
		}
	}
	for fresh.Len() > 0 {
		w := fresh.pop()
		s.schedFree = max(t, s.schedFree) + s.dispatchModel.PlaceSeconds
		s.push(s.schedFree, eventPlace, w.shard)
	}
}

func (s *sim) start(i, inst int, t float64) {
	r := &s.runs[i]
	r.Instance = inst
	r.StartSeconds = t
	r.StartupSeconds = s.m.startup[s.m.class[i]]
	r.RuntimeSeconds = s.m.runtime[i]
	r.FinishSeconds = t + r.StartupSeconds + r.RuntimeSeconds
	s.running[s.m.class[i]] = append(s.running[s.m.class[i]], i)
	s.note(t, EventStart, i, "", inst)
	s.push(r.FinishSeconds, EventFinish, i)
}

func (s *sim) note(t float64, kind EventKind, shard int, channel string, inst int) {
	if !s.record {
		return
	}
	s.log = append(s.log, Event{
		TimeSeconds: t, Kind: kind, Shard: s.m.ids[shard], Channel: channel,
		Class: s.runs[shard].Class, Instance: inst,
	})
}

// result summarises the finished run.
func (s *sim) result() *Result {
	r := &Result{Shards: s.runs, BytesMoved: s.m.bytes, Allocations: len(s.runs), Events: s.log}
	for _, run := range s.runs {
		r.MakespanSeconds = max(r.MakespanSeconds, run.FinishSeconds)
	}
	r.Classes = make([]ClassStats, len(s.m.classes))
	for c, cl := range s.m.classes {
		r.Classes[c] = ClassStats{Class: cl.Name, Instances: cl.Instances, InstancesUsed: s.pools[c].fresh}
	}
	for i, run := range s.runs {
		cs := &r.Classes[s.m.class[i]]
		cs.Shards++
		cs.BusySeconds += run.StartupSeconds + run.RuntimeSeconds
		cs.StartupSeconds += run.StartupSeconds
	}
	if r.MakespanSeconds > 0 {
		for c := range r.Classes {
			cs := &r.Classes[c]
			cs.Utilisation = cs.BusySeconds / (float64(cs.Instances) * r.MakespanSeconds)
		}
	}
	return r
}
