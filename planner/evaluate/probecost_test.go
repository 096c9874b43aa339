package evaluate

import (
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
)

// TestOOMActualKillsFirstTaskOfProbedTypePerShard: in the OOM scenario,
// the first task of a probed type in each shard loses f of its runtime and
// a start-up; later tasks of the same shard, other types and a type held
// by one shard (plan.Probe does not probe it) keep their runtimes.
func TestOOMActualKillsFirstTaskOfProbedTypePerShard(t *testing.T) {
	g := graph.New("oom")
	for _, tk := range []*graph.Task{
		{Name: "a1", Signature: "a"}, {Name: "a2", Signature: "a"}, {Name: "a3", Signature: "a"},
		{Name: "b1", Signature: "b"}, {Name: "c1", Signature: "c"},
	} {
		if err := g.AddTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	p := &plan.Plan{Shards: []*plan.Shard{
		{ID: "s1", Class: "cpu-heavy", Tasks: []string{"b1", "a1", "a2"}},
		{ID: "s2", Class: "io-bound", Tasks: []string{"a3"}},
		{ID: "s3", Class: "cpu-heavy", Tasks: []string{"c1"}},
	}}
	cat := catalog.Default()
	base := func(task, class string) (float64, bool) { return 10, true }
	act := oomActual(base, p, g, []string{"a", "c"}, cat, 0.5)
	startup := cat.Class("cpu-heavy").Startup.Seconds()
	want := map[string]float64{
		"a1": 15 + startup, // first "a" of s1
		"a2": 10,           // s1 already died at a1
		"a3": 15 + cat.Class("io-bound").Startup.Seconds(),
		"b1": 10, // not a probed type
		"c1": 10, // one shard only: nothing waits for a probe
	}
	for task, w := range want {
		class := "cpu-heavy"
		if task == "a3" {
			class = "io-bound"
		}
		if got, ok := act(task, class); !ok || got != w {
			t.Errorf("%s: got %v, %v; want %v", task, got, ok, w)
		}
	}
}

func TestProbeCostBreakEven(t *testing.T) {
	c := &ProbeCost{Probed: 758, Unprobed: 692, Retried: []float64{750, 867, 1022}}
	for i, want := range []float64{66.0 / 58, 66.0 / 175, 66.0 / 330} {
		if got := c.BreakEven(i); got != want {
			t.Errorf("BreakEven(%d) = %v, want %v", i, got, want)
		}
	}
}

// TestProbeCostsWithoutProbe: an input with no probed type has no probe
// cost.
func TestProbeCostsWithoutProbe(t *testing.T) {
	in := runInput(t, "r1", 3, 10)
	c, err := ProbeCosts(in, in, catalog.Default())
	if err != nil || c != nil {
		t.Fatalf("got %v, %v; want nil, nil", c, err)
	}
}
