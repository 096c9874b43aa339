// Package place is Shardwise's list scheduler: it assigns the nodes of a
// weighted DAG to executor classes, each a pool of identical instances, and
// predicts when each node starts and finishes.
//
// The algorithm is the Heterogeneous Earliest Finish Time (HEFT) list
// scheduler of H. Topcuoglu, S. Hariri and M.-Y. Wu, "Performance-effective
// and low-complexity task scheduling for heterogeneous computing", IEEE
// Transactions on Parallel and Distributed Systems 13(3):260-274, 2002,
// adapted to processors grouped in classes:
//
//   - Priorities are upward ranks: rank(n) = w̄(n) + max over successors s of
//     (c̄(n,s) + rank(s)), where w̄(n) is n's mean runtime plus start-up
//     latency over its feasible classes (its class's, when pinned) and c̄ is
//     the edge's bytes times the mean over class pairs of 1/min(bandwidth).
//   - Nodes are taken from a ready list in decreasing rank (ties: lower node
//     index), which equals HEFT's sorted order whenever ranks strictly
//     decrease along edges and stays topological when they do not (zero-cost
//     nodes).
//   - Each node goes to the class and instance that minimise its earliest
//     finish time EFT = EST + startup(class) + runtime(node, class), where
//     EST = max(instance free time, max over predecessors p of finish(p) +
//     transfer(p, n)) and transfer = bytes / min(bandwidth of both classes),
//     or 0 when both nodes are in the same Group (fused into one shard).
//
// Two variants are offered. The default, non-insertion variant keeps one
// free time per instance in a per-class min-heap and runs in
// O((V+E)·C + V·(log V + C·log I)) time and O(V+E) memory (V nodes, E edges,
// C classes, I instances per class); the planner uses it. Options.Insertion
// selects HEFT's insertion-based policy, which may start a node in an idle
// gap between two already scheduled nodes on an instance; it costs
// O(V·C·I·k) for k nodes per instance and serves as a baseline.
//
// Times are float seconds from the schedule's start, sizes bytes, bandwidths
// bytes per second. All state lives in slices indexed by node, edge or
// class; no per-node maps are used.
package place

import (
	"errors"
	"fmt"
	"math"
)

// Infeasible is the runtime of a node on a class that cannot run it.
var Infeasible = math.Inf(1)

// Class is one executor class: Instances identical processors.
type Class struct {
	Name string
	// Instances is how many nodes the class runs at once; it must be >= 1.
	Instances int
	// BandwidthBytes is the network bandwidth of one instance in bytes/s. It
	// must be positive; +Inf means transfers to and from the class are free.
	BandwidthBytes float64
	// StartupSeconds is the latency from placement to task start, added to
	// every node's runtime on the class.
	StartupSeconds float64
}

// Problem is a DAG of nodes with per-class runtimes and data edges.
//
// Runtime has Nodes*len(Classes) entries: Runtime[n*len(Classes)+c] is node
// n's runtime on class c in seconds, excluding start-up, or Infeasible. Edges
// are given as three parallel slices (coordinate form): an edge from node
// EdgeFrom[i] to node EdgeTo[i] carrying EdgeBytes[i] bytes. Group and Pin
// are optional (nil) and, when set, have Nodes entries.
type Problem struct {
	Classes []Class
	Nodes   int
	Runtime []float64
	// RankRuntime, when set, returns the runtime in seconds of node n on
	// class c that the upward ranks use in place of Runtime (it is asked
	// only for classes that can run n): a planner that knows each node's
	// spread returns high quantiles (p90) here, so that nodes whose long
	// tail could make them critical are scheduled earlier, while finish
	// times are still booked with Runtime. A function rather than a
	// second matrix, so that a planner need not keep one.
	RankRuntime func(n, c int) float64

	EdgeFrom  []int32
	EdgeTo    []int32
	EdgeBytes []float64

	// Group puts nodes in fusion groups: an edge between two nodes of the
	// same group costs no transfer. Nil means every node is its own group.
	Group []int32
	// Pin forces node n onto class Pin[n]; -1 leaves the choice free. A pin
	// does not hide the other feasible classes from Options.Alternatives.
	Pin []int32
}

