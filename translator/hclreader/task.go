package hclreader

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/text/unicode/norm"

	"github.com/shardwise/shardwise/internal/parallel"
	"github.com/shardwise/shardwise/planner/graph"
)

// taskDecl is a task read from its block, with the references in its
// inputs and depends_on still to be resolved into edges.
type taskDecl struct {
	task   *graph.Task
	inputs []inputDecl
	deps   []ref
	// sized marks the outputs, by index in task.Outputs, that declare a
	// size (a declared 0B is known).
	sized []bool
}

// inputDecl is an input's from reference; ok is false if it was invalid
// (and reported).
type inputDecl struct {
	ref ref
	ok  bool
}

// decodedTask is one task block read on its own: its header (type,
// label and ranges, without its body), the task and its diagnostics.
type decodedTask struct {
	head  hcl.Block
	decl  *taskDecl
	diags hcl.Diagnostics
}

// decodeTaskBlock reads task block b on its own, into its own diagnostics:
// tasks are read on all cores, and their diagnostics added in block order
// by addTasks, so that the result does not depend on scheduling.
func (r *reader) decodeTaskBlock(b *hcl.Block) decodedTask {
	own := &reader{opts: r.opts, vars: r.vars, ctx: r.ctx}
	d := own.decodeTask(b, norm.NFC.String(b.Labels[0]))
	return decodedTask{
		head:  hcl.Block{Type: b.Type, Labels: b.Labels, DefRange: b.DefRange, TypeRange: b.TypeRange, LabelRanges: b.LabelRanges},
		decl:  d,
		diags: own.diags,
	}
}

// decodeTaskBlocks reads the task blocks on all cores (decodeTaskBlock).
func (r *reader) decodeTaskBlocks(blocks hcl.Blocks) []decodedTask {
	tasks := make([]decodedTask, len(blocks))
	parallel.Chunks(len(blocks), 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			tasks[i] = r.decodeTaskBlock(blocks[i])
		}
	})
	return tasks
}

// addTasks adds the decoded tasks to g in block order with their
// diagnostics, reporting invalid and duplicate names. Names are compared,
// and kept, in Unicode NFC, so that two spellings of one name (NFC and NFD
// "café") are one task to references and a duplicate here, as they would
// be to a reader. Duplicates are still read, for their own diagnostics,
// but not added.
func (r *reader) addTasks(g *graph.Graph, tasks []decodedTask) []*taskDecl {
	decls := make([]*taskDecl, 0, len(tasks))
	first := make(map[string]*hcl.Block, len(tasks))
	g.Grow(len(tasks))
	for i := range tasks {
		b, d := &tasks[i].head, tasks[i].decl
		name := d.task.Name
		valid := r.validName("Task", b.Labels[0], "task."+b.Labels[0], b.LabelRanges[0])
		r.diags = append(r.diags, tasks[i].diags...)
		if prev, dup := first[name]; dup {
			r.duplicateName(b, prev, "Duplicate task", "A task named %q was already declared %s. Task names must be unique within a graph.")
			continue
		}
		first[name] = b
		if valid && g.AddTask(d.task) == nil {
			decls = append(decls, d)
		}
	}
	return decls
}

// duplicateName reports block b, whose label repeats that of prev once
// both are in NFC. format takes the name and where prev was declared.
// Labels that differ only in normalisation are named in escaped form,
// since they print alike.
func (r *reader) duplicateName(b, prev *hcl.Block, summary, format string) {
	name, prevName := b.Labels[0], prev.Labels[0]
	if name == prevName {
		r.errorAt(b.DefRange, summary, format, name, fmt.Sprintf("on line %d", prev.DefRange.Start.Line))
		return
	}
	at := fmt.Sprintf("at %s:%d:%d as %+q, which is the same name once Unicode-normalised (NFC)",
		prev.LabelRanges[0].Filename, prev.LabelRanges[0].Start.Line, prev.LabelRanges[0].Start.Column, prevName)
	r.errorAt(b.LabelRanges[0], summary, strings.Replace(format, "%q", "%+q", 1), name, at)
}

