package wfcommons

import (
	"fmt"
	"math"
)

// normalise15 turns a WfFormat 1.5 instance into a trace: specification
// tasks in file order, file sizes from specification.files, and each task's
// execution record matched by id.
func normalise15(d *doc15, file string) (*trace, error) {
	if d.Workflow == nil {
		return nil, failf("workflow", "missing")
	}
	spec := d.Workflow.Specification
	if spec == nil {
		return nil, failf("workflow.specification", "missing")
	}
	tr := &trace{
		file: file, schema: d.SchemaVersion, name: d.Name, runName: d.Workflow.RunName,
		tasksPath: "workflow.specification.tasks", index: map[string]int{},
	}
	if d.RuntimeSystem != nil {
		tr.system = d.RuntimeSystem.Name
	}
	sizes, err := fileSizes15(spec.Files)
	if err != nil {
		return nil, err
	}
	for i := range spec.Tasks {
		if err := tr.addTask(specTask(tr, &spec.Tasks[i], i, sizes), "id"); err != nil {
			return nil, err
		}
	}
	if err := attachExecution15(tr, d.Workflow.Execution); err != nil {
		return nil, err
	}
	return tr, nil
}

// fileSizes15 maps file ids to sizes in bytes; a file without sizeInBytes
// has size 0.
func fileSizes15(files []specFile15) (map[string]int64, error) {
	sizes := make(map[string]int64, len(files))
	for i, f := range files {
		p := fmt.Sprintf("workflow.specification.files[%d]", i)
		if f.ID == "" {
			return nil, failf(p, "file has no id")
		}
		if _, dup := sizes[f.ID]; dup {
			return nil, failf(p+".id", "duplicate file id %q", f.ID)
		}
		b, err := byteCount(f.SizeInBytes, 1, p+".sizeInBytes")
		if err != nil {
			return nil, err
		}
		sizes[f.ID] = b
	}
	return sizes, nil
}

func specTask(tr *trace, st *specTask15, i int, sizes map[string]int64) *task {
	t := &task{
		id: st.ID, name: st.Name, path: fmt.Sprintf("%s[%d]", tr.tasksPath, i),
		parents: st.Parents, children: st.Children,
	}
	t.inputs = tr.files15(st.InputFiles, sizes)
	t.outputs = tr.files15(st.OutputFiles, sizes)
	return t
}

// files15 resolves file ids to sizes, counting ids with no size entry.
func (tr *trace) files15(ids []string, sizes map[string]int64) []file {
	fs := make([]file, 0, len(ids))
	for _, id := range ids {
		b, ok := sizes[id]
		if !ok {
			tr.missingFiles++
		}
		fs = append(fs, file{id: id, bytes: b})
	}
	return dedupeFiles(fs)
}

// attachExecution15 reads workflow.execution: makespan, start, machines and
// one execution record per task.
func attachExecution15(tr *trace, ex *exec15) error {
	if ex == nil {
		tr.warnings = append(tr.warnings, "no workflow.execution: the graph has no measurements and there are no history records")
		return nil
	}
	tr.makespan, tr.executedAt = ex.MakespanInSeconds, ex.ExecutedAt
	var err error
	if tr.machines, err = machinesOf(ex.Machines, "workflow.execution.machines"); err != nil {
		return err
	}
	for i := range ex.Tasks {
		p := fmt.Sprintf("workflow.execution.tasks[%d]", i)
		et := &ex.Tasks[i]
		if et.ID == "" {
			return failf(p, "task has no id")
		}
		j, ok := tr.index[et.ID]
		if !ok {
			return failf(p+".id", "task %q is not in workflow.specification.tasks", et.ID)
		}
		t := tr.tasks[j]
		if t.exec != nil {
			return failf(p+".id", "duplicate task id %q (also at %s)", et.ID, t.exec.path)
		}
		if t.exec, err = execution15(et, p); err != nil {
			return err
		}
	}
	return nil
}

func execution15(et *execTask15, p string) (*execution, error) {
	if et.RuntimeInSeconds == nil {
		return nil, failf(p, "task %q has no runtimeInSeconds", et.ID)
	}
	e := &execution{path: p, executedAt: et.ExecutedAt, nodes: len(et.Machines)}
	e.program, e.args = commandOf(et.Command)
	if len(et.Machines) > 0 {
		e.node = et.Machines[0]
	}
	return e, e.measure(measures{
		runtime: et.RuntimeInSeconds, cores: et.CoreCount, avgCPU: et.AvgCPU,
		memory: et.MemoryInBytes, read: et.ReadBytes, written: et.WrittenBytes,
		coresField: "coreCount",
	}, p)
}

// measures are the raw numbers of an execution record; the legacy KB
// fields are only read when the byte fields are absent.
type measures struct {
	runtime, cores, avgCPU      *float64
	memory, read, written       *float64
	memoryKB, readKB, writtenKB *float64
	coresField                  string // "coreCount" (1.5) or "cores" (1.4)
}

// measure fills e from m, checking each number at its JSON path.
func (e *execution) measure(m measures, p string) error {
	var err error
	if e.runtime, err = count(m.runtime, p+".runtimeInSeconds"); err != nil {
		return err
	}
	if e.coreCount, err = count(m.cores, p+"."+m.coresField); err != nil {
		return err
	}
	if e.avgCPU, err = count(m.avgCPU, p+".avgCPU"); err != nil {
		return err
	}
	e.hasAvgCPU = m.avgCPU != nil
	if e.memory, err = bytesOrKB(m.memory, m.memoryKB, p+".memoryInBytes", p+".memory"); err != nil {
		return err
	}
	e.hasMemory = m.memory != nil || m.memoryKB != nil
	e.memoryZero = e.hasMemory && e.memory == 0
	if e.read, err = bytesOrKB(m.read, m.readKB, p+".readBytes", p+".bytesRead"); err != nil {
		return err
	}
	if e.written, err = bytesOrKB(m.written, m.writtenKB, p+".writtenBytes", p+".bytesWritten"); err != nil {
		return err
	}
	e.disagree = firstDisagreement([]pair{
		{"memoryInBytes", "memory", m.memory, m.memoryKB},
		{"readBytes", "bytesRead", m.read, m.readKB},
		{"writtenBytes", "bytesWritten", m.written, m.writtenKB},
	})
	return nil
}

// pair is a byte field and the legacy KB field that may say the same.
type pair struct {
	name, kbName string
	b, kb        *float64
}

// firstDisagreement describes the first pair whose fields are both present
// and whose KB value is neither the byte value in KB (1000) nor in KiB
// (1024), to within one unit's rounding; "" when they all agree. The byte
// field is the one used.
func firstDisagreement(pairs []pair) string {
	for _, p := range pairs {
		if p.b == nil || p.kb == nil {
			continue
		}
		if math.Abs(*p.b-*p.kb*1000) <= 1000 || math.Abs(*p.b-*p.kb*1024) <= 1024 {
			continue
		}
		return fmt.Sprintf("%s %v vs %s %v KB", p.name, *p.b, p.kbName, *p.kb)
	}
	return ""
}

// bytesOrKB reads a byte field (at path bp), or the legacy KB field (at kp,
// times 1000) when the byte field is absent.
func bytesOrKB(b, kb *float64, bp, kp string) (int64, error) {
	if b != nil || kb == nil {
		return byteCount(b, 1, bp)
	}
	return byteCount(kb, 1000, kp)
}
