package dot

import (
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
)

func TestWriteColoursByClass(t *testing.T) {
	g := graph.New("demo")
	for _, n := range []string{"a", "b", "c"} {
		if err := g.AddTask(&graph.Task{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	_ = g.AddEdge(&graph.Edge{From: "a", To: "b", Output: "x", Bytes: 2 << 30})
	_ = g.AddEdge(&graph.Edge{From: "b", To: "c"})
	p := &plan.Plan{Shards: []*plan.Shard{
		{ID: "s0-a", Tasks: []string{"a", "b"}, Class: "cpu-heavy"},
		{ID: "s1-c", Tasks: []string{"c"}, Class: "gpu-accelerated"},
	}, Channels: []*plan.Channel{{FromTask: "b", ToTask: "c", Bytes: 1 << 20}}}
	var sb strings.Builder
	if err := Write(&sb, g, p); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{`subgraph "cluster_s0-a"`, `"a" [fillcolor="#4e79a7"`, `"c" [label="c\ngpu-accelerated", fillcolor="#f28e2b"`, `"b" -> "c" [label="1.0MiB"]`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}

func TestWriteMissingTask(t *testing.T) {
	g := graph.New("demo")
	_ = g.AddTask(&graph.Task{Name: "orphan"})
	err := Write(&strings.Builder{}, g, &plan.Plan{})
	if err == nil || !strings.Contains(err.Error(), `"orphan"`) {
		t.Fatalf("want error naming the task, got %v", err)
	}
}

// TestLegendNodesAreNotTasks: the legend's nodes have IDs no task can
// have; a task named "legend_cpu-heavy" once was redefined by the legend
// node of its class (its label replaced, drawn inside the legend).
func TestLegendNodesAreNotTasks(t *testing.T) {
	g := graph.New("demo")
	if err := g.AddTask(&graph.Task{Name: "legend_cpu-heavy"}); err != nil {
		t.Fatal(err)
	}
	p := &plan.Plan{Shards: []*plan.Shard{{ID: "s0", Tasks: []string{"legend_cpu-heavy"}, Class: "cpu-heavy"}}}
	var sb strings.Builder
	if err := Write(&sb, g, p); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(sb.String(), `"legend_cpu-heavy" [`); n != 1 {
		t.Errorf("node \"legend_cpu-heavy\" defined %d times, want once (the task):\n%s", n, sb.String())
	}
}
