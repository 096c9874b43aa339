package place_test

import (
	"fmt"

	"github.com/shardwise/shardwise/planner/place"
)

// A fork-join graph 0 -> {1, 2} -> 3 on two classes: "big" runs everything
// twice as fast but has one instance; edges carry 100 bytes at 100 bytes/s.
// Node 2 waits for the big instance (10 s) rather than run on a small one
// (1 s start-up + 20 s).
func ExampleRun() {
	p := &place.Problem{
		Classes: []place.Class{
			{Name: "big", Instances: 1, BandwidthBytes: 100, StartupSeconds: 0},
			{Name: "small", Instances: 2, BandwidthBytes: 100, StartupSeconds: 1},
		},
		Nodes: 4,
		// Runtime[node*2+class], seconds.
		Runtime:   []float64{5, 10, 10, 20, 10, 20, 5, 10},
		EdgeFrom:  []int32{0, 0, 1, 2},
		EdgeTo:    []int32{1, 2, 3, 3},
		EdgeBytes: []float64{100, 100, 100, 100},
	}
	s, err := place.Run(p, place.Options{})
	if err != nil {
		panic(err)
	}
	for n := range s.Class {
		fmt.Printf("node %d on %s: %g -> %g s\n", n, p.Classes[s.Class[n]].Name, s.Start[n], s.Finish[n])
	}
	fmt.Println("makespan", s.Makespan, "critical path", s.CriticalPath())
	// Output:
	// node 0 on big: 0 -> 5 s
	// node 1 on big: 6 -> 16 s
	// node 2 on big: 16 -> 26 s
	// node 3 on big: 27 -> 32 s
	// makespan 32 critical path [0 1 2 3]
}
