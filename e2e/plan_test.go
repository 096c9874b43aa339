package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/translator/hclreader"
)

// traceFiles lists every WfCommons trace shipped in shared/.
func traceFiles(t *testing.T) []string {
	t.Helper()
	dir := tracesDir(t)
	var files []string
	for _, pattern := range []string{"*.json", "runs/*.json", "legacy-schema-1.4/*.json"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 9 {
		t.Fatalf("found only %d traces in %s", len(files), dir)
	}
	return files
}

// TestTracesImportAndPlan imports every real trace, plans it with its own
// history, and checks the plan's invariants and the summary a user reads.
func TestTracesImportAndPlan(t *testing.T) {
	for _, trace := range traceFiles(t) {
		name := strings.TrimSuffix(filepath.Base(trace), ".json")
		t.Run(filepath.Base(filepath.Dir(trace))+"/"+name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "import")
			if out, errOut, code := shardwise(t, "import", "wfcommons", "-out", dir, trace); code != 0 {
				t.Fatalf("import exit %d\n%s%s", code, out, errOut)
			}
			graphFile := filepath.Join(dir, "graph.hcl")
			hist := filepath.Join(dir, "history.jsonl")
			out, errOut, code := shardwise(t, "plan", "-run", "e2e", "-history", hist, "-format", "json", graphFile)
			if code != 0 {
				t.Fatalf("plan exit %d\n%s", code, errOut)
			}
			var p plan.Plan
			if err := json.Unmarshal([]byte(out), &p); err != nil {
				t.Fatalf("plan JSON: %v", err)
			}
			g, diags := hclreader.ParseFile(graphFile, hclreader.Options{})
			if diags.HasErrors() {
				t.Fatalf("parse imported graph: %s", diags.Error())
			}
			checkPlan(t, g, &p)
			table, _, code := shardwise(t, "plan", "-run", "e2e", "-history", hist, graphFile)
			if code != 0 {
				t.Fatalf("plan (table) exit %d", code)
			}
			for _, want := range []string{"Predicted makespan:", "Best single class:"} {
				if !strings.Contains(table, want) {
					t.Errorf("summary lacks %q:\n%s", want, table)
				}
			}
			t.Logf("%s: %d tasks, %d shards, makespan %.0fs, baseline %+v", name, p.Stats.Tasks, p.Stats.Shards, p.MakespanSeconds, p.Baseline)
		})
	}
}

// checkPlan asserts that every task is in exactly one shard (or in every
// piece of its split), and that no shard starts before its upstream shards
// have finished.
func checkPlan(t *testing.T, g *graph.Graph, p *plan.Plan) {
	t.Helper()
	shardsOf := map[string][]*plan.Shard{}
	for _, s := range p.Shards {
		for _, task := range s.Tasks {
			shardsOf[task] = append(shardsOf[task], s)
		}
	}
	for _, task := range g.Tasks {
		ss := shardsOf[task.Name]
		switch {
		case len(ss) == 0:
			t.Errorf("task %q is in no shard", task.Name)
		case len(ss) > 1 && ss[0].Split == nil:
			t.Errorf("task %q is in %d shards and is not split", task.Name, len(ss))
		case ss[0].Split != nil && len(ss) != ss[0].Split.Count:
			t.Errorf("split task %q has %d pieces, want %d", task.Name, len(ss), ss[0].Split.Count)
		}
	}
	const eps = 1e-6
	for _, e := range g.Edges {
		for _, from := range shardsOf[e.From] {
			for _, to := range shardsOf[e.To] {
				if from == to {
					continue
				}
				if to.StartSeconds+eps < from.FinishSeconds {
					t.Errorf("edge %s -> %s: shard %s starts at %.3fs before upstream %s finishes at %.3fs",
						e.From, e.To, to.ID, to.StartSeconds, from.ID, from.FinishSeconds)
				}
			}
		}
	}
	if p.Stats.Tasks != len(g.Tasks) {
		t.Errorf("plan counts %d tasks, graph has %d", p.Stats.Tasks, len(g.Tasks))
	}
}

// TestBadGraphs runs `shardwise plan -out` on every bad-input fixture and
// checks exit status 1, a file:line:col diagnostic, and that nothing was
// written.
func TestBadGraphs(t *testing.T) {
	fixtures, _ := filepath.Glob(filepath.Join(repoRoot, "translator", "hclreader", "testdata", "bad", "*.hcl"))
	if len(fixtures) < 10 {
		t.Fatalf("found only %d bad-input fixtures", len(fixtures))
	}
	pos := regexp.MustCompile(`(?m)^[^\s:]+\.hcl:\d+:\d+: error: `)
	for _, f := range fixtures {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "jobs")
			dotFile := filepath.Join(t.TempDir(), "g.dot")
			stdout, stderr, code := shardwise(t, "plan", "-out", out, "-dot", dotFile, f)
			if code != 1 {
				t.Fatalf("exit status %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			if !pos.MatchString(stderr) {
				t.Errorf("stderr has no file:line:col diagnostic:\n%s", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout not empty on error: %q", stdout)
			}
			for _, p := range []string{out, dotFile} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s was written despite the error", p)
				}
			}
		})
	}
}

// TestExamplesSpanAllClasses plans every hand-written example and checks
// that between them their shards use all five default executor classes.
func TestExamplesSpanAllClasses(t *testing.T) {
	graphs, _ := filepath.Glob(filepath.Join(repoRoot, "examples", "*", "graph.hcl"))
	used := map[string]bool{}
	for _, gf := range graphs {
		out, errOut, code := shardwise(t, "plan", "-run", "c1", "-format", "json", gf)
		if code != 0 {
			t.Fatalf("plan %s: exit %d: %s", gf, code, errOut)
		}
		var p plan.Plan
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Shards {
			used[s.Class] = true
		}
		if p.Baseline != nil && p.MakespanSeconds > p.Baseline.MakespanSeconds {
			t.Errorf("%s: plan makespan %.0fs worse than single-class %.0fs", gf, p.MakespanSeconds, p.Baseline.MakespanSeconds)
		}
	}
	for _, c := range []string{"cpu-heavy", "memory-intensive", "io-bound", "gpu-accelerated", "low-latency"} {
		if !used[c] {
			t.Errorf("no example shard runs on %s (used: %v)", c, used)
		}
	}
}
