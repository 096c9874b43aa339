package catalog

import (
	"fmt"
	"math"
	"math/big"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/textfile"
	"github.com/shardwise/shardwise/planner/units"
)

// ParseFile reads and parses the catalog file at path (HCL native syntax).
// It checks syntax, attribute names and types, units and constraint
// operators; rules that need the whole catalog (capacity, speeds, the
// reference) are Validate's, because a user file may only override part
// of a class. The catalog is nil when the diagnostics hold an error.
func ParseFile(path string) (*Catalog, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read executor catalog",
			Detail:   fmt.Sprintf("read %s: %v", path, err),
		}}
	}
	return Parse(path, src)
}

// Parse parses catalog source src; filename names it in diagnostics. See
// ParseFile for what is and is not checked.
func Parse(filename string, src []byte) (*Catalog, hcl.Diagnostics) {
	if d := textfile.Check(filename, "executor catalog", src); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	content, d := f.Body.Content(fileSchema)
	diags = append(diags, d...)
	c := &Catalog{fileRange: hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos}}
	if a, ok := content.Attributes["reference"]; ok {
		var ds hcl.Diagnostics
		c.Reference, ds = stringAttr(a)
		diags = append(diags, ds...)
		c.refRange, c.refSet = a.Expr.Range(), true
	}
	if a, ok := content.Attributes["extend_default"]; ok {
		extend, ds := boolAttr(a)
		diags = append(diags, ds...)
		c.Standalone = !extend
	}
	seen := map[string]hcl.Range{}
	for _, b := range content.Blocks {
		name := b.Labels[0]
		if prev, dup := seen[name]; dup {
			diags = append(diags, errAt(b.LabelRanges[0], "Duplicate executor class",
				fmt.Sprintf("Executor %q was already defined on line %d.", name, prev.Start.Line)))
			continue
		}
		seen[name] = b.DefRange
		cl, ds := decodeExecutor(b)
		diags = append(diags, ds...)
		c.Classes = append(c.Classes, cl)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return c, diags
}

// decodeExecutor decodes one executor block. Unset attributes of a new
// class take the package defaults; attrs records what the block set.
func decodeExecutor(b *hcl.Block) (*Class, hcl.Diagnostics) {
	cl := &Class{
		Name:           b.Labels[0],
		DefRange:       b.DefRange,
		Speed:          map[graph.Kind]float64{},
		BandwidthBytes: DefaultBandwidthBytes,
		Startup:        DefaultStartupSeconds * time.Second,
		attrs:          map[string]hcl.Range{},
		Placement:      Placement{NodePool: DefaultNodePool},
	}
	content, diags := b.Body.Content(executorSchema)
	diags = append(diags, decodeExecutorAttrs(cl, content.Attributes)...)
	var inst, perf, dev *hcl.Block
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "constraint":
			con, ds := decodeConstraint(blk, false)
			diags = append(diags, ds...)
			cl.Placement.Constraints = append(cl.Placement.Constraints, con)
			if _, ok := cl.attrs["constraint"]; !ok {
				cl.attrs["constraint"] = blk.DefRange
			}
		case "device":
			diags = append(diags, onceBlock(&dev, blk)...)
		case "instance":
			diags = append(diags, onceBlock(&inst, blk)...)
		case "performance":
			diags = append(diags, onceBlock(&perf, blk)...)
		}
	}
	if dev != nil {
		var ds hcl.Diagnostics
		cl.Placement.Device, ds = decodeDevice(dev)
		diags = append(diags, ds...)
		cl.attrs["device"] = dev.DefRange
	}
	if inst != nil {
		cl.attrs["instance"] = inst.DefRange
		diags = append(diags, decodeInstance(cl, inst)...)
	}
	if perf != nil {
		cl.attrs["performance"] = perf.DefRange
		diags = append(diags, decodePerformance(cl, perf)...)
	}
	return cl, diags
}

