// Package hclwriter writes a graph.Graph as a file of Shardwise's task graph
// language (docs/graph-language.md): one graph block holding one task block
// per task, with its artifact, input, output, hints and split blocks. It is
// the inverse of the HCL parser in translator/hclreader for graphs without
// variables: what Write emits parses back to the same tasks, references,
// sizes and durations. (An edge parsed from an input block carries its
// output's declared size, whatever Edge.Bytes the written graph held.)
//
// # Names
//
// Block labels may be any string, but inputs and depends_on refer to tasks
// and outputs by traversal (task.NAME.output.OUT), and traversal steps must
// be identifiers. Write therefore renames every task and output whose name is
// not an identifier, with Identifiers (a deterministic mapping: invalid
// runes become "_", a leading digit or hyphen gets a "t_" prefix, clashes get
// "_2", "_3", ... suffixes), and keeps the original task name both as the
// task's signature (when the signature was the name) and in the task's env
// under OriginalNameEnv. References are rewritten to the new names.
//
// # Defaults
//
// Values equal to the language's defaults are left out: the batch type, an
// output path of "out/<output>", an input path of "in/<task>-<output>", a
// signature equal to the task's name, and every zero hint.
//
// # Sizes and durations
//
// Sizes are written with FormatSize (the shortest exact form, "1.5GiB" or
// "4150080B") and durations with FormatDuration (Go syntax), so nothing is
// rounded: each parses back with planner/units to the same bytes and
// nanoseconds.
package hclwriter

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/translator/hcltext"
)

// Write writes g to w as one formatted graph block (see the package doc for
// renaming and defaults). It returns an error, and writes nothing, if g has no
// tasks, if an input, depends_on or edge names a task or output that g does
// not have, if a size is negative or beyond 2^53 bytes, or if a split does
// not give exactly one of input_size and items (or gives items or
// max_shards of 1), which the language rejects; it also returns w's write
// error.
func Write(w io.Writer, g *graph.Graph) error {
	src, err := Encode(g)
	if err != nil {
		return err
	}
	if _, err := w.Write(src); err != nil {
		return fmt.Errorf("write graph %q: %w", g.Name, err)
	}
	return nil
}

// Encode returns g in the graph language, formatted as by hclwrite.Format.
// It fails as Write does. Its time and memory are linear in the size of g.
func Encode(g *graph.Graph) ([]byte, error) {
	if len(g.Tasks) == 0 {
		return nil, fmt.Errorf("graph %q: no tasks to write", g.Name)
	}
	nm := newNamer(g)
	extra, err := undeclaredEdges(g)
	if err != nil {
		return nil, fmt.Errorf("graph %q: %w", g.Name, err)
	}
	w := &writer{nm: nm}
	w.Open("graph", g.Name)
	w.graphAttrs(g)
	for _, t := range g.Tasks {
		w.block("task", nm.task[t.Name])
		if err := w.task(t, extra[t.Name]); err != nil {
			return nil, fmt.Errorf("graph %q: task %q: %w", g.Name, t.Name, err)
		}
		w.end()
	}
	w.Close()
	return w.Bytes(), nil
}

// namer holds the identifier of every task and output of a graph.
type namer struct {
	task   map[string]string            // task name -> identifier
	output map[string]map[string]string // task name -> output name -> identifier
}

func newNamer(g *graph.Graph) *namer {
	nm := &namer{task: map[string]string{}, output: map[string]map[string]string{}}
	names := make([]string, len(g.Tasks))
	for i, t := range g.Tasks {
		names[i] = t.Name
	}
	for i, id := range Identifiers(names) {
		nm.task[names[i]] = id
	}
	for _, t := range g.Tasks {
		outs := make([]string, len(t.Outputs))
		for i, o := range t.Outputs {
			outs[i] = o.Name
		}
		m := map[string]string{}
		for i, id := range Identifiers(outs) {
			m[outs[i]] = id
		}
		nm.output[t.Name] = m
	}
	return nm
}

// ref returns the identifiers of task's output out, or an error if either is
// unknown. An empty out only checks the task.
func (nm *namer) ref(task, out string) (string, string, error) {
	tid, ok := nm.task[task]
	if !ok {
		return "", "", fmt.Errorf("unknown task %q", task)
	}
	if out == "" {
		return tid, "", nil
	}
	oid, ok := nm.output[task][out]
	if !ok {
		return "", "", fmt.Errorf("task %q has no output %q", task, out)
	}
	return tid, oid, nil
}

// extraRefs are edges of a graph that its tasks' Inputs and DependsOn do not
// declare (graphs built in code): Write adds them so no edge is lost.
type extraRefs struct {
	inputs []graph.Input
	deps   []string
}

