package runpage

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/plan"
)

// Display states of a shard on the page: the launcher's states, with a
// submitted shard shown as placed once Nomad has an allocation for it,
// and as re-planned while it waits on a class other than its planned one.
const (
	ShowPending   = "pending"
	ShowSubmitted = "submitted"
	ShowPlaced    = "placed"
	ShowReplanned = "re-planned"
	ShowRunning   = "running"
	ShowComplete  = "complete"
	ShowFailed    = "failed"
	ShowStopped   = "stopped"
	ShowSkipped   = "skipped"
)

// DisplayStates are the display states in the order the page lists them.
var DisplayStates = []string{ShowPending, ShowReplanned, ShowSubmitted, ShowPlaced, ShowRunning, ShowComplete, ShowFailed, ShowStopped, ShowSkipped}

// Run is the run as /api/run serves it. Times are seconds since the run
// started (Started), as Nomad recorded the tasks' start and finish.
type Run struct {
	Run   string `json:"run"`
	Graph string `json:"graph"`
	// NomadUI is the Nomad UI's address (NOMAD_ADDR/ui); each shard's
	// AllocURL is under it.
	NomadUI string    `json:"nomad_ui"`
	Started time.Time `json:"started"`
	// Now is when the server wrote this; ElapsedSeconds is Now-Started
	// (End-Started once the run has ended).
	Now            time.Time `json:"now"`
	ElapsedSeconds float64   `json:"elapsed_seconds"`
	// PredictedMakespanSeconds is the plan's.
	PredictedMakespanSeconds float64 `json:"predicted_makespan_seconds"`
	// Ended is set once the launcher (or the watch) has finished.
	Ended bool      `json:"ended"`
	End   time.Time `json:"end,omitzero"`
	// Counts are the shards in each display state.
	Counts  map[string]int `json:"counts"`
	Classes []ClassUse     `json:"classes"`
	// Shards are in plan order; a shard's index is its node's NodeID.
	Shards []Shard `json:"shards"`
}

