package inventory

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/shardwise/shardwise/planner/catalog"
)

// WriteHCL writes the catalog in the catalog file format, preceded by
// comments that say how each class was made: its nodes, enabled drivers,
// devices, and the source of each speed ("history, n=3" or "default 1.0,
// no history"), then the excluded nodes and the notes. The output is
// accepted by -catalog as it is.
func (r *Report) WriteHCL(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("# Executor catalog discovered from Nomad (shardwise executors -discover).\n")
	for _, line := range r.lines() {
		b.WriteString("# " + line + "\n")
	}
	b.WriteString("\n")
	var cat bytes.Buffer
	if err := catalog.WriteHCL(&cat, r.Catalog); err != nil {
		return err
	}
	src, err := explicitNoGPUs(cat.Bytes())
	if err != nil {
		return err
	}
	b.Write(src)
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write discovered catalog: %w", err)
	}
	return nil
}

// WriteSummary writes what WriteHCL's comments say, for a terminal.
func (r *Report) WriteSummary(w io.Writer) error {
	if _, err := io.WriteString(w, strings.Join(r.lines(), "\n")+"\n"); err != nil {
		return fmt.Errorf("write discovery summary: %w", err)
	}
	return nil
}

// lines is the report as text lines.
func (r *Report) lines() []string {
	var out []string
	for _, c := range r.Classes {
		shard := "shard driver: yes"
		if !c.Shard {
			shard = "shard driver: NO (jobs with -driver shard cannot run here)"
		}
		out = append(out, fmt.Sprintf("%s: node class %q, pool %q, %s (%s); drivers %s; %s",
			c.Name, c.NodeClass, c.NodePool, plural(len(c.Nodes), "node"), strings.Join(c.Nodes, ", "),
			orNone(strings.Join(c.Drivers, ",")), shard))
		for _, d := range c.Devices {
			out = append(out, "  device "+d)
		}
		out = append(out, "  speeds: "+speedText(c.Speeds))
	}
	if len(r.Excluded) == 0 {
		out = append(out, "excluded nodes: none")
	}
	for _, e := range r.Excluded {
		out = append(out, fmt.Sprintf("excluded node %s (%s, node class %q): %s", e.Name, shortID(e.ID), e.NodeClass, e.Reason))
	}
	for _, n := range r.Notes {
		out = append(out, "note: "+n)
	}
	return out
}

func speedText(es []SpeedEstimate) string {
	parts := make([]string, len(es))
	for i, e := range es {
		v := strconv.FormatFloat(e.Speed, 'g', 4, 64)
		switch {
		case e.Reference:
			parts[i] = fmt.Sprintf("%s %s (reference class)", e.Kind, v)
		case e.Default():
			parts[i] = fmt.Sprintf("%s %s (default, no history)", e.Kind, v)
		default:
			parts[i] = fmt.Sprintf("%s %s (history, n=%d)", e.Kind, v, e.N)
		}
	}
	return strings.Join(parts, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// explicitNoGPUs adds gpus = 0 and gpu_memory = "0MiB" to every instance block that sets no gpus:
// -catalog merges the file over the default catalog, and a discovered
// class without GPUs that shares a default class's name (a node class
// "gpu-accelerated" whose nodes have no GPU) must not inherit the
// default's GPU and device request.
func explicitNoGPUs(src []byte) ([]byte, error) {
	f, diags := hclwrite.ParseConfig(src, "discovered.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("write discovered catalog: %s", diags.Error())
	}
	for _, ex := range f.Body().Blocks() {
		for _, in := range ex.Body().Blocks() {
			if in.Type() == "instance" && in.Body().GetAttribute("gpus") == nil {
				in.Body().SetAttributeValue("gpus", cty.NumberIntVal(0))
				in.Body().SetAttributeValue("gpu_memory", cty.StringVal("0MiB"))
			}
		}
	}
	return f.Bytes(), nil
}