// Options select the scheduling variant and what is recorded.
type Options struct {
	// Insertion selects HEFT's insertion-based policy instead of the
	// non-insertion (append at the instance's free time) policy.
	Insertion bool
	// Alternatives records each node's earliest finish time on every
	// feasible class at the moment it was scheduled (Schedule.Alt).
	Alternatives bool
	// LocalTransfersFree makes an edge between two nodes on the same
	// instance cost no transfer, as in Topcuoglu et al. (2002, section 3),
	// where a processor keeps the data it produced. Each instance of a class
	// then has its own data-ready time, and every instance is examined
	// (O(I) per class and node instead of O(log I) without insertion). Off
	// by default: Shardwise's allocations share no local disk, so data
	// between two shards always travels (see planner/simulate).
	LocalTransfersFree bool
	// Minimal leaves Schedule.Instance and Schedule.Order nil (Instance is
	// still kept with LocalTransfersFree, which reads it): for a caller
	// that reads only classes, times, bounds and alternatives, and keeps
	// several schedules.
	Minimal bool
}

// Schedule is the result of Run. Per-node slices have Problem.Nodes entries.
type Schedule struct {
	// Class and Instance are where each node runs (class index, instance
	// index within the class); Instance is nil with Options.Minimal.
	Class    []int32
	Instance []int32
	// Start is when the node takes its instance (its start-up begins), Finish
	// when it releases it: Finish = Start + startup + runtime, in seconds.
	Start  []float64
	Finish []float64
	// Order is the order in which nodes were scheduled; nil with
	// Options.Minimal.
	Order []int32
	// Bound is the node whose finish determined each node's start: the
	// predecessor whose data arrived last, or the node that held the
	// instance before; -1 when the node started at time 0.
	Bound []int32
	// Alt, when Options.Alternatives is set, holds Nodes*len(Classes)
	// earliest finish times in seconds (Infeasible where the node cannot
	// run); the chosen class's entry equals Finish.
	Alt []float64
	// Makespan is the largest Finish, in seconds.
	Makespan float64

	classes int
}

// Validate reports the first inconsistency in p: slice lengths, class
// settings, edge endpoints, pins on infeasible classes, and nodes that no
// class can run.
func (p *Problem) Validate() error {
	nc := len(p.Classes)
	if nc == 0 {
		return errors.New("place: no classes")
	}
	for _, c := range p.Classes {
		if err := c.validate(); err != nil {
			return err
		}
	}
	if p.Nodes < 0 || len(p.Runtime) != p.Nodes*nc {
		return fmt.Errorf("place: %d runtimes for %d nodes x %d classes", len(p.Runtime), p.Nodes, nc)
	}
	if err := p.validateEdges(); err != nil {
		return err
	}
	if p.Group != nil && len(p.Group) != p.Nodes {
		return fmt.Errorf("place: %d groups for %d nodes", len(p.Group), p.Nodes)
	}
	if p.Pin != nil && len(p.Pin) != p.Nodes {
		return fmt.Errorf("place: %d pins for %d nodes", len(p.Pin), p.Nodes)
	}
	return p.validateNodes()
}

func (c Class) validate() error {
	if c.Instances < 1 {
		return fmt.Errorf("place: class %q: %d instances, want >= 1", c.Name, c.Instances)
	}
	if !(c.BandwidthBytes > 0) {
		return fmt.Errorf("place: class %q: bandwidth %g bytes/s, want > 0", c.Name, c.BandwidthBytes)
	}
	if c.StartupSeconds < 0 || math.IsNaN(c.StartupSeconds) || math.IsInf(c.StartupSeconds, 0) {
		return fmt.Errorf("place: class %q: start-up %g s, want finite and >= 0", c.Name, c.StartupSeconds)
	}
	return nil
}

