package predict

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/shardwise/shardwise/planner/graph"
)

// Table holds a Need for every (task, class) pair.
//
// A table made by Predict is stored factored, as Predict computes it: what
// does not depend on the class (memory, IO, GPUs, output bytes, the
// runtime's quantiles and CPU before the class is applied, uncertainties
// and sources) once per task, and per pair only the reason the class
// cannot run the task (an index; none when it can). A pair's runtime
// quantiles and CPU are computed when read, exactly as Predict computed
// them: the task's divided by the class's speed for the task's kind, the
// CPU capped at the class's unless a hint set it. Sources and reasons are
// small indexes, so the factored form holds no pointers for the garbage
// collector to scan and takes about an eighth of the memory of one Need
// per pair. At, which hands out a pointer for writing, expands such a table
// into one Need per pair the first time it is called; the read accessors
// (Need, Runtime, Feasible, Why) read either form and never expand. A
// table from NewTable holds one Need per pair from the start.
//
// Concurrent reads (accessors and At) are safe; writes through At's
// pointers are not safe against concurrent reads of the same pair.
type Table struct {
	// Classes are the catalog's class names, in catalog order.
	Classes []string
	// Kinds is the dominant workload profile of each task, by task index.
	Kinds []graph.Kind

	n int // tasks

	// The factored form: tasks[t] and why[t*len(Classes)+c], the index in
	// whys of the reason class c cannot run task t (0, "", when it can);
	// whys holds the distinct reasons (whys[0] is ""), appended under
	// whyMu while Predict fills the table. speed[r*len(Classes)+c] is
	// class c's speed for the kind of speed row r (the rows of
	// graph.Kinds, then any other kind a task has, added under whyMu);
	// cpuCap[c] is class c's CPU in MHz, 0 when it sets none.
	tasks  []taskNeed
	why    []int32
	whyMu  sync.Mutex
	whys   []string
	whyOf  map[string]int32 // index of each reason in whys
	speed  []float64
	rowOf  map[graph.Kind]int32 // speed rows of kinds not in graph.Kinds
	cpuCap []float64
	speeds func(graph.Kind) []float64 // a new row's speeds, per class

	// The expanded form, one Need per pair: set by NewTable, or by At's
	// first call on a factored table (under once; expanded is set after
	// needs is filled, so readers that see it may read needs).
	once     sync.Once
	expanded atomic.Bool
	needs    []Need
}

// The estimates a factored table keeps per task, by index into
// taskNeed's arrays.
const (
	estRuntime = iota
	estCPU
	estMemory
	estIO
	estGPUs
	estOutput
	numEst
)

// taskNeed is what a factored table holds once per task: the Need fields
// that are the same on every class, and what a pair's runtime and CPU are
// computed from (see Table.values): runtime's Value and p90 at speed 1.0,
// CPU's Value before a class caps it. Each estimate is its value,
// uncertainty, N (as int32) and Source (an index into sourceNames), kept
// in arrays by field so that no padding comes between them: 144 bytes.
type taskNeed struct {
	value, uncertainty [numEst]float64
	p90                float64
	n                  [numEst]int32
	source             [numEst]uint8
	cpuHint            bool  // a hint set the CPU: no class caps it
	row                int32 // the task's kind's row of Table.speed
}

// set stores e as estimate i (no P90: only the runtime has one, kept
// apart).
func (tn *taskNeed) set(i int, e Estimate) {
	tn.value[i], tn.uncertainty[i], tn.n[i], tn.source[i] = e.Value, e.Uncertainty, int32(e.N), sourceIndex(e.Source)
}

// estimate returns estimate i (no P90).
func (tn *taskNeed) estimate(i int) Estimate {
	return Estimate{Value: tn.value[i], Uncertainty: tn.uncertainty[i], N: int(tn.n[i]), Source: sourceName(tn.source[i])}
}

// sourceNames are the Sources a factored table stores by index: the known
// ones, then any other a Predictor produced (appended under sourceMu).
var (
	sourceMu    sync.RWMutex
	sourceNames = []Source{"", FromHistory, FromHint, FromDefault}
)

