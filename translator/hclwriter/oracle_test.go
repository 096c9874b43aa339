package hclwriter

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/shardwise/shardwise/planner/graph"
)

// This file is the oracle of the tests: the writer built on hclwrite's Body
// API and hclwrite.Format that Encode replaced (it walked the whole body for
// every task block, quadratic, and cost 20 times more even without that).
// The tests hold Encode byte for byte equal to it.

// encodeHCLWrite is Encode through hclwrite.
func encodeHCLWrite(g *graph.Graph) ([]byte, error) {
	if len(g.Tasks) == 0 {
		return nil, fmt.Errorf("graph %q: no tasks to write", g.Name)
	}
	nm := newNamer(g)
	extra, err := undeclaredEdges(g)
	if err != nil {
		return nil, fmt.Errorf("graph %q: %w", g.Name, err)
	}
	f := hclwrite.NewEmptyFile()
	gb := f.Body().AppendNewBlock("graph", []string{g.Name}).Body()
	writeGraphAttrs(gb, g)
	// appendBlock would walk every block already written (hclwrite's
	// Blocks and Attributes list the whole body), which made the import of
	// a large trace quadratic; the graph body's layout is known here.
	blank := len(gb.Attributes()) > 0
	for _, t := range g.Tasks {
		if blank {
			gb.AppendNewline()
		}
		blank = true
		tb := gb.AppendNewBlock("task", []string{nm.task[t.Name]}).Body()
		if err := writeTask(tb, t, nm, extra[t.Name]); err != nil {
			return nil, fmt.Errorf("graph %q: task %q: %w", g.Name, t.Name, err)
		}
	}
	return hclwrite.Format(f.Bytes()), nil
}

func writeGraphAttrs(b *hclwrite.Body, g *graph.Graph) {
	if len(g.Datacenters) > 0 {
		b.SetAttributeValue("datacenters", stringList(g.Datacenters))
	}
	setString(b, "region", g.Region)
	setString(b, "namespace", g.Namespace)
	setInt(b, "priority", int64(g.Priority))
	setString(b, "driver", g.Driver)
}

func writeTask(b *hclwrite.Body, t *graph.Task, nm *namer, extra *extraRefs) error {
	label := nm.task[t.Name]
	setString(b, "command", t.Command)
	if len(t.Args) > 0 {
		b.SetAttributeValue("args", stringList(t.Args))
	}
	writeEnv(b, t, label)
	if t.Signature != "" && t.Signature != label {
		b.SetAttributeValue("signature", cty.StringVal(t.Signature))
	}
	if t.Type != "" && t.Type != graph.TypeBatch {
		b.SetAttributeValue("type", cty.StringVal(string(t.Type)))
	}
	inputs, deps := t.Inputs, t.DependsOn
	if extra != nil {
		inputs = append(append([]graph.Input(nil), inputs...), extra.inputs...)
		deps = append(append([]string(nil), deps...), extra.deps...)
	}
	if err := writeDependsOn(b, deps, nm); err != nil {
		return err
	}
	for _, a := range t.Artifacts {
		writeArtifact(b, a)
	}
	for _, in := range inputs {
		if err := writeInput(b, in, nm); err != nil {
			return err
		}
	}
	for _, o := range t.Outputs {
		if err := writeOutput(b, o, nm.output[t.Name][o.Name]); err != nil {
			return err
		}
	}
	if err := writeHints(b, t.Hints); err != nil {
		return err
	}
	return writeSplit(b, t.Split)
}

// writeEnv writes t's env, plus OriginalNameEnv when label is not t's name
// (unless t's env already sets that key).
func writeEnv(b *hclwrite.Body, t *graph.Task, label string) {
	env := map[string]cty.Value{}
	for k, v := range t.Env {
		env[k] = cty.StringVal(v)
	}
	if _, set := env[OriginalNameEnv]; !set && label != t.Name {
		env[OriginalNameEnv] = cty.StringVal(t.Name)
	}
	if len(env) > 0 {
		b.SetAttributeValue("env", cty.MapVal(env))
	}
}

func writeDependsOn(b *hclwrite.Body, deps []string, nm *namer) error {
	seen := map[string]bool{}
	var elems []hclwrite.Tokens
	for _, d := range deps {
		if seen[d] {
			continue
		}
		seen[d] = true
		tid, _, err := nm.ref(d, "")
		if err != nil {
			return fmt.Errorf("depends_on: %w", err)
		}
		elems = append(elems, hclwrite.TokensForTraversal(hcl.Traversal{
			hcl.TraverseRoot{Name: "task"}, hcl.TraverseAttr{Name: tid},
		}))
	}
	if len(elems) > 0 {
		b.SetAttributeRaw("depends_on", hclwrite.TokensForTuple(elems))
	}
	return nil
}

func writeArtifact(b *hclwrite.Body, a graph.Artifact) {
	ab := appendBlock(b, "artifact", nil)
	setString(ab, "source", a.Source)
	setString(ab, "destination", a.Destination)
	if len(a.Options) > 0 {
		ab.SetAttributeValue("options", stringMap(a.Options))
	}
}