// Shard is one shard of the run.
type Shard struct {
	ID  string `json:"id"`
	Job string `json:"job"`
	// Class is the executor class it is (to be) submitted to;
	// PlannedClass the plan's. Replanned is set when they differ.
	Class        string `json:"class"`
	PlannedClass string `json:"planned_class"`
	Replanned    bool   `json:"replanned,omitempty"`
	// State is the launcher's state (launcher.State's words: pending,
	// submitted, running, complete, failed, stopped, skipped); Display
	// the page's (see the Show constants).
	State   string `json:"state"`
	Display string `json:"display"`
	Attempt int    `json:"attempt,omitempty"`
	Node    string `json:"node,omitempty"`
	// Alloc is the allocation that shows how it runs; AllocURL its page
	// in Nomad's UI.
	Alloc    string   `json:"alloc,omitempty"`
	AllocURL string   `json:"alloc_url,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Upstream []string `json:"upstream,omitempty"`
	// Predicted times are the plan's, in seconds from the run's start.
	PredictedStartSeconds  float64 `json:"predicted_start_seconds"`
	PredictedFinishSeconds float64 `json:"predicted_finish_seconds"`
	PredictedSeconds       float64 `json:"predicted_seconds"`
	// StartSeconds and FinishSeconds are the actual times, absent until
	// known.
	StartSeconds  *float64 `json:"start_seconds,omitempty"`
	FinishSeconds *float64 `json:"finish_seconds,omitempty"`
}

// ClassUse is one executor class's use: the plan's instances of it, its
// shards running now, and the busy time (sum of the shards' actual run
// times, running ones up to now) against what the plan predicted.
type ClassUse struct {
	Class     string `json:"class"`
	Instances int    `json:"instances"`
	Shards    int    `json:"shards"`
	Running   int    `json:"running"`
	// Utilisation is BusySeconds / (Instances * elapsed seconds): the
	// share of the class's instances its shards held so far.
	Utilisation          float64 `json:"utilisation"`
	BusySeconds          float64 `json:"busy_seconds"`
	PredictedBusySeconds float64 `json:"predicted_busy_seconds"`
}

// ShardEvent is one "shard" event: the i-th shard as it now is, and the
// counts after the change.
type ShardEvent struct {
	Index  int            `json:"i"`
	Shard  Shard          `json:"shard"`
	Counts map[string]int `json:"counts"`
}

// Page is the live run page of one plan. It is a launcher.Progress; its
// methods are safe for concurrent use.
type Page struct {
	nomadUI string
	planned map[string]plan.ClassUse
	// classOrder is the plan's classes in its order.
	classOrder []string

	mu     sync.Mutex
	run    Run
	index  map[string]int
	subs   map[chan event]struct{}
	bufLen int

	graph *graphSVG
}

// event is one server-sent event.
type event struct {
	name string
	data []byte
}

// subBuffer is how many events a slow browser may fall behind before it
// is dropped; its EventSource reconnects and gets the whole run again.
const subBuffer = 4096

// New returns the page of plan p, whose allocations are linked under
// nomadAddr's UI (nomadAddr is the Nomad API address, NOMAD_ADDR). It
// lays the graph out in the background; /graph.svg waits for it. Every
// shard starts pending, the run's start is now until Start says.
func New(p *plan.Plan, nomadAddr string) *Page {
	pg := &Page{nomadUI: strings.TrimRight(nomadAddr, "/") + "/ui", planned: map[string]plan.ClassUse{},
		index: map[string]int{}, subs: map[chan event]struct{}{}, bufLen: subBuffer}
	pg.run = Run{Run: p.Run, Graph: p.Graph, NomadUI: pg.nomadUI, Started: time.Now(),
		PredictedMakespanSeconds: p.MakespanSeconds, Classes: []ClassUse{}}
	for _, c := range p.Classes {
		if c != nil {
			pg.planned[c.Class] = *c
			pg.classOrder = append(pg.classOrder, c.Class)
		}
	}
	for i, s := range p.Shards {
		pg.index[s.ID] = i
		pg.run.Shards = append(pg.run.Shards, Shard{ID: s.ID, Job: s.Job, Class: s.Class, PlannedClass: s.Class,
			State: launcher.Pending.String(), Display: ShowPending, Upstream: s.Upstream,
			PredictedStartSeconds: s.StartSeconds, PredictedFinishSeconds: s.FinishSeconds, PredictedSeconds: s.RuntimeSeconds.Value})
	}
	pg.graph = newGraphSVG(p)
	return pg
}

// Start takes the run's start time from the launcher.
func (pg *Page) Start(s launcher.Snapshot) {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if !s.Start.IsZero() {
		pg.run.Started = s.Start
	}
}

// Change applies one shard's change and sends it to every browser.
func (pg *Page) Change(c launcher.Change, _ launcher.Snapshot) {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	i, ok := pg.index[c.Shard]
	if !ok {
		return
	}
	sh := &pg.run.Shards[i]
	sh.State, sh.Attempt, sh.Reason = c.To.String(), c.Attempt, c.Reason
	if c.Class != "" {
		sh.Class = c.Class
	}
	sh.Replanned = sh.Class != sh.PlannedClass
	if c.Node != "" {
		sh.Node = c.Node
	}
	if c.Alloc != "" {
		sh.Alloc, sh.AllocURL = c.Alloc, pg.nomadUI+"/allocations/"+c.Alloc
	}
	pg.times(sh, c)
	sh.Display = display(*sh)
	b, err := json.Marshal(ShardEvent{Index: i, Shard: *sh, Counts: pg.counts()})
	if err == nil {
		pg.broadcast(event{name: "shard", data: b})
	}
}

// times sets the shard's actual start and finish from Nomad's task times,
// else from when the launcher saw it start or end.
func (pg *Page) times(sh *Shard, c launcher.Change) {
	rel := func(t time.Time) *float64 {
		v := t.Sub(pg.run.Started).Seconds()
		return &v
	}
	switch {
	case !c.Started.IsZero():
		sh.StartSeconds = rel(c.Started)
	case c.To == launcher.Running && sh.StartSeconds == nil:
		sh.StartSeconds = rel(c.Time)
	}
	switch {
	case !c.Finished.IsZero() && c.To != launcher.Running:
		sh.FinishSeconds = rel(c.Finished)
	case (c.To == launcher.Complete || c.To == launcher.Failed || c.To == launcher.Stopped) && sh.StartSeconds != nil && sh.FinishSeconds == nil:
		sh.FinishSeconds = rel(c.Time)
	case c.To == launcher.Running || c.To == launcher.Submitted:
		sh.FinishSeconds = nil
	}
}

// display is the page's state of a shard.
func display(sh Shard) string {
	switch sh.State {
	case launcher.Submitted.String():
		switch {
		case sh.Alloc != "":
			return ShowPlaced
		case sh.Replanned:
			return ShowReplanned
		}
		return ShowSubmitted
	case launcher.Pending.String():
		if sh.Replanned {
			return ShowReplanned
		}
	}
	return sh.State
}

// Finish marks the run ended and sends the final run to every browser,
// which then stops listening.
func (pg *Page) Finish(launcher.Snapshot) {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	pg.run.Ended = true
	pg.run.End = time.Now()
	b, err := json.Marshal(pg.snapshot(time.Now()))
	if err == nil {
		pg.broadcast(event{name: "end", data: b})
	}
	for ch := range pg.subs {
		close(ch)
		delete(pg.subs, ch)
	}
}

// Snapshot returns the run as it stands at now.
func (pg *Page) Snapshot(now time.Time) Run {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	return pg.snapshot(now)
}

// snapshot is Snapshot with pg.mu held.
func (pg *Page) snapshot(now time.Time) Run {
	r := pg.run
	r.Shards = append([]Shard(nil), pg.run.Shards...)
	r.Now = now
	end := now
	if r.Ended {
		end = r.End
	}
	r.ElapsedSeconds = end.Sub(r.Started).Seconds()
	r.Counts = pg.counts()
	r.Classes = pg.classes(r.ElapsedSeconds)
	return r
}

// counts counts the shards in each display state.
func (pg *Page) counts() map[string]int {
	m := make(map[string]int, len(DisplayStates))
	for _, st := range DisplayStates {
		m[st] = 0
	}
	for _, sh := range pg.run.Shards {
		m[sh.Display]++
	}
	return m
}

// classes computes each class's use at elapsed seconds into the run, in
// the plan's class order, then any class only a re-plan brought in.
func (pg *Page) classes(elapsed float64) []ClassUse {
	var order []string
	by := map[string]*ClassUse{}
	add := func(name string) *ClassUse {
		if c := by[name]; c != nil {
			return c
		}
		pc := pg.planned[name]
		c := &ClassUse{Class: name, Instances: pc.Instances, PredictedBusySeconds: pc.BusySeconds}
		by[name] = c
		order = append(order, name)
		return c
	}
	for _, name := range pg.classOrder {
		add(name)
	}
	for _, sh := range pg.run.Shards {
		c := add(sh.Class)
		c.Shards++
		if sh.State == launcher.Running.String() {
			c.Running++
		}
		if sh.StartSeconds != nil {
			end := elapsed
			if sh.FinishSeconds != nil {
				end = *sh.FinishSeconds
			}
			c.BusySeconds += max(0, end-*sh.StartSeconds)
		}
	}
	out := make([]ClassUse, 0, len(order))
	for _, name := range order {
		c := by[name]
		if c.Instances > 0 && elapsed > 0 {
			c.Utilisation = c.BusySeconds / (float64(c.Instances) * elapsed)
		}
		out = append(out, *c)
	}
	return out
}

// subscribe returns a channel of the run's events, starting with the
// whole run, and a function to stop. After the run has ended the channel
// holds only the "end" event and is closed.
func (pg *Page) subscribe() (ch chan event, cancel func()) {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	ch = make(chan event, pg.bufLen+2)
	b, _ := json.Marshal(pg.snapshot(time.Now()))
	if pg.run.Ended {
		ch <- event{name: "end", data: b}
		close(ch)
		return ch, func() {}
	}
	ch <- event{name: "run", data: b}
	pg.subs[ch] = struct{}{}
	return ch, func() {
		pg.mu.Lock()
		defer pg.mu.Unlock()
		if _, ok := pg.subs[ch]; ok {
			delete(pg.subs, ch)
			close(ch)
		}
	}
}

// broadcast sends e to every subscriber, dropping one whose buffer is
// full (it reconnects and starts over from the whole run). pg.mu is held.
func (pg *Page) broadcast(e event) {
	for ch := range pg.subs {
		select {
		case ch <- e:
		default:
			delete(pg.subs, ch)
			close(ch)
		}
	}
}
