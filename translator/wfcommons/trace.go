package wfcommons

import (
	"fmt"
	"math"
	"strings"
)

// trace is one workflow instance of either schema, normalised: tasks in file
// order with their files, measurements and JSON paths (for errors).
type trace struct {
	file       string // the path Import was given
	schema     string
	name       string // the instance's name field
	system     string // runtime system (1.5) or wms (1.4) name
	runName    string
	executedAt string
	makespan   float64
	tasksPath  string // JSON path of the task list
	tasks      []*task
	index      map[string]int // task id -> position in tasks
	// altIndex maps 1.4 task ids (not names, which the lists should use)
	// to positions; parents and children that name no task are looked up
	// here. Nil for 1.5.
	altIndex map[string]int
	machines map[string]machine
	// missingFiles counts file references with no size entry (1.5).
	missingFiles int
	warnings     []string
}

// task is one task of a trace.
type task struct {
	id   string // what parents and children name
	name string // the name field (1.5: may differ from id)
	// category is the 1.4 task type; empty in 1.5.
	category          string
	path              string // JSON path, e.g. workflow.specification.tasks[3]
	parents, children []string
	inputs, outputs   []file
	exec              *execution // nil if the task has no execution record
}

// file is a file a task reads or writes; bytes is its size in bytes.
type file struct {
	id    string
	bytes int64
}

// execution is what a task measured when it ran. Sizes are bytes, times
// seconds; 0 means not recorded unless said otherwise.
type execution struct {
	path       string
	runtime    float64
	executedAt string
	program    string
	args       []string
	coreCount  float64
	avgCPU     float64
	hasAvgCPU  bool
	memory     int64
	memoryZero bool // memoryInBytes present and 0: not measured
	hasMemory  bool // a memory field (memoryInBytes or memory) is present
	// disagree describes the first byte field whose legacy KB field says
	// otherwise ("readBytes 5000 vs bytesRead 9 KB"); "" when none.
	disagree string
	read     int64
	written  int64
	node     string
	nodes    int // how many machines the task lists
}

// machine is a node of the execution.
type machine struct {
	mhz float64 // a momentary clock reading, not a nominal speed
}

// errorAt is a failure at a JSON path of the trace, turned into an *Error
// by Import.
type errorAt struct {
	path string
	err  error
}

func (e *errorAt) Error() string { return e.path + ": " + e.err.Error() }

func failf(path, format string, args ...any) error {
	return &errorAt{path: path, err: fmt.Errorf(format, args...)}
}

// addTask appends t, rejecting a missing or repeated id.
func (tr *trace) addTask(t *task, idField string) error {
	if t.id == "" {
		return failf(t.path, "task has no %s", idField)
	}
	if j, dup := tr.index[t.id]; dup {
		return failf(t.path+"."+idField, "duplicate task id %q (also at %s)", t.id, tr.tasks[j].path)
	}
	tr.index[t.id] = len(tr.tasks)
	tr.tasks = append(tr.tasks, t)
	return nil
}

// count returns *v, or an error at path if v is negative or not finite.
// A nil v is 0.
func count(v *float64, path string) (float64, error) {
	if v == nil {
		return 0, nil
	}
	if *v < 0 || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return 0, failf(path, "must be a non-negative number, got %v", *v)
	}
	return *v, nil
}

// byteCount is count rounded to whole bytes, times mult (1000 for the
// legacy KB fields).
func byteCount(v *float64, mult float64, path string) (int64, error) {
	f, err := count(v, path)
	if err != nil {
		return 0, err
	}
	b := math.Round(f * mult)
	if b > math.MaxInt64/2 {
		return 0, failf(path, "%v is too large", *v)
	}
	return int64(b), nil
}

// dedupeFiles drops repeated file ids, keeping the first.
func dedupeFiles(fs []file) []file {
	seen := make(map[string]bool, len(fs))
	out := fs[:0]
	for _, f := range fs {
		if !seen[f.id] {
			seen[f.id] = true
			out = append(out, f)
		}
	}
	return out
}

func machinesOf(ms []machineDoc, path string) (map[string]machine, error) {
	out := make(map[string]machine, len(ms))
	for i, m := range ms {
		p := fmt.Sprintf("%s[%d]", path, i)
		if m.NodeName == "" {
			return nil, failf(p, "machine has no nodeName")
		}
		var mc machine
		if m.CPU != nil {
			var err error
			if mc.mhz, err = count(firstSet(m.CPU.SpeedInMHz, m.CPU.Speed), p+".cpu.speedInMHz"); err != nil {
				return nil, err
			}
		}
		out[m.NodeName] = mc
	}
	return out, nil
}

func firstSet(vs ...*float64) *float64 {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}

// commandOf splits a command into program and arguments.
func commandOf(c *command) (string, []string) {
	if c == nil {
		return "", nil
	}
	return c.Program, c.Arguments
}

// isNextflow reports whether the trace was recorded by Nextflow, whose task
// names are process paths and whose "program" is a whole shell script.
func (tr *trace) isNextflow() bool {
	return strings.EqualFold(tr.system, "nextflow")
}