// onceBlock keeps the first device, instance or performance block and
// reports any other.
func onceBlock(dst **hcl.Block, blk *hcl.Block) hcl.Diagnostics {
	if *dst == nil {
		*dst = blk
		return nil
	}
	return hcl.Diagnostics{errAt(blk.DefRange, fmt.Sprintf("Duplicate %s block", blk.Type),
		fmt.Sprintf("A class has at most one %s block; the first is at %s.", blk.Type, (*dst).DefRange))}
}

func decodeExecutorAttrs(cl *Class, attrs hcl.Attributes) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, a := range sorted(attrs) {
		name := a.Name
		var ds hcl.Diagnostics
		switch name {
		case "description":
			cl.Description, ds = stringAttr(a)
		case "node_class":
			cl.Placement.NodeClass, ds = stringAttr(a)
		case "node_pool":
			cl.Placement.NodePool, ds = stringAttr(a)
		case "datacenters":
			cl.Placement.Datacenters, ds = stringListAttr(a)
		case "instances":
			cl.Instances, ds = intAttr(a)
		case "oversubscribe":
			cl.Oversubscribe, ds = boolAttr(a)
		case "service":
			cl.Service, ds = boolAttr(a)
		}
		diags = append(diags, ds...)
		cl.attrs[name] = a.Expr.Range()
	}
	return diags
}

// decodeConstraint decodes a constraint block; device is true inside a
// device block, whose constraints name device attributes.
func decodeConstraint(b *hcl.Block, device bool) (Constraint, hcl.Diagnostics) {
	con := Constraint{Operator: "=", DefRange: b.DefRange}
	content, diags := b.Body.Content(constraintSchema)
	for _, a := range sorted(content.Attributes) {
		name := a.Name
		s, ds := interpolatedString(a)
		diags = append(diags, ds...)
		switch name {
		case "attribute":
			con.Attribute = s
			if !ds.HasErrors() && s != "" {
				diags = append(diags, checkTargetAt(a, s, device)...)
			}
		case "operator":
			con.Operator = s
			if !ds.HasErrors() && !operators[s] {
				diags = append(diags, errAt(a.Expr.Range(), "Unknown constraint operator",
					fmt.Sprintf("%q is not a Nomad constraint operator; use one of =, !=, >, >=, <, <=, regexp, set_contains, set_contains_all, set_contains_any, version, semver, is_set, is_not_set, distinct_hosts, distinct_property.", s)))
			}
		case "value":
			con.Value = s
			// A value may be literal; one that interpolates must resolve.
			if !ds.HasErrors() && strings.HasPrefix(s, "${") {
				diags = append(diags, checkTargetAt(a, s, device)...)
			}
		}
	}
	if con.Attribute == "" && con.Operator != "distinct_hosts" {
		diags = append(diags, errAt(b.DefRange, "Missing constraint attribute",
			"Every constraint except distinct_hosts needs an attribute, e.g. \"${node.class}\"."))
	}
	return con, diags
}

// checkTargetAt reports a constraint attribute or value s, read from a,
// that Nomad cannot resolve (see CheckTarget).
func checkTargetAt(a *hcl.Attribute, s string, device bool) hcl.Diagnostics {
	if err := CheckTarget(s, device); err != nil {
		return hcl.Diagnostics{errAt(a.Expr.Range(), "Invalid constraint "+a.Name, err.Error())}
	}
	return nil
}

func decodeDevice(b *hcl.Block) (*Device, hcl.Diagnostics) {
	dev := &Device{Name: b.Labels[0], DefRange: b.DefRange}
	content, diags := b.Body.Content(deviceSchema)
	for _, blk := range content.Blocks {
		con, ds := decodeConstraint(blk, true)
		diags = append(diags, ds...)
		dev.Constraints = append(dev.Constraints, con)
	}
	if strings.TrimSpace(dev.Name) == "" {
		diags = append(diags, errAt(b.LabelRanges[0], "Empty device name",
			"Name the device as Nomad does: \"<type>\", \"<vendor>/<type>\" or \"<vendor>/<type>/<model>\", e.g. \"nvidia/gpu\"."))
	}
	return dev, diags
}