// decodeTask reads one task block; name is its label in NFC.
func (r *reader) decodeTask(b *hcl.Block, name string) *taskDecl {
	t := &graph.Task{Name: name, DefRange: b.DefRange}
	d := &taskDecl{task: t}
	content := r.content(b.Body, taskSchema)
	a := r.attrs(content, where{format: "task %q", a: t.Name})
	if a.str("command", &t.Command) {
		if strings.TrimSpace(t.Command) == "" {
			r.errorAt(a.rangeOf("command"), "Empty command",
				"Argument \"command\" of task %q is empty; it names the program to run, such as \"/bin/sh\" (its arguments go in args).", t.Name)
		}
	} else if a.isNull("command") {
		r.errorAt(a.rangeOf("command"), "Missing command",
			"Argument \"command\" of task %q is null; every task needs a command, the program to run, such as \"/bin/sh\".", t.Name)
	}
	a.strings("args", &t.Args)
	a.stringMap("env", &t.Env)
	r.checkEnvNames(t, a)
	r.checkNUL(t, a)
	a.str("signature", &t.Signature)
	var typ string
	a.oneOf("type", "Invalid task type", taskTypes, &typ)
	t.Type = graph.TaskType(typ)

	r.decodeArtifacts(t, content.ofType("artifact"))
	r.decodeOutputs(d, content.ofType("output"))
	r.decodeInputs(d, content.ofType("input"))
	if expr, _, ok := content.attr("depends_on"); ok {
		r.decodeDependsOn(d, expr)
	}
	if hb := r.single(t, content, "hints"); hb != nil {
		r.decodeHints(t, hb)
	}
	if sb := r.single(t, content, "split"); sb != nil {
		r.decodeSplit(t, sb)
	}
	return d
}

// single returns the first block of type typ, reporting any others.
func (r *reader) single(t *graph.Task, c content, typ string) *hcl.Block {
	bs := c.ofType(typ)
	if len(bs) == 0 {
		return nil
	}
	for _, b := range bs[1:] {
		r.errorAt(b.DefRange, "Duplicate "+typ+" block",
			"Task %q already has a %s block on line %d; a task takes at most one.", t.Name, typ, bs[0].DefRange.Start.Line)
	}
	return bs[0]
}

// checkEnvNames reports the names in t.Env that no environment variable
// can have: empty, or holding "=" or NUL (the process would see "=x", or
// A=B=y as A). The names are sorted only when one is bad.
func (r *reader) checkEnvNames(t *graph.Task, a attrs) {
	var bad []string
	for k := range t.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			bad = append(bad, k)
		}
	}
	slices.Sort(bad)
	for _, k := range bad {
		r.errorAt(a.rangeOf("env"), "Invalid environment variable name",
			"Argument \"env\" of task %q sets %q, which cannot name an environment variable (empty, or holding \"=\" or a NUL byte).", t.Name, k)
	}
}

// checkNUL reports a NUL byte in t's command, args or env values ("\u0000"
// in HCL): a process's arguments and environment are C strings, so the
// task could not start.
func (r *reader) checkNUL(t *graph.Task, a attrs) {
	if strings.IndexByte(t.Command, 0) >= 0 {
		r.nulError(t, a, "command")
	}
	for _, s := range t.Args {
		if strings.IndexByte(s, 0) >= 0 {
			r.nulError(t, a, "args")
			break
		}
	}
	for _, v := range t.Env {
		if strings.IndexByte(v, 0) >= 0 {
			r.nulError(t, a, "env")
			break
		}
	}
}

// nulError reports argument name of t as holding a NUL byte.
func (r *reader) nulError(t *graph.Task, a attrs, name string) {
	r.errorAt(a.rangeOf(name), "NUL byte in "+name,
		"Argument %q of task %q holds a NUL byte (\\u0000), which no program's arguments or environment can carry.", name, t.Name)
}

// decodeArtifacts reads a task's artifact blocks.
func (r *reader) decodeArtifacts(t *graph.Task, blocks hcl.Blocks) {
	for _, b := range blocks {
		art := graph.Artifact{DefRange: b.DefRange}
		a := r.attrs(r.content(b.Body, artifactSchema), where{format: "an artifact of task %q", a: t.Name})
		if given := a.str("source", &art.Source); (given && strings.TrimSpace(art.Source) == "") || (!given && a.isNull("source")) {
			r.errorAt(a.rangeOf("source"), "Missing artifact source",
				"Argument \"source\" of an artifact of task %q is empty or null; it names what to download, such as \"https://example.com/tool.tar.gz\".", t.Name)
		}
		a.str("destination", &art.Destination)
		a.stringMap("options", &art.Options)
		t.Artifacts = append(t.Artifacts, art)
	}
}

// decodeOutputs reads a task's output blocks, reporting invalid and
// duplicate names.
func (r *reader) decodeOutputs(d *taskDecl, blocks hcl.Blocks) {
	first := map[string]*hcl.Block{}
	var paths map[string]int // output paths, once a task has manyPaths outputs
	for _, b := range blocks {
		name := norm.NFC.String(b.Labels[0])
		if prev, dup := first[name]; dup {
			r.duplicateName(b, prev, "Duplicate output",
				fmt.Sprintf("Task %q already declares an output named %%q %%s. Output names must be unique within a task.", d.task.Name))
			continue
		}
		first[name] = b
		if !r.validName("Output", b.Labels[0], fmt.Sprintf("task.%s.output.%s", d.task.Name, b.Labels[0]), b.LabelRanges[0]) {
			continue
		}
		o := graph.Output{Name: name, Path: "out/" + name, DefRange: b.DefRange}
		a := r.attrs(r.content(b.Body, outputSchema), where{format: "output %q of task %q", a: name, b: d.task.Name})
		a.localPath("path", &o.Path)
		r.checkOutputPath(d.task, o, a, &paths)
		d.sized = append(d.sized, a.size("size", &o.Bytes))
		a.boolean("stream", &o.Stream)
		d.task.Outputs = append(d.task.Outputs, o)
	}
}

