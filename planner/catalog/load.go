package catalog

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/planner/graph"
)

//go:embed default.hcl
var defaultSource []byte

// DefaultFilename names the embedded default catalog in diagnostics.
const DefaultFilename = "default.hcl"

var (
	defaultOnce sync.Once
	defaultCat  *Catalog
)

// Default returns the embedded default catalog (default.hcl): the five
// classes cpu-heavy (the reference), memory-intensive, io-bound,
// gpu-accelerated and low-latency. Each call returns a fresh deep copy that
// the caller may change. It panics if the embedded file is invalid, which
// the package tests rule out.
func Default() *Catalog {
	defaultOnce.Do(func() {
		c, diags := Parse(DefaultFilename, defaultSource)
		if diags.HasErrors() {
			panic("catalog: embedded default.hcl: " + diags.Error())
		}
		if diags := c.Validate(); diags.HasErrors() {
			panic("catalog: embedded default.hcl: " + diags.Error())
		}
		defaultCat = c
	})
	return defaultCat.Clone()
}

// Load returns the effective catalog: the default catalog merged with the
// user file at userPath (see Merge), then validated; a user file that sets
// extend_default = false is the whole catalog instead (its new classes
// still take the package defaults for what they leave unset). An empty
// userPath means the default alone. The catalog is nil when the diagnostics hold an
// error; warnings may come with a catalog.
func Load(userPath string) (*Catalog, hcl.Diagnostics) {
	if userPath == "" {
		return LoadSource("", nil)
	}
	src, err := os.ReadFile(userPath)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the detail already
		}
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read executor catalog",
			Detail:   fmt.Sprintf("read %s: %v", userPath, err),
		}}
	}
	return LoadSource(userPath, src)
}

// LoadSource is Load with the user file's content src already read;
// filename names it in diagnostics. An empty filename means the default
// catalog alone (src is then ignored). A resumed run uses it on the
// catalog stored with the run.
func LoadSource(filename string, src []byte) (*Catalog, hcl.Diagnostics) {
	c := Default()
	var diags hcl.Diagnostics
	if filename != "" {
		user, ds := Parse(filename, src)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			return nil, diags
		}
		if user.Standalone {
			c = user
		} else {
			c = Merge(c, user)
		}
	}
	diags = append(diags, c.Validate()...)
	if diags.HasErrors() {
		return nil, diags
	}
	return c, diags
}

// Merge returns base overridden and extended by user; neither argument is
// changed. Rules (docs/catalog.md, "Overriding the default"):
//
//   - reference: replaced when user sets it.
//   - an executor whose name is new is appended, in user order.
//   - an executor whose name exists keeps its place and is overridden
//     attribute by attribute: each top-level attribute (description,
//     node_class, node_pool, datacenters, instances, oversubscribe,
//     service) and each attribute inside instance and performance that the
//     user block sets replaces the base value; unset ones are inherited.
//     Lists are replaced whole, never appended to.
//   - constraint blocks: if the user block has any, they replace the base
//     class's constraints as a whole.
//   - device block: if the user block has one, it replaces the base
//     device whole. If the user sets instance.gpus = 0 and gives no device
//     block, the inherited device is dropped.
//   - DefRange becomes the user's block, so diagnostics point at the file
//     the user edits.
//
// A user class built in code (not parsed) overrides everything.
func Merge(base, user *Catalog) *Catalog {
	out := base.Clone()
	if user.refSet || user.Reference != "" {
		out.Reference, out.refRange, out.refSet = user.Reference, user.refRange, true
	}
	for _, uc := range user.Classes {
		if bc := out.Class(uc.Name); bc != nil {
			overrideClass(bc, uc.clone())
		} else {
			out.Classes = append(out.Classes, uc.clone())
		}
	}
	return out
}

// overrideClass copies into dst every attribute src's file set.
func overrideClass(dst, src *Class) {
	set := func(key string) bool {
		if src.attrs == nil {
			return true
		}
		_, ok := src.attrs[key]
		return ok
	}
	for key, r := range src.attrs {
		if dst.attrs == nil {
			dst.attrs = map[string]hcl.Range{}
		}
		dst.attrs[key] = r
	}
	if src.attrs == nil {
		dst.attrs = nil
	}
	dst.DefRange = src.DefRange
	overrideTop(dst, src, set)
	overrideShape(&dst.Shape, &src.Shape, set)
	overridePerformance(dst, src, set)
	if set("constraint") {
		dst.Placement.Constraints = src.Placement.Constraints
	}
	switch {
	case set("device"):
		dst.Placement.Device = src.Placement.Device
	case set("instance.gpus") && src.Shape.GPUs == 0:
		dst.Placement.Device = nil
		delete(dst.attrs, "device")
	}
}

func overrideTop(dst, src *Class, set func(string) bool) {
	if set("description") {
		dst.Description = src.Description
	}
	if set("node_class") {
		dst.Placement.NodeClass = src.Placement.NodeClass
	}
	if set("node_pool") {
		dst.Placement.NodePool = src.Placement.NodePool
	}
	if set("datacenters") {
		dst.Placement.Datacenters = src.Placement.Datacenters
	}
	if set("instances") {
		dst.Instances = src.Instances
	}
	if set("oversubscribe") {
		dst.Oversubscribe = src.Oversubscribe
	}
	if set("service") {
		dst.Service = src.Service
	}
}

func overrideShape(dst, src *Shape, set func(string) bool) {
	if set("instance.cpu") {
		dst.CPU = src.CPU
	}
	if set("instance.cores") {
		dst.Cores = src.Cores
	}
	if set("instance.memory") {
		dst.MemoryMiB = src.MemoryMiB
	}
	if set("instance.disk") {
		dst.DiskMiB = src.DiskMiB
	}
	if set("instance.gpus") {
		dst.GPUs = src.GPUs
	}
	if set("instance.gpu_memory") {
		dst.GPUMemoryMiB = src.GPUMemoryMiB
	}
}

func overridePerformance(dst, src *Class, set func(string) bool) {
	if set("performance.bandwidth") {
		dst.BandwidthBytes = src.BandwidthBytes
	}
	if set("performance.startup") {
		dst.Startup = src.Startup
	}
	if src.attrs == nil {
		dst.Speed = src.Speed
		return
	}
	for key := range src.attrs {
		kind, ok := strings.CutPrefix(key, "performance.")
		if !ok || kind == "bandwidth" || kind == "startup" {
			continue
		}
		if dst.Speed == nil {
			dst.Speed = map[graph.Kind]float64{}
		}
		dst.Speed[graph.Kind(kind)] = src.Speed[graph.Kind(kind)]
	}
}
