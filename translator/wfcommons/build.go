package wfcommons

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/translator/graphhcl"
)

// DataOutput is the name of the single output Import gives a task that
// writes files.
const DataOutput = "data"

// build turns a normalised trace into a Result.
func build(tr *trace, opts Options) (*Result, error) {
	b := &builder{tr: tr, opts: opts, g: graph.New(stem(tr.file))}
	ids := make([]string, len(tr.tasks))
	for i, t := range tr.tasks {
		ids[i] = t.id
	}
	b.names = graphhcl.Identifiers(ids)
	parents, err := b.parentLists()
	if err != nil {
		return nil, err
	}
	for i, t := range tr.tasks {
		if err := b.g.AddTask(b.graphTask(i, t)); err != nil {
			return nil, failf(t.path, "%v", err)
		}
	}
	for child, ps := range parents {
		if err := b.link(child, ps); err != nil {
			return nil, err
		}
	}
	if _, err := b.g.TopoOrder(); err != nil {
		return nil, b.cycleError(err)
	}
	return b.result(), nil
}

type builder struct {
	tr    *trace
	opts  Options
	g     *graph.Graph
	names []string // graph task name of each trace task
}

// parentLists returns, for each task, the positions of its parents in file
// order, from both parents and children lists with duplicates dropped. It
// rejects names that are not tasks and tasks that list themselves.
func (b *builder) parentLists() ([][]int, error) {
	tr := b.tr
	sets := make([]map[int]bool, len(tr.tasks))
	for i := range sets {
		sets[i] = map[int]bool{}
	}
	for i, t := range tr.tasks {
		for k, p := range t.parents {
			j, err := b.lookup(p, fmt.Sprintf("%s.parents[%d]", t.path, k), "parent", i)
			if err != nil {
				return nil, err
			}
			sets[i][j] = true
		}
		for k, c := range t.children {
			j, err := b.lookup(c, fmt.Sprintf("%s.children[%d]", t.path, k), "child", i)
			if err != nil {
				return nil, err
			}
			sets[j][i] = true
		}
	}
	out := make([][]int, len(tr.tasks))
	for i, s := range sets {
		for j := range s {
			out[i] = append(out[i], j)
		}
		sort.Ints(out[i])
	}
	return out, nil
}

// lookup resolves a parent or child id of task self.
func (b *builder) lookup(id, path, role string, self int) (int, error) {
	j, ok := b.tr.index[id]
	if !ok {
		return 0, failf(path, "%s %q not found among the tasks", role, id)
	}
	if j == self {
		return 0, failf(path, "dependency cycle: %s -> %s (task lists itself as %s)", id, id, role)
	}
	return j, nil
}

// graphTask builds the graph task of trace task i.
func (b *builder) graphTask(i int, t *task) *graph.Task {
	gt := &graph.Task{
		Name:       b.names[i],
		Signature:  b.signature(t),
		Command:    "/bin/sh",
		Args:       []string{"-c", "sleep " + b.sleepSeconds(t)},
		Env:        map[string]string{EnvTraceTask: t.id},
		InputBytes: sumBytes(t.inputs),
	}
	if t.exec != nil {
		if cmd := commandLine(t.exec); cmd != "" {
			gt.Env[EnvOriginalCommand] = cmd
		}
		gt.Hints = hints(t.exec)
	}
	if len(t.outputs) > 0 {
		gt.Outputs = []graph.Output{{
			Name: DataOutput, Path: "out/" + DataOutput, Bytes: sumBytes(t.outputs),
		}}
	}
	return gt
}

var idSuffix = regexp.MustCompile(`_ID\d+$`)
var nextflowSuffix = regexp.MustCompile(`_\d+$`)

// signature returns the task type of t (see the package doc).
func (b *builder) signature(t *task) string {
	if b.tr.isNextflow() {
		if t.name != "" {
			return t.name
		}
		return nextflowSuffix.ReplaceAllString(t.id, "")
	}
	if t.category != "" {
		return t.category
	}
	if t.exec != nil {
		if p := strings.TrimSpace(t.exec.program); p != "" && !strings.ContainsAny(p, " \t\n") {
			return filepath.Base(p)
		}
	}
	name := t.name
	if name == "" {
		name = t.id
	}
	return idSuffix.ReplaceAllString(name, "")
}

// sleepSeconds is the stand-in's sleep: the recorded runtime in seconds
// times the time scale, rounded to milliseconds; "0" without a record.
func (b *builder) sleepSeconds(t *task) string {
	if t.exec == nil {
		return "0"
	}
	s := math.Round(t.exec.runtime*b.opts.TimeScale*1000) / 1000
	return strconv.FormatFloat(s, 'f', -1, 64)
}

