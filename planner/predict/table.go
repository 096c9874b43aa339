package predict

import (
	"sync"
	"sync/atomic"

	"github.com/shardwise/shardwise/planner/graph"
)

// Table holds a Need for every (task, class) pair.
//
// A table made by Predict is stored factored, as Predict computes it: what
// does not depend on the class (memory, IO, GPUs, output bytes, the
// runtime's uncertainty and source) once per task, and only the runtime
// quantiles, the CPU and the feasibility per pair, about a third of the
// memory of one Need per pair. At, which hands out a pointer for writing,
// expands such a table into one Need per pair the first time it is called;
// the read accessors (Need, Runtime, Feasible, Why) read either form and
// never expand. A table from NewTable holds one Need per pair from the
// start.
//
// Concurrent reads (accessors and At) are safe; writes through At's
// pointers are not safe against concurrent reads of the same pair.
type Table struct {
	// Classes are the catalog's class names, in catalog order.
	Classes []string
	// Kinds is the dominant workload profile of each task, by task index.
	Kinds []graph.Kind

	n int // tasks

	// The factored form: tasks[t] and pairs[t*len(Classes)+c].
	tasks []taskNeed
	pairs []pairNeed

	// The expanded form, one Need per pair: set by NewTable, or by At's
	// first call on a factored table (under once; expanded is set after
	// needs is filled, so readers that see it may read needs).
	once     sync.Once
	expanded atomic.Bool
	needs    []Need
}

// taskNeed is what a factored table holds once per task: the Need fields
// that are the same on every class. Runtime's Value and P90 and CPU's
// Value are per pair (pairNeed).
type taskNeed struct {
	runtime, cpu       Estimate
	mem, io, gpus, out Estimate
}

// pairNeed is what a factored table holds per (task, class) pair.
type pairNeed struct {
	runtime, p90, cpu float64
	why               string
	feasible          bool
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
// classes; Predict fills it with setTask and setPair.
func newFactored(n int, classes []string) *Table {
	return &Table{Classes: classes, Kinds: make([]graph.Kind, n), n: n,
		tasks: make([]taskNeed, n), pairs: make([]pairNeed, n*len(classes))}
}

// setTask stores task t's class-independent estimates in a factored table.
func (tb *Table) setTask(t int, tn taskNeed) { tb.tasks[t] = tn }

// pair returns the per-pair part of task t on class c in a factored table.
func (tb *Table) pair(t, c int) *pairNeed { return &tb.pairs[t*len(tb.Classes)+c] }

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
	n := Need{Feasible: p.feasible, Why: p.why, Runtime: tn.runtime, CPU: tn.cpu,
		MemoryMiB: tn.mem, IOBytes: tn.io, GPUs: tn.gpus, OutputBytes: tn.out}
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
	e := tb.tasks[t].runtime
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
	return tb.pair(t, c).why
}

// Tasks returns the number of tasks in the table.
func (tb *Table) Tasks() int {
	if len(tb.Classes) == 0 {
		return 0
	}
	return tb.n
}
