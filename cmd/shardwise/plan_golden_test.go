package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/shardwise/shardwise/translator/wfcommons"
)

var update = flag.Bool("update", false, "rewrite the golden plan documents in testdata/plan")

// TestPlanJSONGolden plans every example (and an imported WfCommons trace
// with its own history) and compares the JSON document byte for byte with
// the one recorded before the planning pipeline moved out of the CLI.
// Regenerate with `go test ./cmd/shardwise -run TestPlanJSONGolden -update`
// only when the plan is meant to change.
func TestPlanJSONGolden(t *testing.T) {
	examples, err := filepath.Glob(filepath.Join("..", "..", "examples", "*", "graph.hcl"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	cases := map[string][]string{}
	for _, g := range examples {
		name := filepath.Base(filepath.Dir(g))
		cases[name] = []string{"plan", "-run", "golden", "-format", "json", g}
	}
	res, err := wfcommons.Import(filepath.Join("..", "..", "translator", "wfcommons", "testdata", "tiny-pegasus.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := wfcommons.WriteDir(dir, res); err != nil {
		t.Fatal(err)
	}
	cases["tiny-pegasus-history"] = []string{"plan", "-run", "golden", "-format", "json",
		"-history", filepath.Join(dir, "history.jsonl"), filepath.Join(dir, "graph.hcl")}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			out, stderr, code := runCLI(args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			golden := filepath.Join("testdata", "plan", name+".json")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("plan JSON of %s differs from %s (rerun with -update only if the change is intended)", name, golden)
			}
		})
	}
}