func decodeInstance(cl *Class, b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(instanceSchema)
	for _, a := range sorted(content.Attributes) {
		name := a.Name
		var ds hcl.Diagnostics
		switch name {
		case "cpu":
			cl.Shape.CPU, ds = intAttr(a)
		case "cores":
			cl.Shape.Cores, ds = intAttr(a)
		case "gpus":
			cl.Shape.GPUs, ds = intAttr(a)
		case "memory":
			cl.Shape.MemoryMiB, ds = resourceMiBAttr(a, true)
		case "disk":
			cl.Shape.DiskMiB, ds = resourceMiBAttr(a, false)
		case "gpu_memory":
			cl.Shape.GPUMemoryMiB, ds = resourceMiBAttr(a, true)
		}
		diags = append(diags, ds...)
		cl.attrs["instance."+name] = a.Expr.Range()
	}
	return diags
}

func decodePerformance(cl *Class, b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(performanceSchema)
	for _, a := range sorted(content.Attributes) {
		name := a.Name
		var ds hcl.Diagnostics
		switch name {
		case "bandwidth":
			var bw int64
			bw, ds = sizeAttr(a)
			cl.BandwidthBytes = float64(bw)
		case "startup":
			cl.Startup, ds = durationAttr(a)
		default:
			var v float64
			v, ds = numberAttr(a)
			cl.Speed[graph.Kind(name)] = v
		}
		diags = append(diags, ds...)
		cl.attrs["performance."+name] = a.Expr.Range()
	}
	return diags
}

// sorted returns attrs in source order, so diagnostics come out in the
// order a reader meets them.
func sorted(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Range.Start.Byte < out[j].Range.Start.Byte })
	return out
}

// errAt builds an error diagnostic pointing at r.
func errAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Ptr()}
}

// value evaluates a constant attribute and converts it to type ty.
func value(a *hcl.Attribute, ty cty.Type, want string) (cty.Value, hcl.Diagnostics) {
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	cv, err := convert.Convert(v, ty)
	if err != nil || cv.IsNull() || !cv.IsKnown() {
		return cty.NilVal, hcl.Diagnostics{errAt(a.Expr.Range(), "Invalid value for "+a.Name,
			fmt.Sprintf("%s must be %s.", a.Name, want))}
	}
	return cv, nil
}

func stringAttr(a *hcl.Attribute) (string, hcl.Diagnostics) {
	v, diags := value(a, cty.String, "a string")
	if diags.HasErrors() {
		return "", diags
	}
	return v.AsString(), nil
}

func stringListAttr(a *hcl.Attribute) ([]string, hcl.Diagnostics) {
	v, diags := value(a, cty.List(cty.String), "a list of strings")
	if diags.HasErrors() {
		return nil, diags
	}
	var out []string
	for _, e := range v.AsValueSlice() {
		out = append(out, e.AsString())
	}
	return out, nil
}

func boolAttr(a *hcl.Attribute) (bool, hcl.Diagnostics) {
	v, diags := value(a, cty.Bool, "true or false")
	if diags.HasErrors() {
		return false, diags
	}
	return v.True(), nil
}

func numberAttr(a *hcl.Attribute) (float64, hcl.Diagnostics) {
	v, diags := value(a, cty.Number, "a number")
	if diags.HasErrors() {
		return 0, diags
	}
	f, _ := v.AsBigFloat().Float64()
	return f, nil
}

func intAttr(a *hcl.Attribute) (int, hcl.Diagnostics) {
	v, diags := value(a, cty.Number, "a whole number")
	if diags.HasErrors() {
		return 0, diags
	}
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if acc != big.Exact || i > math.MaxInt32 || i < math.MinInt32 {
		return 0, hcl.Diagnostics{errAt(a.Expr.Range(), "Invalid value for "+a.Name,
			fmt.Sprintf("%s must be a whole number, got %s.", a.Name, bf.Text('g', 10)))}
	}
	return int(i), nil
}

