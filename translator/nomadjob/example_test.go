package nomadjob_test

import (
	"fmt"
	"os"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/translator/nomadjob"
)

// A two-task shard fused onto a GPU class: one job, one task running both
// commands through /bin/sh, a node_class constraint and a device block.
func Example() {
	g := graph.New("demo")
	_ = g.AddTask(&graph.Task{Name: "prep", Command: "prep", Args: []string{"it's here"}})
	_ = g.AddTask(&graph.Task{Name: "train", Command: "train"})
	cat := &catalog.Catalog{Classes: []*catalog.Class{{
		Name:      "gpu",
		Placement: catalog.Placement{NodeClass: "gpu", Device: &catalog.Device{Name: "nvidia/gpu"}},
		Shape:     catalog.Shape{GPUs: 1},
	}}}
	p := &plan.Plan{Graph: "demo", Run: "r1", Shards: []*plan.Shard{{
		ID: "s1", Job: "demo-s1", Tasks: []string{"prep", "train"}, Signature: "prep+train",
		Class: "gpu", Type: "batch",
		Resources: plan.Resources{CPU: plan.Estimate{Value: 2000}, MemoryMiB: plan.Estimate{Value: 4096}, GPUs: 1},
	}}}
	jobs, err := nomadjob.Jobs(p, g, cat, nomadjob.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := nomadjob.WriteHCL(os.Stdout, jobs[0]); err != nil {
		fmt.Println(err)
	}
	// Output:
	// job "demo-s1" {
	//   type = "batch"
	//   meta {
	//     shardwise_class                     = "gpu"
	//     shardwise_graph                     = "demo"
	//     shardwise_input_bytes               = "0"
	//     shardwise_output_bytes              = "0"
	//     shardwise_predicted_memory_mib      = "4096"
	//     shardwise_predicted_runtime_seconds = "0"
	//     shardwise_run                       = "r1"
	//     shardwise_shard                     = "s1"
	//     shardwise_signature                 = "prep+train"
	//     shardwise_tasks                     = "[{\"task\":\"prep\",\"signature\":\"prep\"},{\"task\":\"train\",\"signature\":\"train\"}]"
	//     shardwise_upstream                  = ""
	//   }
	//
	//   group "s1" {
	//     count = 1
	//     meta {
	//       shardwise_class                     = "gpu"
	//       shardwise_graph                     = "demo"
	//       shardwise_input_bytes               = "0"
	//       shardwise_output_bytes              = "0"
	//       shardwise_predicted_memory_mib      = "4096"
	//       shardwise_predicted_runtime_seconds = "0"
	//       shardwise_run                       = "r1"
	//       shardwise_shard                     = "s1"
	//       shardwise_signature                 = "prep+train"
	//       shardwise_tasks                     = "[{\"task\":\"prep\",\"signature\":\"prep\"},{\"task\":\"train\",\"signature\":\"train\"}]"
	//       shardwise_upstream                  = ""
	//     }
	//     constraint {
	//       attribute = "$${node.class}"
	//       operator  = "="
	//       value     = "gpu"
	//     }
	//     restart {
	//       attempts = 2
	//       interval = "10m"
	//       delay    = "15s"
	//       mode     = "fail"
	//     }
	//     reschedule {
	//       attempts       = 1
	//       interval       = "24h"
	//       delay          = "5s"
	//       delay_function = "constant"
	//       unlimited      = false
	//     }
	//
	//     task "s1" {
	//       driver = "raw_exec"
	//       config {
	//         args    = ["-c", "set -e\n_sw_f=\nif [ -n \"$NOMAD_ALLOC_DIR\" ]; then _sw_f=\"$NOMAD_ALLOC_DIR/shardwise-task-times\"; fi\n_sw_t() { if [ -n \"$_sw_f\" ]; then if [ \"$1\" = 0 ]; then true >\"$_sw_f\" || true; fi; printf '%s %s\\n' \"$1\" \"$(date +%s.%N)\" >>\"$_sw_f\" || true; fi; } 2>/dev/null\n_sw_t 0\n# task \"prep\"\nprep 'it'\\''s here'\n_sw_t 1\n# task \"train\"\ntrain\n_sw_t 2\n"]
	//         command = "/bin/sh"
	//       }
	//       env {
	//         SHARDWISE_CLASS = "gpu"
	//         SHARDWISE_GRAPH = "demo"
	//         SHARDWISE_JOB   = "demo-s1"
	//         SHARDWISE_RUN   = "r1"
	//         SHARDWISE_SHARD = "s1"
	//         SHARDWISE_TASKS = "prep,train"
	//       }
	//       resources {
	//         cpu    = 2000
	//         memory = 4096
	//         device "nvidia/gpu" {
	//           count = 1
	//         }
	//       }
	//     }
	//   }
	// }
}
