package hclwriter_test

import (
	"os"
	"time"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/translator/hclwriter"
)

// A task name with a dot is not an identifier: Write renames it, keeps the
// original as signature and in env, and points the input at the new name.
func ExampleWrite() {
	g := graph.New("demo")
	_ = g.AddTask(&graph.Task{
		Name: "prep.v2", Command: "prep",
		Outputs: []graph.Output{{Name: "parts", Bytes: 3 << 29}},
		Hints:   graph.Hints{Runtime: 90 * time.Second},
	})
	_ = g.AddTask(&graph.Task{
		Name: "train", Command: "train",
		Inputs: []graph.Input{{Task: "prep.v2", Output: "parts"}},
	})
	_ = g.AddEdge(&graph.Edge{From: "prep.v2", To: "train", Output: "parts", Bytes: 3 << 29})
	if err := hclwriter.Write(os.Stdout, g); err != nil {
		panic(err)
	}
	// Output:
	// graph "demo" {
	//   task "prep_v2" {
	//     command = "prep"
	//     env = {
	//       SHARDWISE_ORIGINAL_NAME = "prep.v2"
	//     }
	//     signature = "prep.v2"
	//
	//     output "parts" {
	//       size = "1.5GiB"
	//     }
	//
	//     hints {
	//       runtime = "1m30s"
	//     }
	//   }
	//
	//   task "train" {
	//     command = "train"
	//
	//     input {
	//       from = task.prep_v2.output.parts
	//     }
	//   }
	// }
}
