package predict

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/units"
)

// InfeasibleError reports tasks that no executor class can run.
type InfeasibleError struct {
	Tasks []Infeasible
}

// Infeasible is one task no class can run, with each class's reason.
type Infeasible struct {
	Task string
	// Range is the task's declaration; zero for graphs built in code.
	Range hcl.Range
	// Reasons holds "class: why" for every class, in catalog order.
	Reasons []string
}

func (e *InfeasibleError) Error() string {
	first := e.Tasks[0]
	msg := fmt.Sprintf("task %q fits no executor class: %s", first.Task, strings.Join(first.Reasons, "; "))
	if n := len(e.Tasks) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more tasks)", n)
	}
	return msg
}

// fill writes task i's need on every class into tb (its runtime on a
// class is the task's over the class's speed for its kind, its CPU capped
// at the class's unless a hint set it: see Table.values); buf is scratch
// space for the reasons, kept by the caller from task to task. It returns
// the reasons when no class is feasible.
func (p *Predictor) fill(tb *Table, i int, t *graph.Task, tp *taskProfile, buf *[]byte) *Infeasible {
	tb.setTask(i, tp.kind, tp.runtime, tp.cpu, tp.cpuHint, tp.mem, tp.io, tp.gpus, tp.out)
	feasible := false
	for c, cl := range p.cat.Classes {
		*buf = appendWhy((*buf)[:0], t, tp, cl)
		tb.setWhy(i, c, tb.whyIndex(*buf))
		feasible = feasible || len(*buf) == 0
	}
	if feasible {
		return nil
	}
	inf := &Infeasible{Task: t.Name, Range: t.DefRange}
	for _, cl := range p.cat.Classes {
		// Made again rather than read from tb, whose reasons other
		// chunks may be adding to.
		inf.Reasons = append(inf.Reasons, cl.Name+": "+whyInfeasible(t, tp, cl))
	}
	return inf
}

// whyInfeasible returns, in words, every reason class cl cannot run the
// task, joined by "; ", or "" when it can (see appendWhy).
func whyInfeasible(t *graph.Task, tp *taskProfile, cl *catalog.Class) string {
	return string(appendWhy(nil, t, tp, cl))
}

// appendWhy appends to buf every reason class cl cannot run the task,
// joined by "; ", and returns it; nothing when it can. Rules: pinned to
// another class (hints.Executor); predicted memory above the instance's;
// hinted disk, CPU or cores above the instance's; more GPUs than the
// instance has; a class whose gpu speed is 0 for GPU work; hinted GPU
// memory above the class's per-GPU memory. Predict writes the reasons of
// every task and class into one buffer and keeps only the distinct ones,
// so a reason is not made as a string of its own each time.
func appendWhy(buf []byte, t *graph.Task, tp *taskProfile, cl *catalog.Class) []byte {
	w := whyWriter{buf: buf, start: len(buf)}
	h, s := &t.Hints, &cl.Shape
	if h.Executor != "" && h.Executor != cl.Name {
		w.add("task is pinned to executor %q", h.Executor)
	}
	if mem := int64(tp.mem.Value); mem > s.MemoryMiB {
		w.add("needs %s memory (%s), instance has %s", mib(mem), tp.mem.Source, mib(s.MemoryMiB))
	}
	if h.DiskMiB > 0 && s.DiskMiB > 0 && h.DiskMiB > s.DiskMiB {
		w.add("needs %s disk, instance has %s", mib(h.DiskMiB), mib(s.DiskMiB))
	}
	if tp.cpuHint && tp.cpu.Value > float64(s.CPU) {
		w.add("needs %.0f MHz CPU, instance has %d MHz", tp.cpu.Value, s.CPU)
	}
	if h.Cores > 0 && s.Cores > 0 && h.Cores > s.Cores {
		w.add("needs %d cores, instance has %d", h.Cores, s.Cores)
	}
	gpuReasons(&w, h, tp, cl)
	return w.buf
}

// whyWriter appends reasons to buf, "; " between two.
type whyWriter struct {
	buf   []byte
	start int // where the reasons begin in buf
}

func (w *whyWriter) add(format string, args ...any) {
	if len(w.buf) > w.start {
		w.buf = append(w.buf, "; "...)
	}
	w.buf = fmt.Appendf(w.buf, format, args...)
}

// gpuReasons adds to w the reasons cl cannot run the task's GPU work.
func gpuReasons(w *whyWriter, h *graph.Hints, tp *taskProfile, cl *catalog.Class) {
	gpus := int(tp.gpus.Value)
	if gpus == 0 {
		return
	}
	s := &cl.Shape
	if gpus > s.GPUs {
		w.add("needs %d GPU(s), instance has %d", gpus, s.GPUs)
	} else if !cl.CanRunGPU() {
		w.add("class cannot run GPU work (gpu speed 0)")
	}
	if h.GPUMemoryMiB > 0 && s.GPUs > 0 && h.GPUMemoryMiB > s.GPUMemoryMiB {
		w.add("needs %s per GPU, class GPUs have %s", mib(h.GPUMemoryMiB), mib(s.GPUMemoryMiB))
	}
}

func mib(n int64) string { return units.FormatBytes(n << 20) }
