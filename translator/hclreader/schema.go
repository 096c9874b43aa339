package hclreader

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/sdk"
)

// This file is the graph language's schema: every block and argument the
// reader accepts, in one place. docs/graph-language.md describes them.

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "graph", LabelNames: []string{"name"}},
	},
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "default"},
		{Name: "description"},
	},
}

var graphSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "datacenters"},
		{Name: "region"},
		{Name: "namespace"},
		{Name: "priority"},
		{Name: "driver"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "task", LabelNames: []string{"name"}},
	},
}

var taskSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "command", Required: true},
		{Name: "args"},
		{Name: "env"},
		{Name: "signature"},
		{Name: "type"},
		{Name: "depends_on"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "artifact"},
		{Type: "output", LabelNames: []string{"name"}},
		{Type: "input"},
		{Type: "hints"},
		{Type: "split"},
	},
}

var artifactSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "source", Required: true},
		{Name: "destination"},
		{Name: "options"},
	},
}

var outputSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "path"},
		{Name: "size"},
		{Name: "stream"},
	},
}

var inputSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "from", Required: true},
		{Name: "path"},
	},
}

var hintsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "kind"},
		{Name: "cpu"},
		{Name: "cores"},
		{Name: "memory"},
		{Name: "disk"},
		{Name: "gpus"},
		{Name: "gpu_memory"},
		{Name: "runtime"},
		{Name: "latency"},
		{Name: "executor"},
	},
}

var splitSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "input_size"},
		{Name: "items"},
		{Name: "max_shards"},
	},
}

// Allowed values of the enumerated arguments, in the order messages list them.
var (
	drivers   = sdk.Drivers()
	taskTypes = []string{"batch", "service"}
)