func (p *Problem) validateEdges() error {
	if len(p.EdgeTo) != len(p.EdgeFrom) || len(p.EdgeBytes) != len(p.EdgeFrom) {
		return fmt.Errorf("place: edge slices differ in length (%d, %d, %d)", len(p.EdgeFrom), len(p.EdgeTo), len(p.EdgeBytes))
	}
	for i, f := range p.EdgeFrom {
		t := p.EdgeTo[i]
		if f < 0 || int(f) >= p.Nodes || t < 0 || int(t) >= p.Nodes || f == t {
			return fmt.Errorf("place: edge %d: %d -> %d is not between two distinct nodes", i, f, t)
		}
		if b := p.EdgeBytes[i]; b < 0 || math.IsNaN(b) {
			return fmt.Errorf("place: edge %d: %g bytes", i, b)
		}
	}
	return nil
}

func (p *Problem) validateNodes() error {
	nc := len(p.Classes)
	for n := 0; n < p.Nodes; n++ {
		ok := false
		for c := 0; c < nc; c++ {
			r := p.Runtime[n*nc+c]
			if r < 0 || math.IsNaN(r) {
				return fmt.Errorf("place: node %d: runtime %g s on class %q", n, r, p.Classes[c].Name)
			}
			ok = ok || p.feasible(n, c)
		}
		if !ok {
			return fmt.Errorf("place: node %d: no feasible class", n)
		}
		if p.Pin != nil && p.Pin[n] >= 0 {
			if int(p.Pin[n]) >= nc || !p.feasible(n, int(p.Pin[n])) {
				return fmt.Errorf("place: node %d: pinned to class %d, which cannot run it", n, p.Pin[n])
			}
		}
	}
	return nil
}

// feasible reports whether class c can run node n.
func (p *Problem) feasible(n, c int) bool {
	return !math.IsInf(p.Runtime[n*len(p.Classes)+c], 1)
}

// pinned returns n's pinned class, or -1.
func (p *Problem) pinned(n int) int {
	if p.Pin == nil {
		return -1
	}
	return int(p.Pin[n])
}

// Transfer returns the seconds needed to move bytes from an instance of
// class a to one of class b: bytes / min(bandwidth of a, bandwidth of b).
func (p *Problem) Transfer(bytes float64, a, b int) float64 {
	if bytes == 0 {
		return 0
	}
	bw := min(p.Classes[a].BandwidthBytes, p.Classes[b].BandwidthBytes)
	return bytes / bw
}

// sameGroup reports whether nodes a and b exchange data without transfer.
func (p *Problem) sameGroup(a, b int) bool {
	return p.Group != nil && p.Group[a] == p.Group[b]
}

// Run schedules p and returns the schedule. It returns an error if p is
// inconsistent (see Validate) or has a cycle.
func Run(p *Problem, opt Options) (*Schedule, error) {
	return new(Workspace).Run(p, opt)
}

// Workspace holds the scratch buffers of Run (edge index, topological
// order, ready list, instance pools), so that a caller scheduling many
// problems one after another allocates them once. The zero value is
// ready; a Workspace serves one Run at a time.
type Workspace struct {
	adj                adjacency
	next, indeg, order []int32
	rank               []float64 // each node's upward rank (UpwardRank)
	sc                 scheduler
	// s is the schedule Makespan writes, reused from call to call, with
	// instance its instances when it has them.
	s        Schedule
	instance []int32
}

