package replay

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/translator/hclreader"
)

func TestScaleGraphShapes(t *testing.T) {
	cat := catalog.Default()
	for shape, edges := range map[string]int{"wide": 0, "chain": 4} {
		path := filepath.Join(t.TempDir(), shape+".hcl")
		if err := os.WriteFile(path, []byte(ScaleGraph(shape, 5)), 0o644); err != nil {
			t.Fatal(err)
		}
		g, diags := hclreader.ParseFile(path, hclreader.Options{Executors: cat.Names()})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if len(g.Tasks) != 5 || len(g.Edges) != edges {
			t.Errorf("%s: %d tasks, %d edges; want 5 and %d", shape, len(g.Tasks), len(g.Edges), edges)
		}
		p, jobs, err := ScalePlan(shape, 5, cat, "r1", t.TempDir())
		if err != nil || len(p.Shards) != 5 || len(jobs) != 5 {
			t.Errorf("%s: plan of %d shards, %d jobs, %v; want one shard and job per task", shape, len(p.Shards), len(jobs), err)
		}
	}
}

func TestStartupByClassLeavesOutQueuedShards(t *testing.T) {
	runs := []*Run{{Shards: []Shard{
		{Class: "a", Registered: 0, Placed: 0.1, Running: 2},                    // ready at registration: 2 s
		{Class: "a", Registered: 5, Placed: 5.2, Running: 7, UpstreamDone: 4.5}, // ready at 4.5: 2.5 s
		{Class: "a", Registered: 0, Placed: 9, Running: 10},                     // waited for capacity: left out
	}}}
	got := StartupByClass(runs)["a"]
	if len(got) != 2 || got[0] != 2 || got[1] != 2.5 {
		t.Errorf("start-ups %v, want [2 2.5]", got)
	}
	if Median(got) != 2.25 || Median(nil) != 0 || Median([]float64{3, 1, 2}) != 2 {
		t.Error("Median")
	}
}
