package nomadjob

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/sdk"
	"github.com/shardwise/shardwise/translator/hclreader"
)

// TestDriverTestdataFromTranslator keeps driver/testdata, the jobs the
// shard driver's tests decode, equal to what this translator emits for the
// examples (plan -run r-test -driver shard), so the two sides of the task
// config contract (sdk.TaskConfig) cannot drift. `go test -update`
// regenerates them.
func TestDriverTestdataFromTranslator(t *testing.T) {
	dir := filepath.Join("..", "..", "driver", "testdata")
	files, err := filepath.Glob(filepath.Join(dir, "*"+JSONSuffix))
	if err != nil || len(files) == 0 {
		t.Fatalf("no driver testdata in %s: %v", dir, err)
	}
	want := map[string]bool{}
	for _, f := range files {
		want[filepath.Base(f)] = true
	}
	cat := catalog.Default()
	for _, example := range []string{"ml-pipeline", "nightly-etl"} {
		g, diags := hclreader.ParseFile(filepath.Join("..", "..", "examples", example, "graph.hcl"), hclreader.Options{Executors: cat.Names()})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		pred, err := predict.New(cat, nil)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := pred.Predict(g)
		if err != nil {
			t.Fatal(err)
		}
		p, err := plan.Build(g, cat, tb, plan.Options{Run: "r-test"})
		if err != nil {
			t.Fatal(err)
		}
		jobs, err := Jobs(p, g, cat, Options{Driver: sdk.DriverShard})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			name := *j.ID + JSONSuffix
			if !want[name] {
				continue
			}
			delete(want, name)
			var buf bytes.Buffer
			if err := WriteJSON(&buf, j); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			old, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(old, buf.Bytes()) {
				t.Errorf("%s differs from what the translator emits (go test ./translator/nomadjob -run TestDriverTestdataFromTranslator -update rewrites it)", path)
			}
		}
	}
	for name := range want {
		t.Errorf("driver/testdata/%s is no job the translator emits for the examples", name)
	}
}
