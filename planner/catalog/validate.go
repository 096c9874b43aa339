package catalog

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/planner/graph"
)

// classNameRE is what a class name may be: it becomes part of Nomad job and
// group names, so lower-case letters, digits and inner hyphens only.
var classNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// Validate checks the catalog as a whole and returns one diagnostic per
// problem, each pointing (Subject) at the attribute or block in the file
// that set the offending value; classes built in code have no position.
//
// Errors: no classes; a duplicate or malformed class name; reference
// naming no class; instances < 1; instance cpu <= 0 MHz or memory <= 0;
// negative cores, disk, gpus or gpu_memory; gpu_memory without gpus; a
// device block without gpus, or gpus without a device block; a constraint
// attribute or interpolated value outside Nomad's interpolation set (see
// CheckTarget); a cpu, memory,
// io or latency speed <= 0 (gpu may be 0: "cannot run GPU work"); a
// negative gpu speed; bandwidth <= 0; negative startup. Warning: a class
// with GPUs whose gpu speed is 0.
func (c *Catalog) Validate() hcl.Diagnostics {
	var diags hcl.Diagnostics
	if len(c.Classes) == 0 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
			Summary: "Empty executor catalog", Detail: "Define at least one executor block.",
			Subject: subject(c.fileRange)})
	}
	seen := map[string]bool{}
	for _, cl := range c.Classes {
		if seen[cl.Name] {
			diags = append(diags, cl.errAt("", "Duplicate executor class",
				fmt.Sprintf("Executor %q is defined twice.", cl.Name)))
		}
		seen[cl.Name] = true
		diags = append(diags, cl.validate()...)
	}
	if c.Reference != "" && c.Class(c.Reference) == nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError,
			Summary: "Unknown reference class",
			Detail: fmt.Sprintf("reference = %q names no executor; the classes are %s.",
				c.Reference, strings.Join(c.Names(), ", ")),
			Subject: subject(c.refRange)})
	}
	return diags
}

func (cl *Class) validate() hcl.Diagnostics {
	var diags hcl.Diagnostics
	if !classNameRE.MatchString(cl.Name) {
		diags = append(diags, cl.errAt("", "Invalid executor name",
			fmt.Sprintf("Executor name %q must be lower-case letters, digits and inner hyphens (it becomes part of Nomad job names).", cl.Name)))
	}
	if cl.Instances < 1 {
		diags = append(diags, cl.errAt("instances", "Invalid instances",
			fmt.Sprintf("Executor %q has instances = %d; it needs at least 1.", cl.Name, cl.Instances)))
	}
	diags = append(diags, cl.validateShape()...)
	diags = append(diags, cl.validateDevice()...)
	diags = append(diags, cl.validateTargets()...)
	diags = append(diags, cl.validatePerformance()...)
	return diags
}

// validateTargets checks every constraint's attribute, and any value
// that interpolates, against Nomad's interpolation set (CheckTarget). A
// parsed file has had this check with finer positions; it matters for
// classes built in code.
func (cl *Class) validateTargets() hcl.Diagnostics {
	var diags hcl.Diagnostics
	check := func(cons []Constraint, device bool) {
		for _, con := range cons {
			for _, t := range []struct{ name, s string }{{"attribute", con.Attribute}, {"value", con.Value}} {
				if t.s == "" || (t.name == "value" && !strings.HasPrefix(t.s, "${")) {
					continue
				}
				if err := CheckTarget(t.s, device); err != nil {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid constraint " + t.name,
						Detail: fmt.Sprintf("Executor %q: %s", cl.Name, err), Subject: subject(con.DefRange)})
				}
			}
		}
	}
	check(cl.Placement.Constraints, false)
	if cl.Placement.Device != nil {
		check(cl.Placement.Device.Constraints, true)
	}
	return diags
}

