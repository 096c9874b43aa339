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

	DefRange hcl.Range
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
}

// Device is a Nomad device request template: name ("nvidia/gpu"), and
// constraints on the device's attributes (e.g. ${device.attr.memory} >= 16 GiB).
type Device struct {
	Name        string
	Constraints []Constraint
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
func (cl *Class) SpeedFor(k graph.Kind) float64 {
	if s, ok := cl.Speed[k]; ok && s > 0 {
		return s
	}
	return 1
}