func sizeAttr(a *hcl.Attribute) (int64, hcl.Diagnostics) {
	return parsedAttr(a, "size", units.ParseSize)
}

// resourceMiBAttr reads a memory, disk or GPU memory amount in MiB (see
// units.ParseResourceMiB: a bare number below 1 MiB is an error). With
// memory, an amount with a unit below 1 MiB gets a warning.
func resourceMiBAttr(a *hcl.Attribute, memory bool) (int64, hcl.Diagnostics) {
	s, diags := stringAttr(a)
	if diags.HasErrors() {
		return 0, diags
	}
	mib, small, err := units.ParseResourceMiB(s)
	if err != nil {
		return 0, hcl.Diagnostics{errAt(a.Expr.Range(), "Invalid size for "+a.Name, err.Error()+".")}
	}
	if small && memory {
		what := "a process"
		if a.Name == "gpu_memory" {
			what = "a GPU"
		}
		d := errAt(a.Expr.Range(), "Implausibly small "+a.Name,
			fmt.Sprintf("%s = %q is below 1 MiB, too little for %s; it is taken as 1 MiB. Did you mean MiB?", a.Name, s, what))
		d.Severity = hcl.DiagWarning
		return mib, hcl.Diagnostics{d}
	}
	return mib, nil
}

func durationAttr(a *hcl.Attribute) (time.Duration, hcl.Diagnostics) {
	return parsedAttr(a, "duration", units.ParseDuration)
}

// parsedAttr reads a as a string and parses it, reporting parse's error
// as "Invalid WHAT for NAME".
func parsedAttr[T any](a *hcl.Attribute, what string, parse func(string) (T, error)) (T, hcl.Diagnostics) {
	var zero T
	s, diags := stringAttr(a)
	if diags.HasErrors() {
		return zero, diags
	}
	v, err := parse(s)
	if err != nil {
		return zero, hcl.Diagnostics{errAt(a.Expr.Range(), "Invalid "+what+" for "+a.Name, err.Error()+".")}
	}
	return v, nil
}

// interpolatedString reads a constraint field. Nomad's runtime
// interpolations ("${node.class}", "${device.attr.memory}") are kept as
// written instead of being evaluated; "$${" also yields a literal "${".
func interpolatedString(a *hcl.Attribute) (string, hcl.Diagnostics) {
	_, diags := a.Expr.Value(nil)
	if !diags.HasErrors() {
		return stringAttr(a)
	}
	if s, ok := templateText(a.Expr); ok {
		return s, nil
	}
	return "", diags
}

// templateText rebuilds a template whose interpolations are plain
// references, returning false for anything else (function calls, loops).
func templateText(e hcl.Expression) (string, bool) {
	switch t := e.(type) {
	case *hclsyntax.TemplateWrapExpr:
		ref, ok := traversalText(t.Wrapped)
		return "${" + ref + "}", ok
	case *hclsyntax.TemplateExpr:
		var sb strings.Builder
		for _, p := range t.Parts {
			if lit, ok := p.(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type() == cty.String {
				sb.WriteString(lit.Val.AsString())
				continue
			}
			ref, ok := traversalText(p)
			if !ok {
				return "", false
			}
			sb.WriteString("${" + ref + "}")
		}
		return sb.String(), true
	}
	return "", false
}

// traversalText prints a reference such as device.attr.memory or meta["x"].
func traversalText(e hcl.Expression) (string, bool) {
	st, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok {
		return "", false
	}
	var sb strings.Builder
	for _, step := range st.Traversal {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			sb.WriteString(s.Name)
		case hcl.TraverseAttr:
			sb.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			if s.Key.Type() != cty.String {
				return "", false
			}
			sb.WriteString(fmt.Sprintf("[%q]", s.Key.AsString()))
		default:
			return "", false
		}
	}
	return sb.String(), true
}