func (cl *Class) validateShape() hcl.Diagnostics {
	var diags hcl.Diagnostics
	s := cl.Shape
	positive := func(key string, v int64, unit string) {
		if v <= 0 {
			diags = append(diags, cl.errAt(key, "Invalid "+key,
				fmt.Sprintf("Executor %q: %s must be greater than 0 %s, got %d.", cl.Name, key, unit, v)))
		}
	}
	nonNegative := func(key string, v int64) {
		if v < 0 {
			diags = append(diags, cl.errAt(key, "Invalid "+key,
				fmt.Sprintf("Executor %q: %s must not be negative, got %d.", cl.Name, key, v)))
		}
	}
	positive("instance.cpu", int64(s.CPU), "MHz")
	positive("instance.memory", s.MemoryMiB, "MiB")
	nonNegative("instance.cores", int64(s.Cores))
	nonNegative("instance.disk", s.DiskMiB)
	nonNegative("instance.gpus", int64(s.GPUs))
	nonNegative("instance.gpu_memory", s.GPUMemoryMiB)
	if s.GPUMemoryMiB > 0 && s.GPUs <= 0 {
		diags = append(diags, cl.errAt("instance.gpu_memory", "GPU memory without GPUs",
			fmt.Sprintf("Executor %q sets gpu_memory but has gpus = %d; set gpus or remove gpu_memory.", cl.Name, s.GPUs)))
	}
	return diags
}

func (cl *Class) validateDevice() hcl.Diagnostics {
	dev := cl.Placement.Device
	switch {
	case dev != nil && cl.Shape.GPUs <= 0:
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Device without GPUs",
			Detail:  fmt.Sprintf("Executor %q has a device %q block but instance gpus = %d; a device block needs gpus > 0.", cl.Name, dev.Name, cl.Shape.GPUs),
			Subject: subject(cl.rangeOf("device"))}}
	case dev == nil && cl.Shape.GPUs > 0:
		return hcl.Diagnostics{cl.errAt("instance.gpus", "GPUs without a device",
			fmt.Sprintf("Executor %q has gpus = %d but no device block; Nomad allocates GPUs only through a device request such as device \"nvidia/gpu\" {}.", cl.Name, cl.Shape.GPUs))}
	case dev != nil && strings.TrimSpace(dev.Name) == "":
		return hcl.Diagnostics{cl.errAt("device", "Empty device name",
			fmt.Sprintf("Executor %q: the device block needs a name such as \"nvidia/gpu\".", cl.Name))}
	}
	return nil
}

func (cl *Class) validatePerformance() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, k := range graph.Kinds {
		v, ok := cl.Speed[k]
		if !ok {
			continue
		}
		key := "performance." + string(k)
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || (v == 0 && k != graph.KindGPU):
			diags = append(diags, cl.errAt(key, "Invalid speed",
				fmt.Sprintf("Executor %q: %s speed must be greater than 0%s, got %g.", cl.Name, k, gpuZeroNote(k), v)))
		case k == graph.KindGPU && v == 0 && cl.Shape.GPUs > 0:
			d := cl.errAt(key, "GPU class that cannot run GPU work",
				fmt.Sprintf("Executor %q has %d GPUs per instance but gpu speed 0, so no GPU work will be placed on it.", cl.Name, cl.Shape.GPUs))
			d.Severity = hcl.DiagWarning
			diags = append(diags, d)
		}
	}
	if !(cl.BandwidthBytes > 0) || math.IsInf(cl.BandwidthBytes, 0) {
		diags = append(diags, cl.errAt("performance.bandwidth", "Invalid bandwidth",
			fmt.Sprintf("Executor %q: bandwidth must be greater than 0 bytes per second, got %g.", cl.Name, cl.BandwidthBytes)))
	}
	if cl.Startup < 0 {
		diags = append(diags, cl.errAt("performance.startup", "Invalid startup",
			fmt.Sprintf("Executor %q: startup must not be negative, got %s.", cl.Name, cl.Startup)))
	}
	return diags
}

func gpuZeroNote(k graph.Kind) string {
	if k == graph.KindGPU {
		return " (or 0: cannot run GPU work)"
	}
	return ""
}

// rangeOf returns where key was set, else the enclosing block
// ("instance.cpu" -> "instance"), else the class's header.
func (cl *Class) rangeOf(key string) hcl.Range {
	if r, ok := cl.attrs[key]; ok && key != "" {
		return r
	}
	if blk, _, ok := strings.Cut(key, "."); ok {
		if r, ok := cl.attrs[blk]; ok {
			return r
		}
	}
	return cl.DefRange
}

// errAt builds an error about key of cl, pointing where key was set.
func (cl *Class) errAt(key, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail,
		Subject: subject(cl.rangeOf(key))}
}

// subject returns r as a diagnostic subject, or nil for a zero range (a
// value built in code has no position).
func subject(r hcl.Range) *hcl.Range {
	if r == (hcl.Range{}) {
		return nil
	}
	return r.Ptr()
}