func undeclaredEdges(g *graph.Graph) (map[string]*extraRefs, error) {
	declared := map[[3]string]bool{}
	for _, t := range g.Tasks {
		for _, in := range t.Inputs {
			declared[[3]string{in.Task, t.Name, in.Output}] = true
		}
		for _, d := range t.DependsOn {
			declared[[3]string{d, t.Name, ""}] = true
		}
	}
	extra := map[string]*extraRefs{}
	for _, e := range g.Edges {
		if e == nil {
			return nil, errors.New("nil edge")
		}
		key := [3]string{e.From, e.To, e.Output}
		if declared[key] {
			continue
		}
		declared[key] = true
		x := extra[e.To]
		if x == nil {
			x = &extraRefs{}
			extra[e.To] = x
		}
		if e.Output == "" {
			x.deps = append(x.deps, e.From)
		} else {
			x.inputs = append(x.inputs, graph.Input{Task: e.From, Output: e.Output})
		}
	}
	return extra, nil
}

// writer emits the graph language through hcltext. It keeps, per open
// block, whether the block holds anything yet: a nested block is preceded
// by a blank line when it does (the layout of docs/graph-language.md).
type writer struct {
	hcltext.Writer
	nm       *namer
	nonEmpty []bool
}

// block opens a nested block.
func (w *writer) block(typ string, labels ...string) {
	if n := len(w.nonEmpty); n > 0 && w.nonEmpty[n-1] {
		w.Blank()
	}
	w.mark()
	w.Open(typ, labels...)
	w.nonEmpty = append(w.nonEmpty, false)
}

// end closes the block block opened.
func (w *writer) end() {
	w.nonEmpty = w.nonEmpty[:len(w.nonEmpty)-1]
	w.Close()
}

// mark records that the innermost open block holds something.
func (w *writer) mark() {
	if n := len(w.nonEmpty); n > 0 {
		w.nonEmpty[n-1] = true
	}
}

// attr writes an attribute whose value is HCL text.
func (w *writer) attr(name, value string) {
	w.mark()
	w.Attr(name, value)
}

func (w *writer) str(name, v string) {
	if v != "" {
		w.attr(name, hcltext.Quote(v))
	}
}

func (w *writer) int(name string, v int64) {
	if v != 0 {
		w.attr(name, strconv.FormatInt(v, 10))
	}
}

// strMap writes a map of strings as an object attribute, one key a line in
// key order, as hclwrite writes a cty map.
func (w *writer) strMap(name string, m map[string]string) {
	w.mark()
	// Values of a map[string]string are always writable.
	_ = w.Value(name, m)
}

func (w *writer) graphAttrs(g *graph.Graph) {
	w.nonEmpty = append(w.nonEmpty, false)
	if len(g.Datacenters) > 0 {
		w.attr("datacenters", hcltext.List(g.Datacenters))
	}
	w.str("region", g.Region)
	w.str("namespace", g.Namespace)
	w.int("priority", int64(g.Priority))
	w.str("driver", g.Driver)
}

func (w *writer) task(t *graph.Task, extra *extraRefs) error {
	label := w.nm.task[t.Name]
	w.str("command", t.Command)
	if len(t.Args) > 0 {
		w.attr("args", hcltext.List(t.Args))
	}
	w.env(t, label)
	if t.Signature != "" && t.Signature != label {
		w.attr("signature", hcltext.Quote(t.Signature))
	}
	if t.Type != "" && t.Type != graph.TypeBatch {
		w.attr("type", hcltext.Quote(string(t.Type)))
	}
	inputs, deps := t.Inputs, t.DependsOn
	if extra != nil {
		inputs = append(append([]graph.Input(nil), inputs...), extra.inputs...)
		deps = append(append([]string(nil), deps...), extra.deps...)
	}
	if err := w.dependsOn(deps); err != nil {
		return err
	}
	for _, a := range t.Artifacts {
		w.artifact(a)
	}
	for _, in := range inputs {
		if err := w.input(in); err != nil {
			return err
		}
	}
	for _, o := range t.Outputs {
		if err := w.output(o, w.nm.output[t.Name][o.Name]); err != nil {
			return err
		}
	}
	if err := w.hints(t.Hints); err != nil {
		return err
	}
	return w.split(t.Split)
}

// env writes t's env, plus OriginalNameEnv when label is not t's name
// (unless t's env already sets that key).
func (w *writer) env(t *graph.Task, label string) {
	env := t.Env
	if _, set := env[OriginalNameEnv]; !set && label != t.Name {
		env = make(map[string]string, len(t.Env)+1)
		maps.Copy(env, t.Env)
		env[OriginalNameEnv] = t.Name
	}
	if len(env) > 0 {
		w.strMap("env", env)
	}
}

