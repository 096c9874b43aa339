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
	"github.com/shardwise/shardwise/translator/hclwriter"
)

// DataOutput is the name of a task's output when every child that reads
// its files reads the same set of them, or when no child reads any (then
// it holds all the task's output files). A task whose children read
// different sets has one output per set, named DataOutput + "_1",
// DataOutput + "_2", ... (see OutputName).
const DataOutput = "data"

// OutputName is the name of output k (0-based) of a task with n outputs:
// DataOutput when n is 1, else DataOutput + "_" + (k+1).
func OutputName(k, n int) string {
	if n == 1 {
		return DataOutput
	}
	return DataOutput + "_" + strconv.Itoa(k+1)
}

// build turns a normalised trace into a Result.
func build(tr *trace, opts Options) (*Result, error) {
	b := &builder{tr: tr, opts: opts, g: graph.New(stem(tr.file))}
	ids := make([]string, len(tr.tasks))
	for i, t := range tr.tasks {
		ids[i] = t.id
	}
	b.names = hclwriter.Identifiers(ids)
	parents, err := b.parentLists()
	if err != nil {
		return nil, err
	}
	b.groupOutputs(parents)
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

	// sets[p] lists the distinct sets of task p's output files that its
	// children read, in the order of the first child (in file order) that
	// reads each; it becomes p's outputs.
	sets [][]fileSet
	// reads[c][p] is the position in sets[p] of the files child c reads
	// from parent p, or -1 when it reads none or only empty ones (a plain
	// dependency).
	reads []map[int]int
	// readers counts the tasks that read each input file id (built on
	// first use by sharedBytes).
	readers map[string]int

	// oneSided counts dependencies found in only one of the parents and
	// children lists; oneSidedExample describes the first, the one of
	// child oneSidedChild and parent oneSidedParent.
	oneSided                      int
	oneSidedExample               string
	oneSidedParent, oneSidedChild int
	// byAltID counts parent and child references resolved through
	// trace.altIndex.
	byAltID int
}

// fileSet is a set of a task's output files that a child reads; bytes is
// the sum of their sizes.
type fileSet struct {
	bytes int64
}

// groupOutputs fills b.sets and b.reads from each task's parents: for each
// child, in file order, and each of its parents, the set of the parent's
// output files the child reads.
func (b *builder) groupOutputs(parents [][]int) {
	tasks := b.tr.tasks
	b.sets = make([][]fileSet, len(tasks))
	b.reads = make([]map[int]int, len(tasks))
	// index[p] maps a set's key (the positions of its files among p's
	// outputs) to its position in sets[p].
	index := make([]map[string]int, len(tasks))
	var key []byte
	for c, ps := range parents {
		b.reads[c] = make(map[int]int, len(ps))
		in := make(map[string]bool, len(tasks[c].inputs))
		for _, f := range tasks[c].inputs {
			in[f.id] = true
		}
		for _, p := range ps {
			key = key[:0]
			var n int64
			for k, f := range tasks[p].outputs {
				if in[f.id] {
					key = strconv.AppendInt(append(key, ','), int64(k), 10)
					n += f.bytes
				}
			}
			if n == 0 {
				// No shared file, or only empty ones: nothing moves,
				// and an output of size 0 would read as unknown.
				b.reads[c][p] = -1
				continue
			}
			if index[p] == nil {
				index[p] = map[string]int{}
			}
			k, ok := index[p][string(key)]
			if !ok {
				k = len(b.sets[p])
				index[p][string(key)] = k
				b.sets[p] = append(b.sets[p], fileSet{bytes: n})
			}
			b.reads[c][p] = k
		}
	}
}

// parentLists returns, for each task, the positions of its parents in file
// order, from both parents and children lists with duplicates dropped. It
// rejects names that are not tasks and tasks that list themselves.
//
// When the trace fills in both lists (some task has parents and some has
// children), a dependency found in only one of them is counted in
// b.oneSided, with the first such as an example: the lists should mirror
// each other.
func (b *builder) parentLists() ([][]int, error) {
	tr := b.tr
	// fromParents[i][j] and fromChildren[i][j]: j is a parent of i by
	// i's parents list, or by j's children list.
	fromParents := make([]map[int]bool, len(tr.tasks))
	fromChildren := make([]map[int]bool, len(tr.tasks))
	for i := range fromParents {
		fromParents[i], fromChildren[i] = map[int]bool{}, map[int]bool{}
	}
	for i, t := range tr.tasks {
		for k, p := range t.parents {
			j, err := b.lookup(p, fmt.Sprintf("%s.parents[%d]", t.path, k), "parent", i)
			if err != nil {
				return nil, err
			}
			fromParents[i][j] = true
		}
		for k, c := range t.children {
			j, err := b.lookup(c, fmt.Sprintf("%s.children[%d]", t.path, k), "child", i)
			if err != nil {
				return nil, err
			}
			fromChildren[j][i] = true
		}
	}
	bothUsed := usesAny(fromParents) && usesAny(fromChildren)
	out := make([][]int, len(tr.tasks))
	for i := range tr.tasks {
		for j := range fromParents[i] {
			out[i] = append(out[i], j)
			if bothUsed && !fromChildren[i][j] {
				b.noteOneSided(j, i, "parents list of "+tr.tasks[i].id)
			}
		}
		for j := range fromChildren[i] {
			if !fromParents[i][j] {
				out[i] = append(out[i], j)
				if bothUsed {
					b.noteOneSided(j, i, "children list of "+tr.tasks[j].id)
				}
			}
		}
		sort.Ints(out[i])
	}
	return out, nil
}