// sourceIndex returns s's index in sourceNames, adding it if new.
func sourceIndex(s Source) uint8 {
	switch s {
	case "":
		return 0
	case FromHistory:
		return 1
	case FromHint:
		return 2
	case FromDefault:
		return 3
	}
	sourceMu.Lock()
	defer sourceMu.Unlock()
	i := slices.Index(sourceNames, s)
	if i < 0 {
		if len(sourceNames) > 255 {
			panic("predict: more than 256 distinct estimate sources")
		}
		i = len(sourceNames)
		sourceNames = append(sourceNames, s)
	}
	return uint8(i)
}

// knownSources are sourceNames' first entries, read without the lock.
var knownSources = [...]Source{"", FromHistory, FromHint, FromDefault}

// sourceName returns the Source with index i.
func sourceName(i uint8) Source {
	if int(i) < len(knownSources) {
		return knownSources[i]
	}
	sourceMu.RLock()
	defer sourceMu.RUnlock()
	return sourceNames[i]
}

// NewTable allocates a table for n tasks and the given classes, one zero
// Need per pair, for callers that fill it through At.
func NewTable(n int, classes []string) *Table {
	tb := &Table{Classes: classes, Kinds: make([]graph.Kind, n), n: n, needs: make([]Need, n*len(classes))}
	tb.once.Do(func() {})
	tb.expanded.Store(true)
	return tb
}

// newFactored allocates a factored table for n tasks and the given
// classes, whose speed for a kind speeds returns (one per class, in
// order) and whose CPU in MHz cpuCap holds (0 for none); Predict fills it
// with setTask and setWhy.
func newFactored(n int, classes []string, speeds func(graph.Kind) []float64, cpuCap []float64) *Table {
	tb := &Table{Classes: classes, Kinds: make([]graph.Kind, n), n: n,
		tasks: make([]taskNeed, n), why: make([]int32, n*len(classes)), whys: []string{""},
		speeds: speeds, cpuCap: cpuCap}
	for _, k := range graph.Kinds {
		tb.speed = append(tb.speed, speeds(k)...)
	}
	return tb
}

// setTask stores task t's estimates in a factored table: its runtime and
// CPU before a class is applied (see values), of kind k.
func (tb *Table) setTask(t int, k graph.Kind, runtime, cpu Estimate, cpuHint bool, mem, io, gpus, out Estimate) {
	tn := &tb.tasks[t]
	for i, e := range [numEst]Estimate{estRuntime: runtime, estCPU: cpu, estMemory: mem, estIO: io, estGPUs: gpus, estOutput: out} {
		tn.set(i, e)
	}
	tn.p90, tn.row, tn.cpuHint = runtime.P90, tb.speedRow(k), cpuHint
}

// speedRow returns kind k's row of speed, adding one for a kind not in
// graph.Kinds. Safe for concurrent use while Predict fills the table.
func (tb *Table) speedRow(k graph.Kind) int32 {
	if i := slices.Index(graph.Kinds, k); i >= 0 {
		return int32(i)
	}
	tb.whyMu.Lock()
	defer tb.whyMu.Unlock()
	if r, ok := tb.rowOf[k]; ok {
		return r
	}
	if tb.rowOf == nil {
		tb.rowOf = map[graph.Kind]int32{}
	}
	r := int32(len(tb.speed) / len(tb.Classes))
	tb.speed = append(tb.speed, tb.speeds(k)...)
	tb.rowOf[k] = r
	return r
}

// values returns, in a factored table, task t's runtime p50 and p90 in
// seconds and its CPU in MHz on class c: the task's runtime quantiles
// divided by the class's speed for its kind, and its CPU capped at the
// class's unless a hint set it, the operations Predict made.
func (tb *Table) values(t, c int) (p50, p90, cpu float64) {
	p50, p90 = tb.quantiles(t, c)
	tn := &tb.tasks[t]
	cpu = tn.value[estCPU]
	if limit := tb.cpuCap[c]; !tn.cpuHint && limit > 0 {
		cpu = math.Min(cpu, limit)
	}
	return p50, p90, cpu
}

// quantiles is values' runtime p50 and p90 alone (the ranks and the
// spreads read them for every task and class).
func (tb *Table) quantiles(t, c int) (p50, p90 float64) {
	tn := &tb.tasks[t]
	sp := tb.speed[int(tn.row)*len(tb.Classes)+c]
	return tn.value[estRuntime] / sp, tn.p90 / sp
}