func commandLine(e *execution) string {
	if e.program == "" {
		return strings.Join(e.args, " ")
	}
	return strings.Join(append([]string{e.program}, e.args...), " ")
}

func sumBytes(fs []file) int64 {
	var n int64
	for _, f := range fs {
		n += f.bytes
	}
	return n
}

// cores is the number of cores a task used: coreCount where recorded, else
// avgCPU/100; 0 when neither is known.
func cores(e *execution) float64 {
	if e.coreCount > 0 {
		return e.coreCount
	}
	return e.avgCPU / 100
}

// hints returns the runtime, cores and kind hints of an executed task.
func hints(e *execution) graph.Hints {
	h := graph.Hints{
		Runtime: time.Duration(math.Round(e.runtime * float64(time.Second))),
		Kind:    GuessKind(e.runtime, e.avgCPU, e.hasAvgCPU, cores(e), e.memory, e.read+e.written),
	}
	if c := cores(e); c > 0 {
		h.Cores = max(1, int(math.Round(c)))
	}
	return h
}

// Thresholds of GuessKind.
const (
	// MemoryPerCoreBytes: a task whose peak memory reaches this much per core
	// used is memory-bound.
	MemoryPerCoreBytes = 2 << 30
	// IOBoundCPUPercent: a task that kept a core busier than this is not
	// I/O-bound by its CPU figure.
	IOBoundCPUPercent = 50
	// IOBoundBytesPerSecond: a task that read and wrote at least this many
	// bytes per second of runtime is I/O-bound.
	IOBoundBytesPerSecond = 100e6
)

// GuessKind guesses a task's dominant need from what it measured: runtime
// in seconds, avgCPU in percent of one core (hasAvgCPU false if not
// recorded), cores used, peak memory in bytes (0 unknown) and bytes read
// plus written (0 unknown). The rule, first match wins:
//
//  1. no runtime (0 s): "" (nothing measured to go on);
//  2. memory >= MemoryPerCoreBytes x max(1, cores): memory;
//  3. avgCPU < IOBoundCPUPercent: io (the task waited more than it computed,
//     which in batch workflows is waiting on data);
//  4. ioBytes / runtime >= IOBoundBytesPerSecond: io;
//  5. otherwise cpu.
func GuessKind(runtime, avgCPU float64, hasAvgCPU bool, cores float64, memory, ioBytes int64) graph.Kind {
	switch {
	case runtime <= 0:
		return ""
	case memory > 0 && float64(memory) >= MemoryPerCoreBytes*max(1, cores):
		return graph.KindMemory
	case hasAvgCPU && avgCPU < IOBoundCPUPercent:
		return graph.KindIO
	case float64(ioBytes)/runtime >= IOBoundBytesPerSecond:
		return graph.KindIO
	default:
		return graph.KindCPU
	}
}

// link adds the edges into trace task child from its parents: an input from
// the parent's data output where the child reads a file the parent writes,
// else a plain dependency.
func (b *builder) link(child int, parents []int) error {
	ct := b.tr.tasks[child]
	gt := b.g.Tasks[child]
	reads := make(map[string]int64, len(ct.inputs))
	for _, f := range ct.inputs {
		reads[f.id] = f.bytes
	}
	for _, p := range parents {
		pt := b.tr.tasks[p]
		shared, linked := int64(0), false
		for _, f := range pt.outputs {
			if n, ok := reads[f.id]; ok {
				shared, linked = shared+n, true
			}
		}
		e := &graph.Edge{From: b.names[p], To: gt.Name}
		if linked {
			e.Output, e.Bytes = DataOutput, shared
			gt.Inputs = append(gt.Inputs, graph.Input{
				Task: b.names[p], Output: DataOutput, Path: "in/" + b.names[p] + "-" + DataOutput,
			})
		} else {
			gt.DependsOn = append(gt.DependsOn, b.names[p])
		}
		if err := b.g.AddEdge(e); err != nil {
			return failf(ct.path, "%v", err)
		}
	}
	return nil
}

// cycleError restates a graph cycle with the trace's task ids.
func (b *builder) cycleError(err error) error {
	var ce *graph.CycleError
	if !errors.As(err, &ce) {
		return failf(b.tr.tasksPath, "%v", err)
	}
	ids := make([]string, len(ce.Tasks))
	for k, name := range ce.Tasks {
		ids[k] = b.tr.tasks[b.g.Index(name)].id
	}
	return failf(b.tr.tasksPath, "dependency cycle: %s", strings.Join(ids, " -> "))
}