// checkOutputPath reports output o of t when an earlier output of t has the
// same path: the two would be one file, each channel carrying the other's
// bytes. A task's first outputs are looked through in place; from
// manyPaths on, paths maps the cleaned paths seen to their outputs.
func (r *reader) checkOutputPath(t *graph.Task, o graph.Output, a attrs, paths *map[string]int) {
	p := filepath.Clean(o.Path)
	prev := -1
	switch {
	case len(t.Outputs) < manyPaths:
		for i := range t.Outputs {
			if filepath.Clean(t.Outputs[i].Path) == p {
				prev = i
				break
			}
		}
	default:
		if *paths == nil {
			*paths = make(map[string]int, len(t.Outputs)+1)
			for i := range t.Outputs {
				if _, ok := (*paths)[filepath.Clean(t.Outputs[i].Path)]; !ok {
					(*paths)[filepath.Clean(t.Outputs[i].Path)] = i
				}
			}
		}
		if i, ok := (*paths)[p]; ok {
			prev = i
		} else {
			(*paths)[p] = len(t.Outputs)
		}
	}
	if prev < 0 {
		return
	}
	rng := o.DefRange
	if _, _, given := a.c.attr("path"); given {
		rng = a.rangeOf("path")
	}
	r.errorAt(rng, "Duplicate output path",
		"Output %q of task %q has path %q, as output %q on line %d does; each output needs a file or folder of its own.",
		o.Name, t.Name, o.Path, t.Outputs[prev].Name, t.Outputs[prev].DefRange.Start.Line)
}

// decodeInputs reads a task's input blocks; their from references are
// resolved later, once every task is known.
func (r *reader) decodeInputs(d *taskDecl, blocks hcl.Blocks) {
	if len(blocks) > 0 { // no inputs stay nil
		d.inputs = make([]inputDecl, 0, len(blocks))
		d.task.Inputs = make([]graph.Input, 0, len(blocks))
	}
	var paths inputPaths
	for _, b := range blocks {
		content := r.content(b.Body, inputSchema)
		in := graph.Input{DefRange: b.DefRange}
		var decl inputDecl
		if from, _, ok := content.attr("from"); ok {
			decl.ref, decl.ok = r.parseRef(from, true, where{format: "The from argument of an input of task %q", a: d.task.Name})
		}
		in.Task, in.Output = decl.ref.task, decl.ref.output
		in.Path = "in/" + in.Task + "-" + in.Output
		a := r.attrs(content, where{format: "an input of task %q", a: d.task.Name})
		a.localPath("path", &in.Path)
		if len(blocks) > 1 {
			rng, fix := b.DefRange, " Set path in one of them."
			if _, _, given := content.attr("path"); given {
				rng, fix = a.rangeOf("path"), ""
			}
			if i, ok := paths.add(d.task.Inputs, in); !ok {
				prev := d.task.Inputs[i]
				r.errorAt(rng, "Overlapping input paths",
					"Input path %q of task %q overlaps input path %q (output %q of task %q) on line %d; each input needs a path of its own, neither inside the other.%s",
					in.Path, d.task.Name, prev.Path, prev.Output, prev.Task, prev.DefRange.Start.Line, fix)
			}
		}
		d.inputs = append(d.inputs, decl)
		d.task.Inputs = append(d.task.Inputs, in)
	}
}

// inputPaths finds a task's inputs whose paths are, or are inside or
// around, each other's: both would be delivered into one place, which the
// shard driver refuses when the task starts. A task's first few inputs are
// compared pairwise; from manyPaths on, lookups go through maps of each
// path and its parent folders, so a task with thousands of inputs costs no
// more than a map entry per folder.
type inputPaths struct {
	// at maps a cleaned input path to its input's index; under maps each
	// parent folder of one to that input's index. Both are nil until the
	// task has manyPaths inputs.
	at, under map[string]int
}

const manyPaths = 16

