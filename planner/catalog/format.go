package catalog

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/units"
)

// Format prints the effective catalog as an aligned table, one row per
// class in catalog order, for `shardwise executors`. The reference class
// is marked "*"; speeds are cpu/memory/io/gpu/latency; bandwidth is per
// second. Placement constraints and devices follow the table. It returns
// the first write error.
func Format(w io.Writer, c *Catalog) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLASS\tNODE CLASS\tN\tCPU (MHz)\tCORES\tMEMORY\tDISK\tGPUS\tSPEED cpu/mem/io/gpu/lat\tBANDWIDTH\tSTARTUP\tFLAGS")
	for _, cl := range c.Classes {
		name := cl.Name
		if name == c.Reference {
			name += " *"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%sGB/s\t%s\t%s\n",
			name, dash(cl.Placement.NodeClass), cl.Instances, cl.Shape.CPU, cl.Shape.Cores,
			units.FormatBytes(cl.Shape.MemoryMiB<<20), units.FormatBytes(cl.Shape.DiskMiB<<20),
			gpuText(cl), speedText(cl), strconv.FormatFloat(cl.BandwidthBytes/1e9, 'g', 4, 64),
			cl.Startup, dash(flagsText(cl)))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("format catalog: %w", err)
	}
	if c.Reference != "" {
		if _, err := fmt.Fprintf(w, "\n* reference class: history without a class is read as having run on %s.\n", c.Reference); err != nil {
			return fmt.Errorf("format catalog: %w", err)
		}
	}
	return formatPlacement(w, c)
}

// formatPlacement lists each class's constraints and device, if any.
func formatPlacement(w io.Writer, c *Catalog) error {
	var sb strings.Builder
	for _, cl := range c.Classes {
		p := cl.Placement
		for _, con := range p.Constraints {
			fmt.Fprintf(&sb, "  %s: constraint %s\n", cl.Name, constraintText(con))
		}
		if p.Device != nil {
			fmt.Fprintf(&sb, "  %s: device %q", cl.Name, p.Device.Name)
			for _, con := range p.Device.Constraints {
				fmt.Fprintf(&sb, ", %s", constraintText(con))
			}
			sb.WriteString("\n")
		}
		if p.NodePool != "" && p.NodePool != DefaultNodePool || len(p.Datacenters) > 0 {
			fmt.Fprintf(&sb, "  %s: node_pool %s, datacenters %s\n", cl.Name, dash(p.NodePool), dash(strings.Join(p.Datacenters, ",")))
		}
	}
	if sb.Len() == 0 {
		return nil
	}
	if _, err := io.WriteString(w, "\nPlacement:\n"+sb.String()); err != nil {
		return fmt.Errorf("format catalog: %w", err)
	}
	return nil
}

