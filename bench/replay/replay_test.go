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

func TestMedian(t *testing.T) {
	if Median([]float64{2, 2.5}) != 2.25 || Median(nil) != 0 || Median([]float64{3, 1, 2}) != 2 {
		t.Error("Median")
	}
}
