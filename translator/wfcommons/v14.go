package wfcommons

import "fmt"

// normalise14 turns a legacy WfFormat 1.4 instance into a trace. Tasks are
// identified by their name (parents and children list names; where a
// listed name is no task's, it is looked up among the task ids); each carries
// its files and, if it ran, its measurements.
func normalise14(d *doc14, file string) (*trace, error) {
	if d.Workflow == nil {
		return nil, failf("workflow", "missing")
	}
	w := d.Workflow
	tr := &trace{
		file: file, schema: d.SchemaVersion, name: d.Name, executedAt: w.ExecutedAt,
		makespan: w.MakespanInSeconds, tasksPath: "workflow.tasks", index: map[string]int{},
	}
	if d.WMS != nil {
		tr.system = d.WMS.Name
	}
	var err error
	if tr.machines, err = machinesOf(w.Machines, "workflow.machines"); err != nil {
		return nil, err
	}
	for i := range w.Tasks {
		t, err := task14Of(&w.Tasks[i], fmt.Sprintf("%s[%d]", tr.tasksPath, i))
		if err != nil {
			return nil, err
		}
		if err := tr.addTask(t, "name"); err != nil {
			return nil, err
		}
		if id := w.Tasks[i].ID; id != "" {
			if tr.altIndex == nil {
				tr.altIndex = map[string]int{}
			}
			if _, dup := tr.altIndex[id]; !dup {
				tr.altIndex[id] = i
			}
		}
	}
	return tr, nil
}

func task14Of(lt *task14, p string) (*task, error) {
	t := &task{
		id: lt.Name, name: lt.Name, category: lt.Category, path: p,
		parents: lt.Parents, children: lt.Children,
	}
	for j, f := range lt.Files {
		fp := fmt.Sprintf("%s.files[%d]", p, j)
		if f.Name == "" {
			return nil, failf(fp, "file has no name")
		}
		b, err := byteCount(f.SizeInBytes, 1, fp+".sizeInBytes")
		if err != nil {
			return nil, err
		}
		switch f.Link {
		case "input":
			t.inputs = append(t.inputs, file{id: f.Name, bytes: b})
		case "output":
			t.outputs = append(t.outputs, file{id: f.Name, bytes: b})
		default:
			return nil, failf(fp+".link", `want "input" or "output", got %q`, f.Link)
		}
	}
	t.inputs, t.outputs = dedupeFiles(t.inputs), dedupeFiles(t.outputs)
	if lt.RuntimeInSeconds == nil {
		return t, nil
	}
	e := &execution{path: p, executedAt: lt.ExecutedAt, node: lt.Machine}
	if lt.Machine != "" {
		e.nodes = 1
	}
	e.program, e.args = commandOf(lt.Command)
	t.exec = e
	return t, e.measure(measures{
		runtime: lt.RuntimeInSeconds, cores: lt.Cores, avgCPU: lt.AvgCPU,
		memory: lt.MemoryInBytes, read: lt.ReadBytes, written: lt.WrittenBytes,
		memoryKB: lt.Memory, readKB: lt.BytesRead, writtenKB: lt.BytesWritten,
		coresField: "cores",
	}, p)
}