func (w *writer) dependsOn(deps []string) error {
	seen := map[string]bool{}
	var sb strings.Builder
	for _, d := range deps {
		if seen[d] {
			continue
		}
		seen[d] = true
		tid, _, err := w.nm.ref(d, "")
		if err != nil {
			return fmt.Errorf("depends_on: %w", err)
		}
		if sb.Len() > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("task.")
		sb.WriteString(tid)
	}
	if sb.Len() > 0 {
		w.attr("depends_on", "["+sb.String()+"]")
	}
	return nil
}

func (w *writer) artifact(a graph.Artifact) {
	w.block("artifact")
	w.str("source", a.Source)
	w.str("destination", a.Destination)
	if len(a.Options) > 0 {
		w.strMap("options", a.Options)
	}
	w.end()
}

func (w *writer) input(in graph.Input) error {
	if in.Output == "" {
		return fmt.Errorf("input from task %q names no output", in.Task)
	}
	tid, oid, err := w.nm.ref(in.Task, in.Output)
	if err != nil {
		return fmt.Errorf("input: %w", err)
	}
	w.block("input")
	w.attr("from", "task."+tid+".output."+oid)
	if in.Path != "" && in.Path != "in/"+tid+"-"+oid {
		w.attr("path", hcltext.Quote(in.Path))
	}
	w.end()
	return nil
}

func (w *writer) output(o graph.Output, label string) error {
	if o.Bytes < 0 {
		return fmt.Errorf("output %q: size %d bytes: must not be negative", o.Name, o.Bytes)
	}
	size := ""
	if o.Bytes > 0 {
		s, err := FormatSize(o.Bytes)
		if err != nil {
			return fmt.Errorf("output %q: size: %w", o.Name, err)
		}
		size = s
	}
	w.block("output", label)
	if o.Path != "" && o.Path != "out/"+label {
		w.attr("path", hcltext.Quote(o.Path))
	}
	w.str("size", size)
	if o.Stream {
		w.attr("stream", "true")
	}
	w.end()
	return nil
}

func (w *writer) hints(h graph.Hints) error {
	h.DefRange = hcl.Range{}
	if h == (graph.Hints{}) {
		return nil
	}
	vals := make(map[string]string, 4)
	for _, s := range []struct {
		name string
		mib  int64
	}{{"memory", h.MemoryMiB}, {"disk", h.DiskMiB}, {"gpu_memory", h.GPUMemoryMiB}} {
		v, err := formatMiB(s.name, s.mib)
		if err != nil {
			return fmt.Errorf("hints: %w", err)
		}
		vals[s.name] = v
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"runtime", h.Runtime}, {"latency", h.LatencyTarget}} {
		v, err := formatDuration(d.name, d.d)
		if err != nil {
			return fmt.Errorf("hints: %w", err)
		}
		vals[d.name] = v
	}
	w.block("hints")
	w.str("kind", string(h.Kind))
	w.int("cpu", int64(h.CPU))
	w.int("cores", int64(h.Cores))
	w.str("memory", vals["memory"])
	w.str("disk", vals["disk"])
	w.int("gpus", int64(h.GPUs))
	w.str("gpu_memory", vals["gpu_memory"])
	w.str("runtime", vals["runtime"])
	w.str("latency", vals["latency"])
	w.str("executor", h.Executor)
	w.end()
	return nil
}

func (w *writer) split(s *graph.Split) error {
	if s == nil {
		return nil
	}
	if (s.InputBytes > 0) == (s.Items > 0) {
		return fmt.Errorf("split: want exactly one of input_size (%d bytes) and items (%d)", s.InputBytes, s.Items)
	}
	if s.Items == 1 || s.MaxShards == 1 || s.InputBytes < 0 || s.Items < 0 || s.MaxShards < 0 {
		return fmt.Errorf("split: items and max_shards must be 0 (unset) or at least 2, input_size not negative")
	}
	size := ""
	if s.InputBytes != 0 {
		v, err := FormatSize(s.InputBytes)
		if err != nil {
			return fmt.Errorf("split: input_size: %w", err)
		}
		size = v
	}
	w.block("split")
	w.str("input_size", size)
	w.int("items", int64(s.Items))
	w.int("max_shards", int64(s.MaxShards))
	w.end()
	return nil
}

// formatMiB formats a size given in MiB; 0 means unset ("").
func formatMiB(name string, mib int64) (string, error) {
	if mib == 0 {
		return "", nil
	}
	if mib < 0 || mib > (1<<53)>>20 {
		return "", fmt.Errorf("%s: %d MiB out of range", name, mib)
	}
	s, err := FormatSize(mib << 20)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// formatDuration formats a duration; 0 means unset ("").
func formatDuration(name string, d time.Duration) (string, error) {
	if d == 0 {
		return "", nil
	}
	s, err := FormatDuration(d)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}