// Run is the package's Run with w's buffers. Only the returned Schedule
// is new; it shares nothing with w.
func (w *Workspace) Run(p *Problem, opt Options) (*Schedule, error) {
	topo, err := w.prepare(p)
	if err != nil {
		return nil, err
	}
	w.rank = upwardRank(p, &w.adj, topo, resize(w.rank, p.Nodes))
	s := newSchedule(p, opt)
	w.sc.reset(p, &w.adj, s, w.rank, opt)
	w.sc.run()
	return s, nil
}

// Makespan schedules p as Run does and returns only the schedule's
// makespan in seconds, the schedule itself written into w's buffers: for
// a caller that compares schedules and keeps none (the planner's
// single-class baselines), nothing is allocated once w's buffers are
// large enough.
func (w *Workspace) Makespan(p *Problem, opt Options) (float64, error) {
	topo, err := w.prepare(p)
	if err != nil {
		return 0, err
	}
	s := &w.s
	n := p.Nodes
	w.rank = upwardRank(p, &w.adj, topo, resize(w.rank, n))
	// Only what scheduling reads: classes and finishes, and instances when
	// LocalTransfersFree reads them; no starts, bounds or order.
	s.Class, s.Finish = resize(s.Class, n), resize(s.Finish, n)
	s.Instance, s.Start, s.Bound, s.Order = nil, nil, nil, nil
	if opt.LocalTransfersFree {
		w.instance = resize(w.instance, n)
		s.Instance = w.instance
	}
	opt.Minimal = true // no order
	s.Makespan, s.classes = 0, len(p.Classes)
	alt := s.Alt[:0]
	s.Alt = nil // scheduler.place writes Alt only when it is set
	if opt.Alternatives {
		s.Alt = resize(alt, n*len(p.Classes))
	}
	w.sc.reset(p, &w.adj, s, w.rank, opt)
	w.sc.run()
	return s.Makespan, nil
}

// UpwardRank returns each node's upward rank in seconds (see the package
// documentation), or an error if p is inconsistent or has a cycle.
func UpwardRank(p *Problem) ([]float64, error) {
	var w Workspace
	topo, err := w.prepare(p)
	if err != nil {
		return nil, err
	}
	return upwardRank(p, &w.adj, topo, make([]float64, p.Nodes)), nil
}

// prepare validates p, indexes its edges into w.adj and returns a
// topological order (in w's buffers), or an error if p is inconsistent or
// has a cycle.
func (w *Workspace) prepare(p *Problem) ([]int32, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	w.buildAdjacency(p)
	return w.topoOrder(p)
}

func newSchedule(p *Problem, opt Options) *Schedule {
	n := p.Nodes
	s := &Schedule{
		Class:   make([]int32, n),
		Start:   make([]float64, n),
		Finish:  make([]float64, n),
		Bound:   make([]int32, n),
		classes: len(p.Classes),
	}
	if !opt.Minimal || opt.LocalTransfersFree {
		s.Instance = make([]int32, n)
	}
	if !opt.Minimal {
		s.Order = make([]int32, 0, n)
	}
	if opt.Alternatives {
		s.Alt = make([]float64, n*len(p.Classes))
	}
	return s
}

// CriticalPath returns the nodes on the schedule's critical path, first to
// last: it starts at the node that finishes last (lowest index on ties) and
// follows Bound back to a node that started at time 0. Every node on it
// starts exactly when the previous one's finish (plus transfer) allows, so
// shortening any of them, or its transfer, is what can shorten the
// makespan. It returns nil for an empty schedule.
func (s *Schedule) CriticalPath() []int32 {
	last := int32(-1)
	for n, f := range s.Finish {
		if last < 0 || f > s.Finish[last] {
			last = int32(n)
		}
	}
	var path []int32
	for n := last; n >= 0; n = s.Bound[n] {
		path = append(path, n)
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path
}

// AltFinish returns node n's recorded earliest finish time on class c in
// seconds, or Infeasible; it panics unless the schedule was run with
// Options.Alternatives.
func (s *Schedule) AltFinish(n, c int) float64 {
	return s.Alt[n*s.classes+c]
}
