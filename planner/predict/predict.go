// Package predict estimates what each task of a graph needs on each executor
// class: runtime, CPU, peak memory, IO and GPUs, each with its source and an
// uncertainty. It is the second stage of the flow graph -> predictions ->
// plan; the history it learns from is written by the importer and, later,
// by the feedback service.
package predict

import (
	"github.com/shardwise/shardwise/planner/graph"
)

// Source says where an estimate came from.
type Source string

// Sources, from most to least trusted.
const (
	FromHistory Source = "history"
	FromHint    Source = "hint"
	FromDefault Source = "default"
)

// Estimate is one predicted quantity.
type Estimate struct {
	Value float64
	// Uncertainty is the relative standard error (0.25 = ±25%).
	Uncertainty float64
	Source      Source
	// N is the number of history observations behind the estimate.
	N int
}

// Need is a task's predicted needs on one class.
type Need struct {
	// Feasible is false when the class cannot run the task (too little
	// memory, no GPU, pinned elsewhere); Why then says what is missing.
	Feasible bool
	Why      string

	Runtime   Estimate // seconds
	CPU       Estimate // MHz
	MemoryMiB Estimate // peak MiB, at a high quantile
	IOBytes   Estimate // bytes read plus written
	GPUs      Estimate // GPU count
	// OutputBytes is the predicted size of everything the task writes for
	// downstream tasks, used for edges whose size is not declared.
	OutputBytes Estimate
}

// Table holds a Need for every (task, class) pair.
type Table struct {
	// Classes are the catalog's class names, in catalog order.
	Classes []string
	// Kinds is the dominant workload profile of each task, by task index.
	Kinds []graph.Kind
	needs []Need
}

// NewTable allocates a table for n tasks and the given classes.
func NewTable(n int, classes []string) *Table {
	return &Table{Classes: classes, Kinds: make([]graph.Kind, n), needs: make([]Need, n*len(classes))}
}

// At returns the need of task t (index into Graph.Tasks) on class c (index
// into Classes). It panics if either index is out of range.
func (tb *Table) At(t, c int) *Need { return &tb.needs[t*len(tb.Classes)+c] }

// Tasks returns the number of tasks in the table.
func (tb *Table) Tasks() int {
	if len(tb.Classes) == 0 {
		return 0
	}
	return len(tb.needs) / len(tb.Classes)
}
