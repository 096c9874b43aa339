// Package graph is Shardwise's task graph model: the tasks a user declares,
// the data edges between them, and the hints and split declarations that
// steer prediction and placement. It is the first stage of the flow
// graph -> predictions -> plan -> jobs; the translator fills it from HCL or a
// workflow trace, and the planner reads it.
//
// Every task, edge and split keeps the hcl.Range it was declared at, so that
// later stages (cycle detection, planning) can report errors at the user's
// text. Ranges are zero for graphs built in code.
package graph

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Kind is a task's dominant need, the workload profile the executor catalog
// rates each class on.
type Kind string

// Workload profiles. KindLatency marks work whose response time matters more
// than throughput (a service, or a task with a latency target).
const (
	KindCPU     Kind = "cpu"
	KindMemory  Kind = "memory"
	KindIO      Kind = "io"
	KindGPU     Kind = "gpu"
	KindLatency Kind = "latency"
)

// Kinds lists every workload profile in a stable order.
var Kinds = []Kind{KindCPU, KindMemory, KindIO, KindGPU, KindLatency}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// TaskType is the Nomad job type a task's shard runs as.
type TaskType string

// Task types: batch for finite work, service for long-running shards.
const (
	TypeBatch   TaskType = "batch"
	TypeService TaskType = "service"
)

// Graph is a directed acyclic graph of tasks joined by data edges.
//
// Tasks keep declaration order; Edges are derived from each task's Inputs and
// DependsOn by the translator (or built directly in code) and must be added
// with AddEdge so the adjacency index stays consistent.
type Graph struct {
	Name        string
	Datacenters []string
	Region      string
	Namespace   string
	// Priority is the Nomad job priority (1-100) of every shard's job; 0 means
	// Nomad's default (50).
	Priority int
	// Driver is the Nomad task driver of every shard ("raw_exec", "exec" or
	// "shard"); empty means the translator's default.
	Driver string

	Tasks []*Task
	Edges []*Edge

	DefRange hcl.Range

	index map[string]int
	succ  [][]int // edge indices out of each task
	pred  [][]int // edge indices into each task
}

// Task is one unit of work: a command and what it needs.
type Task struct {
	Name string
	// Signature groups tasks whose resource use is alike (one tool run on
	// different inputs); history is keyed by it. Defaults to Name.
	Signature string
	Type      TaskType

	Command   string
	Args      []string
	Env       map[string]string
	Artifacts []Artifact
	Outputs   []Output
	Inputs    []Input
	DependsOn []string

	Hints Hints
	Split *Split

	// InputBytes is the total size of the data the task reads in bytes, used
	// as the predictor's size feature. Zero means the sum of incoming edges.
	InputBytes int64
	// SharedInputBytes is the part of InputBytes that other tasks of the
	// graph read too (a reference database); the predictor's features are
	// the private part (InputBytes - SharedInputBytes) and this. 0 when
	// unknown or nothing is shared.
	SharedInputBytes int64

	DefRange hcl.Range
}

// Artifact is a file Nomad downloads into the task directory before the
// task starts (Nomad's artifact block).
type Artifact struct {
	Source      string
	Destination string
	Options     map[string]string
	DefRange    hcl.Range
}

// Output is a named piece of data a task produces.
type Output struct {
	Name string
	// Path is where the task writes it, relative to the task directory.
	Path string
	// Bytes is the declared size in bytes; 0 means unknown (predicted).
	Bytes int64
	// Stream marks outputs consumed while they are produced.
	Stream   bool
	DefRange hcl.Range
}

// Input names an upstream task's output that a task consumes.
type Input struct {
	Task   string
	Output string
	// Path is where the data is delivered, relative to the task directory.
	Path     string
	DefRange hcl.Range
}

// Hints are a user's optional knowledge of a task's needs. Zero values mean
// "not given".
type Hints struct {
	Kind         Kind
	CPU          int   // minimum CPU in MHz
	Cores        int   // minimum dedicated cores
	MemoryMiB    int64 // minimum memory in MiB
	DiskMiB      int64 // minimum ephemeral disk in MiB
	GPUs         int   // GPU count
	GPUMemoryMiB int64 // minimum memory per GPU in MiB
	// Runtime is the expected runtime on a reference class (speed 1.0).
	Runtime time.Duration
	// LatencyTarget is the wanted response time of a latency-bound task.
	LatencyTarget time.Duration
	// Executor pins the task to one executor class by name.
	Executor string
	DefRange hcl.Range
}

// Split declares a data-parallel task: its input can be cut into pieces that
// run as separate allocations, each finding its piece by NOMAD_ALLOC_INDEX.
type Split struct {
	// InputBytes is the total input size in bytes (0 if split by items).
	InputBytes int64
	// Items is the number of independent work items (0 if split by bytes).
	Items int
	// MaxShards bounds the number of pieces; 0 means no bound beyond capacity.
	MaxShards int
	DefRange  hcl.Range
}

// Edge is a dependency from one task to another. Edges from Input blocks
// carry data; plain depends_on edges carry none (Bytes 0, Output "").
type Edge struct {
	From, To string
	Output   string
	// Bytes is the declared size of the data in bytes; -1 means unknown, for
	// the predictor to estimate.
	Bytes    int64
	Stream   bool
	DefRange hcl.Range
}

// New returns an empty graph with the given name.
func New(name string) *Graph {
	return &Graph{Name: name, index: map[string]int{}}
}

// Grow makes room for n more tasks, so that adding them does not grow the
// task list and the name index step by step (a reader that knows how many
// tasks a file declares calls it first).
func (g *Graph) Grow(n int) {
	if len(g.Tasks) == 0 {
		g.index = make(map[string]int, n)
	}
	g.Tasks = slices.Grow(g.Tasks, n)
	g.succ = slices.Grow(g.succ, n)
	g.pred = slices.Grow(g.pred, n)
}