func writeInput(b *hclwrite.Body, in graph.Input, nm *namer) error {
	if in.Output == "" {
		return fmt.Errorf("input from task %q names no output", in.Task)
	}
	tid, oid, err := nm.ref(in.Task, in.Output)
	if err != nil {
		return fmt.Errorf("input: %w", err)
	}
	ib := appendBlock(b, "input", nil)
	ib.SetAttributeTraversal("from", hcl.Traversal{
		hcl.TraverseRoot{Name: "task"},
		hcl.TraverseAttr{Name: tid},
		hcl.TraverseAttr{Name: "output"},
		hcl.TraverseAttr{Name: oid},
	})
	if in.Path != "" && in.Path != "in/"+tid+"-"+oid {
		ib.SetAttributeValue("path", cty.StringVal(in.Path))
	}
	return nil
}

func writeOutput(b *hclwrite.Body, o graph.Output, label string) error {
	ob := appendBlock(b, "output", []string{label})
	if o.Path != "" && o.Path != "out/"+label {
		ob.SetAttributeValue("path", cty.StringVal(o.Path))
	}
	if o.Bytes < 0 {
		return fmt.Errorf("output %q: size %d bytes: must not be negative", o.Name, o.Bytes)
	}
	if o.Bytes > 0 {
		if err := setSize(ob, "size", o.Bytes); err != nil {
			return fmt.Errorf("output %q: %w", o.Name, err)
		}
	}
	if o.Stream {
		ob.SetAttributeValue("stream", cty.True)
	}
	return nil
}

func writeHints(b *hclwrite.Body, h graph.Hints) error {
	h.DefRange = hcl.Range{}
	if h == (graph.Hints{}) {
		return nil
	}
	hb := appendBlock(b, "hints", nil)
	setString(hb, "kind", string(h.Kind))
	setInt(hb, "cpu", int64(h.CPU))
	setInt(hb, "cores", int64(h.Cores))
	sizes := []struct {
		name string
		mib  int64
	}{{"memory", h.MemoryMiB}, {"disk", h.DiskMiB}}
	for _, s := range sizes {
		if err := setMiB(hb, s.name, s.mib); err != nil {
			return fmt.Errorf("hints: %w", err)
		}
	}
	setInt(hb, "gpus", int64(h.GPUs))
	if err := setMiB(hb, "gpu_memory", h.GPUMemoryMiB); err != nil {
		return fmt.Errorf("hints: %w", err)
	}
	if err := setDuration(hb, "runtime", h.Runtime); err != nil {
		return fmt.Errorf("hints: %w", err)
	}
	if err := setDuration(hb, "latency", h.LatencyTarget); err != nil {
		return fmt.Errorf("hints: %w", err)
	}
	setString(hb, "executor", h.Executor)
	return nil
}

func writeSplit(b *hclwrite.Body, s *graph.Split) error {
	if s == nil {
		return nil
	}
	if (s.InputBytes > 0) == (s.Items > 0) {
		return fmt.Errorf("split: want exactly one of input_size (%d bytes) and items (%d)", s.InputBytes, s.Items)
	}
	if s.Items == 1 || s.MaxShards == 1 || s.InputBytes < 0 || s.Items < 0 || s.MaxShards < 0 {
		return fmt.Errorf("split: items and max_shards must be 0 (unset) or at least 2, input_size not negative")
	}
	sb := appendBlock(b, "split", nil)
	if s.InputBytes != 0 {
		if err := setSize(sb, "input_size", s.InputBytes); err != nil {
			return fmt.Errorf("split: %w", err)
		}
	}
	setInt(sb, "items", int64(s.Items))
	setInt(sb, "max_shards", int64(s.MaxShards))
	return nil
}

// appendBlock appends a nested block preceded by a blank line when the body
// already holds something, the layout of docs/graph-language.md.
func appendBlock(b *hclwrite.Body, typ string, labels []string) *hclwrite.Body {
	if len(b.Attributes()) > 0 || len(b.Blocks()) > 0 {
		b.AppendNewline()
	}
	return b.AppendNewBlock(typ, labels).Body()
}

func setString(b *hclwrite.Body, name, v string) {
	if v != "" {
		b.SetAttributeValue(name, cty.StringVal(v))
	}
}

func setInt(b *hclwrite.Body, name string, v int64) {
	if v != 0 {
		b.SetAttributeValue(name, cty.NumberIntVal(v))
	}
}

func setSize(b *hclwrite.Body, name string, n int64) error {
	s, err := FormatSize(n)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	b.SetAttributeValue(name, cty.StringVal(s))
	return nil
}

// setMiB writes a size given in MiB; 0 means unset.
func setMiB(b *hclwrite.Body, name string, mib int64) error {
	if mib == 0 {
		return nil
	}
	if mib < 0 || mib > (1<<53)>>20 {
		return fmt.Errorf("%s: %d MiB out of range", name, mib)
	}
	return setSize(b, name, mib<<20)
}

// setDuration writes a duration; 0 means unset.
func setDuration(b *hclwrite.Body, name string, d time.Duration) error {
	if d == 0 {
		return nil
	}
	s, err := FormatDuration(d)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	b.SetAttributeValue(name, cty.StringVal(s))
	return nil
}

func stringList(vs []string) cty.Value {
	l := make([]cty.Value, len(vs))
	for i, v := range vs {
		l[i] = cty.StringVal(v)
	}
	return cty.ListVal(l)
}

func stringMap(m map[string]string) cty.Value {
	vs := make(map[string]cty.Value, len(m))
	for k, v := range m {
		vs[k] = cty.StringVal(v)
	}
	return cty.MapVal(vs)
}