// usesAny reports whether any task has an entry in sets.
func usesAny(sets []map[int]bool) bool {
	for _, s := range sets {
		if len(s) > 0 {
			return true
		}
	}
	return false
}

// noteOneSided counts the dependency parent -> child found only in the
// list named by where, keeping the first (by task order) as an example.
func (b *builder) noteOneSided(parent, child int, where string) {
	b.oneSided++
	if b.oneSidedExample == "" || child < b.oneSidedChild || (child == b.oneSidedChild && parent < b.oneSidedParent) {
		b.oneSidedExample = fmt.Sprintf("%s -> %s, only in the %s", b.tr.tasks[parent].id, b.tr.tasks[child].id, where)
		b.oneSidedParent, b.oneSidedChild = parent, child
	}
}

// lookup resolves a parent or child id of task self. A name that is no
// task's is looked up among the trace's alternative ids (WfFormat 1.4
// tasks have a name, which the lists should use, and an id, which some
// traces use instead); such a match is counted in b.byAltID.
func (b *builder) lookup(id, path, role string, self int) (int, error) {
	j, ok := b.tr.index[id]
	if !ok {
		if j, ok = b.tr.altIndex[id]; ok {
			b.byAltID++
		}
	}
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
		Name:             b.names[i],
		Signature:        b.signature(t),
		Command:          "/bin/sh",
		Args:             []string{"-c", "sleep " + b.sleepSeconds(t)},
		Env:              map[string]string{EnvTraceTask: t.id},
		InputBytes:       sumBytes(t.inputs),
		SharedInputBytes: b.sharedBytes(t),
	}
	if t.exec != nil {
		if cmd := commandLine(t.exec); cmd != "" {
			gt.Env[EnvOriginalCommand] = cmd
		}
		gt.Hints = hints(t.exec, b.opts.TimeScale)
	}
	switch sets := b.sets[i]; {
	case len(sets) > 0:
		gt.Outputs = make([]graph.Output, len(sets))
		for k, s := range sets {
			name := OutputName(k, len(sets))
			gt.Outputs[k] = graph.Output{Name: name, Path: "out/" + name, Bytes: s.bytes}
		}
	case len(t.outputs) > 0:
		gt.Outputs = []graph.Output{{
			Name: DataOutput, Path: "out/" + DataOutput, Bytes: sumBytes(t.outputs),
		}}
	}
	if b.opts.Replay != nil {
		b.replayTask(gt, t)
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

// sharedBytes is the size of t's input files that other tasks of the
// trace read too (a reference database, an index), the part of its input
// that does not grow with its own share of the work.
func (b *builder) sharedBytes(t *task) int64 {
	if b.readers == nil {
		b.readers = map[string]int{}
		for _, u := range b.tr.tasks {
			for _, f := range u.inputs {
				b.readers[f.id]++
			}
		}
	}
	var n int64
	for _, f := range t.inputs {
		if b.readers[f.id] > 1 {
			n += f.bytes
		}
	}
	return n
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

// hints returns the runtime (times scale), cores and kind hints of an
// executed task.
func hints(e *execution, scale float64) graph.Hints {
	h := graph.Hints{
		Runtime: time.Duration(math.Round(e.runtime * scale * float64(time.Second))),
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
// the parent's output holding exactly the files the child reads from it,
// else a plain dependency.
func (b *builder) link(child int, parents []int) error {
	ct := b.tr.tasks[child]
	gt := b.g.Tasks[child]
	for _, p := range parents {
		e := &graph.Edge{From: b.names[p], To: gt.Name}
		if k := b.reads[child][p]; k >= 0 {
			out := OutputName(k, len(b.sets[p]))
			e.Output, e.Bytes = out, b.sets[p][k].bytes
			gt.Inputs = append(gt.Inputs, graph.Input{
				Task: b.names[p], Output: out, Path: "in/" + b.names[p] + "-" + out,
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
