// Package catalog describes the executor classes a graph's shards can be
// placed on: how Nomad finds their nodes, what one instance looks like, how
// many instances there are, and how fast each runs each workload profile.
// It is read from HCL (an embedded default with five classes, overridden or
// extended by a user file) and used by the predictor, the placement and the
// translator.
package catalog

import (
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/planner/graph"
)

// Catalog is an ordered set of executor classes.
type Catalog struct {
	// Reference names the class whose speeds define 1.0 for history that
	// carries no class (imported traces); empty means speeds are absolute.
	Reference string
	Classes   []*Class
	// Standalone says the file is the whole catalog (extend_default =
	// false): Load uses its classes alone instead of merging them over the
	// embedded default. A catalog discovered from a cluster is standalone,
	// so classes the cluster lacks cannot be chosen.
	Standalone bool

	// refRange is where the file set reference; refSet says it did.
	refRange hcl.Range
	refSet   bool
	// fileRange is the start of the file the catalog was parsed from
	// (zero for one built in code): where a fault of the whole file, such
	// as having no executor, is reported.
	fileRange hcl.Range
}

// Class is one executor class.
type Class struct {
	Name        string
	Description string

	Placement Placement
	Shape     Shape
	// Instances is the class's capacity: how many shards it runs at once.
	Instances int

	// Speed is the relative speed per workload profile (cpu, memory, io,
	// gpu, latency); 1.0 is the reference machine. A profile missing from
	// the map runs at speed 1.0.
	Speed map[graph.Kind]float64
	// BandwidthBytes is the network bandwidth of one instance, bytes/s.
	BandwidthBytes float64
	// Startup is the latency from allocation placement to task start.
	Startup time.Duration
	// Oversubscribe allows memory_max above memory on this class (Nomad's
	// memory oversubscription must be enabled in the scheduler config).
	Oversubscribe bool
	// Service marks the class as suited to long-running service shards.
	Service bool

	// DefRange is the executor block's header in the file that last defined
	// the class; zero for classes built in code.
	DefRange hcl.Range

	// attrs holds the source range of every attribute and block the file
	// set, keyed by its path ("instances", "instance.memory",
	// "performance.cpu", "constraint", "device"). Merge overrides exactly
	// the keys present; Validate points its diagnostics at them. Nil for
	// classes built in code, which Merge treats as setting everything.
	attrs map[string]hcl.Range
}

// Placement is how a Nomad job targets the class's nodes.
type Placement struct {
	NodeClass   string
	NodePool    string
	Datacenters []string
	Constraints []Constraint
	// Device is the device block for classes with accelerators; nil if none.
	Device *Device
}

// Constraint is a Nomad constraint (attribute, operator, value).
type Constraint struct {
	Attribute string
	Operator  string
	Value     string
	// DefRange is the constraint block's header; zero when built in code.
	DefRange hcl.Range
}

// Device is a Nomad device request template: name ("nvidia/gpu"), and
// constraints on the device's attributes (e.g. ${device.attr.memory} >= 16 GiB).
type Device struct {
	Name        string
	Constraints []Constraint
	// DefRange is the device block's header; zero when built in code.
	DefRange hcl.Range
}

// Shape is one instance's allocatable resources.
type Shape struct {
	CPU          int   // MHz
	Cores        int   // cores, if the class reserves whole cores
	MemoryMiB    int64 // MiB
	DiskMiB      int64 // MiB of ephemeral disk
	GPUs         int
	GPUMemoryMiB int64 // MiB per GPU
}

// Class returns the named class, or nil.
func (c *Catalog) Class(name string) *Class {
	for _, cl := range c.Classes {
		if cl.Name == name {
			return cl
		}
	}
	return nil
}

// Names returns the class names in catalog order.
func (c *Catalog) Names() []string {
	out := make([]string, len(c.Classes))
	for i, cl := range c.Classes {
		out[i] = cl.Name
	}
	return out
}

// SpeedFor returns the class's relative speed for profile k (1.0 if unset).
// A gpu speed of 0 ("cannot run GPU work") also reads as 1.0 here, so that
// dividing by it is always safe; use CanRunGPU to test for it.
func (cl *Class) SpeedFor(k graph.Kind) float64 {
	if s, ok := cl.Speed[k]; ok && s > 0 {
		return s
	}
	return 1
}

// CanRunGPU reports whether the class may run GPU work at all: it has at
// least one GPU per instance and its gpu speed is not explicitly 0.
func (cl *Class) CanRunGPU() bool {
	if cl.Shape.GPUs <= 0 {
		return false
	}
	s, ok := cl.Speed[graph.KindGPU]
	return !ok || s > 0
}

// PerCoreMHz returns the clock of one core of an instance in MHz
// (Shape.CPU / Shape.Cores), or 0 when the class declares no cores.
func (cl *Class) PerCoreMHz() float64 {
	if cl.Shape.Cores <= 0 {
		return 0
	}
	return float64(cl.Shape.CPU) / float64(cl.Shape.Cores)
}

// ReferenceClass returns the reference class, or nil when Reference is
// empty or names no class.
func (c *Catalog) ReferenceClass() *Class {
	if c.Reference == "" {
		return nil
	}
	return c.Class(c.Reference)
}

// Clone returns a deep copy of c: changing the copy's classes, maps and
// slices leaves c as it was.
func (c *Catalog) Clone() *Catalog {
	out := *c
	out.Classes = make([]*Class, len(c.Classes))
	for i, cl := range c.Classes {
		out.Classes[i] = cl.clone()
	}
	return &out
}

func (cl *Class) clone() *Class {
	out := *cl
	out.Placement.Datacenters = append([]string(nil), cl.Placement.Datacenters...)
	out.Placement.Constraints = append([]Constraint(nil), cl.Placement.Constraints...)
	if cl.Placement.Device != nil {
		d := *cl.Placement.Device
		d.Constraints = append([]Constraint(nil), d.Constraints...)
		out.Placement.Device = &d
	}
	if cl.Speed != nil {
		out.Speed = make(map[graph.Kind]float64, len(cl.Speed))
		for k, v := range cl.Speed {
			out.Speed[k] = v
		}
	}
	if cl.attrs != nil {
		out.attrs = make(map[string]hcl.Range, len(cl.attrs))
		for k, v := range cl.attrs {
			out.attrs[k] = v
		}
	}
	return &out
}
