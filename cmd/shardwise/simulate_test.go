package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/internal/testutil"
	"github.com/shardwise/shardwise/planner/evaluate"
)

// TestSimulateGraph runs simulate on an example graph: every method is
// reported, the JSON is deterministic apart from plan times, and the Gantt
// chart is written.
func TestSimulateGraph(t *testing.T) {
	graph := filepath.Join("..", "..", "examples", "ml-pipeline", "graph.hcl")
	svg := filepath.Join(t.TempDir(), "plan.svg")
	out, stderr, code := runCLI("simulate", "-format", "json", "-gantt", svg, graph)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r evaluate.JSONReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Graph != "ml-pipeline" || len(r.Methods) != 3 || r.Bound.Seconds <= 0 {
		t.Fatalf("report %+v", r)
	}
	for _, m := range r.Methods {
		if m.MakespanSeconds < r.Bound.CriticalPathSeconds*0.5 || m.Allocations == 0 || len(m.Classes) == 0 {
			t.Errorf("method %+v", m)
		}
	}
	if b, err := os.ReadFile(svg); err != nil || !strings.Contains(string(b), "<svg") {
		t.Errorf("gantt: %v", err)
	}
	// The JSON says which noise and seed it was played with.
	out, stderr, code = runCLI("simulate", "-format", "json", "-noise", "0.2", "-seed", "3", graph)
	var noisy evaluate.JSONReport
	if err := json.Unmarshal([]byte(out), &noisy); code != 0 || err != nil || noisy.Noise != 0.2 || noisy.Seed != 3 {
		t.Errorf("simulate -format json -noise 0.2 -seed 3: noise %v seed %v (exit %d, %v) %s", noisy.Noise, noisy.Seed, code, err, stderr)
	}
	table, _, code := runCLI("simulate", "-noise", "0.2", "-seed", "3", graph)
	for _, want := range []string{"Lower bound", "single-class", "heft", "shardwise", "Utilisation", "noise 0.2, seed 3"} {
		if code != 0 || !strings.Contains(table, want) {
			t.Errorf("table lacks %q (exit %d):\n%s", want, code, table)
		}
	}
}

// TestSimulateTrace imports a WfCommons trace in memory.
func TestSimulateTrace(t *testing.T) {
	trace := testutil.Trace(t, "bacass-dirt02-001.json")
	out, stderr, code := runCLI("simulate", trace)
	if code != 0 || !strings.Contains(out, `Graph "bacass-dirt02-001": 11 tasks`) {
		t.Errorf("exit %d: %s\n%s", code, stderr, out)
	}
}

func TestSimulateUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"simulate"},
		{"simulate", "-format", "yaml", "g.hcl"},
		{"simulate", "-gantt", "chart.png", "g.hcl"},
		{"simulate", "-noise", "-1", "g.hcl"},
		{"simulate", "-noise", "NaN", "g.hcl"},
		{"simulate", "-noise", "Inf", "g.hcl"},
		{"simulate", "-noise", "1e160", "g.hcl"}, // its square overflows: the simulator ran forever
		// A trace has no variables: the values would be silently dropped.
		{"simulate", "-var", "shards=4", "t.json"},
		{"simulate", "-var-file", "v.hcl", "T.JSON"},
		{"import", "wfcommons", "-time-scale", "NaN", "-out", "d", "t.json"},
		{"import", "wfcommons", "-time-scale", "+Inf", "-out", "d", "t.json"},
	} {
		if _, _, code := runCLI(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