// add checks input in, the next of inputs; it returns false and the index
// of an earlier input from another output whose path overlaps in's. The
// same output read twice is a Duplicate input, reported later.
func (ps *inputPaths) add(inputs []graph.Input, in graph.Input) (int, bool) {
	p := filepath.Clean(in.Path)
	other := func(i int) bool { return inputs[i].Task != in.Task || inputs[i].Output != in.Output }
	if len(inputs) < manyPaths {
		for i := range inputs {
			q := filepath.Clean(inputs[i].Path)
			if other(i) && (p == q || inside(p, q) || inside(q, p)) {
				return i, false
			}
		}
		return 0, true
	}
	if ps.at == nil {
		ps.at, ps.under = map[string]int{}, map[string]int{}
		for i := range inputs {
			ps.record(filepath.Clean(inputs[i].Path), i)
		}
	}
	if i, ok := ps.at[p]; ok && other(i) {
		return i, false
	}
	if i, ok := ps.under[p]; ok && other(i) {
		return i, false
	}
	for dir := filepath.Dir(p); dir != "." && dir != "/"; dir = filepath.Dir(dir) {
		if i, ok := ps.at[dir]; ok && other(i) {
			return i, false
		}
	}
	ps.record(p, len(inputs))
	return 0, true
}

// inside reports whether path p is inside folder dir (both cleaned).
func inside(p, dir string) bool {
	return len(p) > len(dir) && p[len(dir)] == '/' && p[:len(dir)] == dir
}

// record notes input i's cleaned path p and its parent folders.
func (ps *inputPaths) record(p string, i int) {
	if _, ok := ps.at[p]; !ok {
		ps.at[p] = i
	}
	for dir := filepath.Dir(p); dir != "." && dir != "/"; dir = filepath.Dir(dir) {
		if _, ok := ps.under[dir]; !ok {
			ps.under[dir] = i
		}
	}
}

// decodeDependsOn reads depends_on, a static list of task references.
func (r *reader) decodeDependsOn(d *taskDecl, expr hcl.Expression) {
	exprs, diags := hcl.ExprList(expr)
	if diags.HasErrors() {
		r.errorAt(expr.Range(), "Invalid reference",
			"The depends_on argument of task %q must be a list of task references, such as [task.prepare].", d.task.Name)
		return
	}
	for _, e := range exprs {
		if rf, ok := r.parseRef(e, false, where{format: "Each depends_on entry of task %q", a: d.task.Name}); ok {
			d.deps = append(d.deps, rf)
			d.task.DependsOn = append(d.task.DependsOn, rf.task)
		}
	}
}

// decodeHints reads a task's hints block.
func (r *reader) decodeHints(t *graph.Task, b *hcl.Block) {
	h := &t.Hints
	h.DefRange = b.DefRange
	a := r.attrs(r.content(b.Body, hintsSchema), where{format: "the hints of task %q", a: t.Name})
	var kind string
	a.oneOf("kind", "Invalid workload kind", kindNames(), &kind)
	h.Kind = graph.Kind(kind)
	a.integer("cpu", 0, math.MaxInt, &h.CPU)
	a.integer("cores", 0, math.MaxInt, &h.Cores)
	a.resourceMiB("memory", true, &h.MemoryMiB)
	a.resourceMiB("disk", false, &h.DiskMiB)
	a.integer("gpus", 0, math.MaxInt, &h.GPUs)
	if a.resourceMiB("gpu_memory", true, &h.GPUMemoryMiB) && h.GPUMemoryMiB > 0 && h.GPUs == 0 && h.Kind != graph.KindGPU {
		rng := a.rangeOf("gpu_memory")
		r.diags = append(r.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "GPU memory without GPUs",
			Detail: fmt.Sprintf("The hints of task %q give gpu_memory, the memory of each GPU, but ask for no GPU: set gpus, or kind = \"gpu\" (1 GPU), or the task gets a GPU only if its history shows one.",
				t.Name),
			Subject: &rng,
		})
	}
	if a.duration("runtime", &h.Runtime) && h.Runtime == 0 {
		rng := a.rangeOf("runtime")
		r.diags = append(r.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Runtime hint of zero",
			Detail: fmt.Sprintf("The hints of task %q give runtime 0, which counts as not given: the task's runtime comes from its history, else the predictor's default (marked \"(default)\" in the plan). For a task that takes next to no time, write a small duration such as \"1ms\".",
				t.Name),
			Subject: &rng,
		})
	}
	a.duration("latency", &h.LatencyTarget)
	if a.str("executor", &h.Executor) && r.opts.Executors != nil && !slices.Contains(r.opts.Executors, h.Executor) {
		r.errorAt(a.rangeOf("executor"), "Unknown executor class",
			"The hints of task %q pin it to executor class %q, which is not in the catalog.%s The catalog's classes: %s.",
			t.Name, h.Executor, suggest(h.Executor, r.opts.Executors), quoteList(r.opts.Executors, "and"))
	}
}

func kindNames() []string {
	names := make([]string, len(graph.Kinds))
	for i, k := range graph.Kinds {
		names[i] = string(k)
	}
	return names
}