func constraintText(con Constraint) string {
	return strings.TrimSpace(fmt.Sprintf("%s %s %s", con.Attribute, con.Operator, con.Value))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func gpuText(cl *Class) string {
	if cl.Shape.GPUs == 0 {
		return "0"
	}
	return fmt.Sprintf("%d x %s", cl.Shape.GPUs, units.FormatBytes(cl.Shape.GPUMemoryMiB<<20))
}

func speedText(cl *Class) string {
	parts := make([]string, len(graph.Kinds))
	for i, k := range graph.Kinds {
		if k == graph.KindGPU && !cl.CanRunGPU() {
			parts[i] = "-"
			continue
		}
		parts[i] = strconv.FormatFloat(cl.SpeedFor(k), 'g', 3, 64)
	}
	return strings.Join(parts, "/")
}

func flagsText(cl *Class) string {
	var f []string
	if cl.Oversubscribe {
		f = append(f, "oversubscribe")
	}
	if cl.Service {
		f = append(f, "service")
	}
	return strings.Join(f, ",")
}

// WriteHCL prints c in the catalog file format (hclwrite-formatted). The
// output parses back with Parse to an equal catalog (positions aside);
// sizes are printed exactly in the largest binary unit that divides them.
func WriteHCL(w io.Writer, c *Catalog) error {
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	if c.Standalone {
		root.SetAttributeValue("extend_default", cty.False)
	}
	if c.Reference != "" {
		root.SetAttributeValue("reference", cty.StringVal(c.Reference))
	}
	for _, cl := range c.Classes {
		root.AppendNewline()
		writeClass(root.AppendNewBlock("executor", []string{cl.Name}).Body(), cl)
	}
	if _, err := w.Write(f.Bytes()); err != nil {
		return fmt.Errorf("write catalog: %w", err)
	}
	return nil
}

func writeClass(b *hclwrite.Body, cl *Class) {
	p := cl.Placement
	setString(b, "description", cl.Description)
	setString(b, "node_class", p.NodeClass)
	setString(b, "node_pool", p.NodePool)
	if len(p.Datacenters) > 0 {
		vals := make([]cty.Value, len(p.Datacenters))
		for i, dc := range p.Datacenters {
			vals[i] = cty.StringVal(dc)
		}
		b.SetAttributeValue("datacenters", cty.ListVal(vals))
	}
	for _, con := range p.Constraints {
		writeConstraint(b, con)
	}
	if p.Device != nil {
		db := b.AppendNewBlock("device", []string{p.Device.Name}).Body()
		for _, con := range p.Device.Constraints {
			writeConstraint(db, con)
		}
	}
	b.AppendNewline()
	writeShape(b.AppendNewBlock("instance", nil).Body(), cl.Shape)
	b.SetAttributeValue("instances", cty.NumberIntVal(int64(cl.Instances)))
	b.AppendNewline()
	writePerformance(b.AppendNewBlock("performance", nil).Body(), cl)
	if cl.Oversubscribe {
		b.SetAttributeValue("oversubscribe", cty.True)
	}
	if cl.Service {
		b.SetAttributeValue("service", cty.True)
	}
}

func setString(b *hclwrite.Body, name, v string) {
	if v != "" {
		b.SetAttributeValue(name, cty.StringVal(v))
	}
}

func writeConstraint(b *hclwrite.Body, con Constraint) {
	cb := b.AppendNewBlock("constraint", nil).Body()
	setString(cb, "attribute", con.Attribute)
	setString(cb, "operator", con.Operator)
	setString(cb, "value", con.Value)
}

func writeShape(b *hclwrite.Body, s Shape) {
	b.SetAttributeValue("cpu", cty.NumberIntVal(int64(s.CPU)))
	if s.Cores != 0 {
		b.SetAttributeValue("cores", cty.NumberIntVal(int64(s.Cores)))
	}
	b.SetAttributeValue("memory", cty.StringVal(exactMiB(s.MemoryMiB)))
	if s.DiskMiB != 0 {
		b.SetAttributeValue("disk", cty.StringVal(exactMiB(s.DiskMiB)))
	}
	if s.GPUs != 0 {
		b.SetAttributeValue("gpus", cty.NumberIntVal(int64(s.GPUs)))
	}
	if s.GPUMemoryMiB != 0 {
		b.SetAttributeValue("gpu_memory", cty.StringVal(exactMiB(s.GPUMemoryMiB)))
	}
}

func writePerformance(b *hclwrite.Body, cl *Class) {
	for _, k := range graph.Kinds {
		if v, ok := cl.Speed[k]; ok {
			b.SetAttributeValue(string(k), cty.NumberFloatVal(v))
		}
	}
	b.SetAttributeValue("bandwidth", cty.StringVal(exactBytes(cl.BandwidthBytes)))
	b.SetAttributeValue("startup", cty.StringVal(cl.Startup.String()))
}

// exactMiB prints mib MiB in the largest binary unit that divides it.
func exactMiB(mib int64) string {
	switch {
	case mib != 0 && mib%(1<<20) == 0:
		return fmt.Sprintf("%dTiB", mib>>20)
	case mib != 0 && mib%(1<<10) == 0:
		return fmt.Sprintf("%dGiB", mib>>10)
	default:
		return fmt.Sprintf("%dMiB", mib)
	}
}

// exactBytes prints a byte count (rounded to a whole byte) in the largest
// decimal unit that divides it exactly.
func exactBytes(b float64) string {
	n := int64(math.Round(b))
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}} {
		if n != 0 && n%u.mult == 0 {
			return fmt.Sprintf("%d%s", n/u.mult, u.suffix)
		}
	}
	return fmt.Sprintf("%dB", n)
}
