package catalog

import "github.com/hashicorp/hcl/v2"

// This file answers "what does a catalog file accept". docs/catalog.md
// explains each attribute; the decoder in parse.go follows these schemas.
//
//	reference = "cpu-heavy"              # optional: class imported history ran on
//
//	executor "NAME" {                     # repeatable; NAME is [a-z0-9-]
//	  description = "..."
//	  node_class  = "NAME"                # Nomad node class to target
//	  node_pool   = "default"             # Nomad node pool
//	  datacenters = ["dc1"]
//	  constraint { attribute = "${attr.kernel.name}" operator = "=" value = "linux" }
//	  device "nvidia/gpu" {               # at most one; only with instance.gpus > 0
//	    constraint { attribute = "${device.attr.memory}" operator = ">=" value = "40 GiB" }
//	  }
//	  instance {                          # one instance's allocatable resources
//	    cpu = 16000  cores = 8  memory = "32GiB"  disk = "200GiB"  gpus = 1  gpu_memory = "80GiB"
//	  }
//	  instances = 8                       # capacity: shards run at once
//	  performance {                       # relative speeds; bandwidth per second
//	    cpu = 1.6  memory = 1.0  io = 1.0  gpu = 0.1  latency = 1.0  bandwidth = "1.25GB"  startup = "5s"
//	  }
//	  oversubscribe = false
//	  service       = false
//	}

var fileSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "reference"}, {Name: "extend_default"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "executor", LabelNames: []string{"name"}}},
}

var executorSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"},
		{Name: "node_class"},
		{Name: "node_pool"},
		{Name: "datacenters"},
		{Name: "instances"},
		{Name: "oversubscribe"},
		{Name: "service"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "constraint"},
		{Type: "device", LabelNames: []string{"name"}},
		{Type: "instance"},
		{Type: "performance"},
	},
}

var constraintSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "attribute"},
		{Name: "operator"},
		{Name: "value"},
	},
}

var deviceSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "constraint"}},
}

var instanceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "cpu"},
		{Name: "cores"},
		{Name: "memory"},
		{Name: "disk"},
		{Name: "gpus"},
		{Name: "gpu_memory"},
	},
}

var performanceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "cpu"},
		{Name: "memory"},
		{Name: "io"},
		{Name: "gpu"},
		{Name: "latency"},
		{Name: "bandwidth"},
		{Name: "startup"},
	},
}

// operators are Nomad's constraint operators (Nomad docs, "constraint
// block"); "==" is accepted as Nomad accepts it, as a synonym of "=".
var operators = map[string]bool{
	"=": true, "==": true, "!=": true, ">": true, ">=": true, "<": true, "<=": true,
	"distinct_hosts": true, "distinct_property": true, "regexp": true,
	"set_contains": true, "set_contains_all": true, "set_contains_any": true,
	"version": true, "semver": true, "is_set": true, "is_not_set": true,
}

// Defaults for attributes a file leaves unset in a class it defines anew
// (a class that overrides a default class inherits that class's values).
const (
	// DefaultBandwidthBytes is 1 Gbit/s, in bytes per second.
	DefaultBandwidthBytes = 125e6
	// DefaultStartupSeconds is the start-up latency, in seconds.
	DefaultStartupSeconds = 10
	// DefaultNodePool is Nomad's built-in node pool.
	DefaultNodePool = "default"
)
