package predict

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/shardwise/shardwise/planner/graph"
)

// Table holds a Need for every (task, class) pair.
//
// A table made by Predict is stored factored, as Predict computes it: what
// does not depend on the class (memory, IO, GPUs, output bytes, the
// runtime's uncertainty and source) once per task, and only the runtime
// quantiles, the CPU and the feasibility per pair; sources and reasons are
// small indexes, so the factored form holds no pointers for the garbage
// collector to scan and takes about a fifth of the memory of one Need per
// pair. At, which hands out a pointer for writing, expands such a table
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

	// The factored form: tasks[t] and pairs[t*len(Classes)+c]; whys holds
	// the distinct reasons pairs point to (whys[0] is ""), appended under
	// whyMu while Predict fills the table.
	tasks []taskNeed
	pairs []pairNeed
	whyMu sync.Mutex
	whys  []string
	whyOf map[string]int32 // index of each reason in whys

	// The expanded form, one Need per pair: set by NewTable, or by At's
	// first call on a factored table (under once; expanded is set after
	// needs is filled, so readers that see it may read needs).
	once     sync.Once
	expanded atomic.Bool
	needs    []Need
}

// est is an Estimate in a factored table: Source as an index into
// sourceNames, N as int32, no P90 (only runtimes have one, kept per pair).
type est struct {
	value, uncertainty float64
	n                  int32
	source             uint8
}

// taskNeed is what a factored table holds once per task: the Need fields
// that are the same on every class. Runtime's Value and P90 and CPU's
// Value are per pair (pairNeed); the task's are unused.
type taskNeed struct {
	runtime, cpu       est
	mem, io, gpus, out est
}

// pairNeed is what a factored table holds per (task, class) pair.
type pairNeed struct {
	runtime, p90, cpu float64
	why               int32 // index into Table.whys
	feasible          bool
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

func toEst(e Estimate) est {
	return est{value: e.Value, uncertainty: e.Uncertainty, n: int32(e.N), source: sourceIndex(e.Source)}
}

func (e est) estimate() Estimate {
	return Estimate{Value: e.value, Uncertainty: e.uncertainty, N: int(e.n), Source: sourceName(e.source)}
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
// classes; Predict fills it with setTask, pair and setWhy.
func newFactored(n int, classes []string) *Table {
	return &Table{Classes: classes, Kinds: make([]graph.Kind, n), n: n,
		tasks: make([]taskNeed, n), pairs: make([]pairNeed, n*len(classes)), whys: []string{""}}
}

// setTask stores task t's class-independent estimates in a factored table
// (runtime and CPU without their per-class values).
func (tb *Table) setTask(t int, runtime, cpu, mem, io, gpus, out Estimate) {
	tb.tasks[t] = taskNeed{runtime: toEst(runtime), cpu: toEst(cpu),
		mem: toEst(mem), io: toEst(io), gpus: toEst(gpus), out: toEst(out)}
}

// pair returns the per-pair part of task t on class c in a factored table.
func (tb *Table) pair(t, c int) *pairNeed { return &tb.pairs[t*len(tb.Classes)+c] }

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
	needs := make([]Need, len(tb.pairs))
	for i := range needs {
		needs[i] = tb.factored(i/len(tb.Classes), i%len(tb.Classes))
	}
	tb.needs = needs
	tb.expanded.Store(true)
}

// factored assembles the Need of task t on class c from the factored form.
func (tb *Table) factored(t, c int) Need {
	tn, p := &tb.tasks[t], tb.pair(t, c)
	n := Need{Feasible: p.feasible, Why: tb.whys[p.why], Runtime: tn.runtime.estimate(), CPU: tn.cpu.estimate(),
		MemoryMiB: tn.mem.estimate(), IOBytes: tn.io.estimate(), GPUs: tn.gpus.estimate(), OutputBytes: tn.out.estimate()}
	n.Runtime.Value, n.Runtime.P90, n.CPU.Value = p.runtime, p.p90, p.cpu
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
	e := tb.tasks[t].runtime.estimate()
	p := tb.pair(t, c)
	e.Value, e.P90 = p.runtime, p.p90
	return e
}

// Feasible reports whether class c can run task t.
func (tb *Table) Feasible(t, c int) bool {
	if tb.expanded.Load() {
		return tb.needs[t*len(tb.Classes)+c].Feasible
	}
	return tb.pair(t, c).feasible
}

// Why says why class c cannot run task t; "" when it can (or no reason
// was given).
func (tb *Table) Why(t, c int) string {
	if tb.expanded.Load() {
		return tb.needs[t*len(tb.Classes)+c].Why
	}
	return tb.whys[tb.pair(t, c).why]
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
	p := tb.pair(t, c)
	return p.runtime, p.p90
}
