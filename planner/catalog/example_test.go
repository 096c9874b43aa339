package catalog_test

import (
	"fmt"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
)

// A user file overrides one field of a default class and adds a class.
func ExampleMerge() {
	user, diags := catalog.Parse("executors.hcl", []byte(`
executor "cpu-heavy" {
  instance {
    memory = "64GiB"
  }
}

executor "arm-batch" {
  instance {
    cpu    = 32000
    memory = "32GiB"
  }
  instances = 10
  performance {
    cpu = 0.8
  }
}
`))
	if diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	c := catalog.Merge(catalog.Default(), user)
	if diags := c.Validate(); diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	cpu := c.Class("cpu-heavy")
	fmt.Println(c.Names())
	fmt.Println(cpu.Shape.MemoryMiB, "MiB,", cpu.Shape.CPU, "MHz,", cpu.Instances, "instances")
	fmt.Println(c.Class("arm-batch").SpeedFor(graph.KindCPU))
	// Output:
	// [cpu-heavy memory-intensive io-bound gpu-accelerated low-latency arm-batch]
	// 65536 MiB, 48000 MHz, 8 instances
	// 0.8
}