// setWhy stores the index in whys of the reason class c cannot run task t
// (0 when it can).
func (tb *Table) setWhy(t, c int, why int32) { tb.why[t*len(tb.Classes)+c] = why }

// whyIndex returns the index of reason why in a factored table's whys,
// adding it (as a string of its own) if new. Safe for concurrent use while
// Predict fills the table.
func (tb *Table) whyIndex(why []byte) int32 {
	if len(why) == 0 {
		return 0
	}
	tb.whyMu.Lock()
	defer tb.whyMu.Unlock()
	if i, ok := tb.whyOf[string(why)]; ok { // no string is made to look up
		return i
	}
	if tb.whyOf == nil {
		tb.whyOf = map[string]int32{}
	}
	i, s := int32(len(tb.whys)), string(why)
	tb.whys = append(tb.whys, s)
	tb.whyOf[s] = i
	return i
}

// At returns the need of task t (index into Graph.Tasks) on class c (index
// into Classes), for reading or writing; on a factored table the first call
// expands it (see Table). It panics if either index is out of range.
func (tb *Table) At(t, c int) *Need {
	if !tb.expanded.Load() {
		tb.once.Do(tb.expand)
	}
	return &tb.needs[t*len(tb.Classes)+c]
}

// expand fills needs from the factored form. The factored form is kept:
// readers that saw the table unexpanded may still be reading it.
func (tb *Table) expand() {
	needs := make([]Need, len(tb.why))
	for i := range needs {
		needs[i] = tb.factored(i/len(tb.Classes), i%len(tb.Classes))
	}
	tb.needs = needs
	tb.expanded.Store(true)
}

// factored assembles the Need of task t on class c from the factored form.
func (tb *Table) factored(t, c int) Need {
	tn, why := &tb.tasks[t], tb.why[t*len(tb.Classes)+c]
	n := Need{Feasible: why == 0, Why: tb.whys[why], Runtime: tn.estimate(estRuntime), CPU: tn.estimate(estCPU),
		MemoryMiB: tn.estimate(estMemory), IOBytes: tn.estimate(estIO), GPUs: tn.estimate(estGPUs), OutputBytes: tn.estimate(estOutput)}
	n.Runtime.Value, n.Runtime.P90, n.CPU.Value = tb.values(t, c)
	return n
}

// Need returns a copy of the need of task t on class c without expanding
// the table. It panics if either index is out of range.
func (tb *Table) Need(t, c int) Need {
	if tb.expanded.Load() {
		return tb.needs[t*len(tb.Classes)+c]
	}
	return tb.factored(t, c)
}

// Runtime returns the runtime estimate (seconds) of task t on class c.
func (tb *Table) Runtime(t, c int) Estimate {
	if tb.expanded.Load() {
		return tb.needs[t*len(tb.Classes)+c].Runtime
	}
	e := tb.tasks[t].estimate(estRuntime)
	e.Value, e.P90 = tb.quantiles(t, c)
	return e
}

// Feasible reports whether class c can run task t.
func (tb *Table) Feasible(t, c int) bool {
	if tb.expanded.Load() {
		return tb.needs[t*len(tb.Classes)+c].Feasible
	}
	return tb.why[t*len(tb.Classes)+c] == 0
}

// Why says why class c cannot run task t; "" when it can (or no reason
// was given).
func (tb *Table) Why(t, c int) string {
	if tb.expanded.Load() {
		return tb.needs[t*len(tb.Classes)+c].Why
	}
	return tb.whys[tb.why[t*len(tb.Classes)+c]]
}

// Tasks returns the number of tasks in the table.
func (tb *Table) Tasks() int {
	if len(tb.Classes) == 0 {
		return 0
	}
	return tb.n
}

// Quantiles returns the runtime p50 and p90 in seconds of task t on class
// c: Runtime's Value and P90 without the rest of the estimate, for
// callers that read every pair.
func (tb *Table) Quantiles(t, c int) (p50, p90 float64) {
	if tb.expanded.Load() {
		rt := &tb.needs[t*len(tb.Classes)+c].Runtime
		return rt.Value, rt.P90
	}
	return tb.quantiles(t, c)
}