// AddTask appends t. It returns an error if a task of that name exists.
func (g *Graph) AddTask(t *Task) error {
	if g.index == nil {
		g.index = map[string]int{}
	}
	if _, ok := g.index[t.Name]; ok {
		return fmt.Errorf("duplicate task %q", t.Name)
	}
	if t.Signature == "" {
		t.Signature = t.Name
	}
	if t.Type == "" {
		t.Type = TypeBatch
	}
	g.index[t.Name] = len(g.Tasks)
	g.Tasks = append(g.Tasks, t)
	g.succ = append(g.succ, nil)
	g.pred = append(g.pred, nil)
	return nil
}

// AddEdge appends e. Both ends must be tasks of g, and distinct.
func (g *Graph) AddEdge(e *Edge) error {
	from, ok := g.index[e.From]
	if !ok {
		return fmt.Errorf("edge %s -> %s: unknown task %q", e.From, e.To, e.From)
	}
	to, ok := g.index[e.To]
	if !ok {
		return fmt.Errorf("edge %s -> %s: unknown task %q", e.From, e.To, e.To)
	}
	if from == to {
		return fmt.Errorf("edge %s -> %s: a task cannot depend on itself", e.From, e.To)
	}
	g.succ[from] = append(g.succ[from], len(g.Edges))
	g.pred[to] = append(g.pred[to], len(g.Edges))
	g.Edges = append(g.Edges, e)
	return nil
}

// Index returns the position of the named task in Tasks, or -1.
func (g *Graph) Index(name string) int {
	if i, ok := g.index[name]; ok {
		return i
	}
	return -1
}

// Task returns the named task, or nil.
func (g *Graph) Task(name string) *Task {
	if i, ok := g.index[name]; ok {
		return g.Tasks[i]
	}
	return nil
}

// Out returns the edges leaving task i. The slice is shared; do not modify.
func (g *Graph) Out(i int) []*Edge { return g.edges(g.succ[i]) }

// In returns the edges entering task i.
func (g *Graph) In(i int) []*Edge { return g.edges(g.pred[i]) }

// OutIdx and InIdx return edge indices (into Edges) without allocating.
func (g *Graph) OutIdx(i int) []int { return g.succ[i] }

// InIdx returns the indices into Edges of the edges entering task i.
func (g *Graph) InIdx(i int) []int { return g.pred[i] }

func (g *Graph) edges(idx []int) []*Edge {
	out := make([]*Edge, len(idx))
	for k, e := range idx {
		out[k] = g.Edges[e]
	}
	return out
}

// TopoOrder returns task indices in a topological order (Kahn's algorithm,
// ties broken by declaration order, so the result is deterministic). If the
// graph has a cycle it returns a *CycleError naming the tasks on one cycle.
func (g *Graph) TopoOrder() ([]int, error) {
	n := len(g.Tasks)
	indeg := make([]int, n)
	for _, e := range g.Edges {
		indeg[g.index[e.To]]++
	}
	order := make([]int, 0, n)
	queue := make([]int, 0, n)
	for i := 0; i < n; i++ {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		order = append(order, i)
		for _, ei := range g.succ[i] {
			j := g.index[g.Edges[ei].To]
			indeg[j]--
			if indeg[j] == 0 {
				queue = append(queue, j)
			}
		}
	}
	if len(order) == n {
		return order, nil
	}
	return nil, g.findCycle(indeg)
}

// CycleError reports a dependency cycle. Tasks lists the tasks on the cycle
// in edge order, the first repeated at the end (a -> b -> a).
type CycleError struct {
	Tasks []string
	// Ranges are the declarations of the tasks, parallel to Tasks.
	Ranges []hcl.Range
}

func (e *CycleError) Error() string {
	return "dependency cycle: " + strings.Join(e.Tasks, " -> ")
}

// WalkCycle follows next from node start until a node repeats, and
// returns the cycle that closed, in walk order (the repeated node once).
// next must stay within a set where every node has a next one, so the walk
// cannot end; Graph and the simulator use it to name a cycle that Kahn's
// algorithm found.
func WalkCycle(start int, next func(int) int) []int {
	seen := map[int]int{}
	var path []int
	for cur := start; ; cur = next(cur) {
		if at, ok := seen[cur]; ok {
			return path[at:]
		}
		seen[cur] = len(path)
		path = append(path, cur)
	}
}

// findCycle walks predecessors among the tasks Kahn's algorithm could not
// order (indeg > 0) until a task repeats; every such task has a predecessor
// in the same set, so the walk must close a cycle.
func (g *Graph) findCycle(indeg []int) *CycleError {
	start := -1
	for i, d := range indeg {
		if d > 0 {
			start = i
			break
		}
	}
	path := WalkCycle(start, func(cur int) int {
		for _, ei := range g.pred[cur] {
			if p := g.index[g.Edges[ei].From]; indeg[p] > 0 {
				return p
			}
		}
		return cur
	})
	// path follows predecessors; reverse it to follow edges.
	ce := &CycleError{}
	for k := len(path) - 1; k >= 0; k-- {
		t := g.Tasks[path[k]]
		ce.Tasks = append(ce.Tasks, t.Name)
		ce.Ranges = append(ce.Ranges, t.DefRange)
	}
	ce.Tasks = append(ce.Tasks, ce.Tasks[0])
	ce.Ranges = append(ce.Ranges, ce.Ranges[0])
	return ce
}

// DeclaredBytes returns the declared data size of e, or 0 when unknown.
func (e *Edge) DeclaredBytes() int64 {
	if e.Bytes < 0 {
		return 0
	}
	return e.Bytes
}
