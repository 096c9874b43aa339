package e2e

import (
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/planner/plan"
)

// TestRunCorrectsPredictionsInRun runs three tasks of one type whose
// history says 1 s but which sleep 3 s each (testdata/run/inrun.hcl),
// with the feedback service and the re-planner: once w1 has completed
// about 3x over its prediction, the in-run correction re-sizes the later
// shards of the type on their classes, and the run summary shows their
// predictions moved to about the 3 s they take; the run completes.
func TestRunCorrectsPredictionsInRun(t *testing.T) {
	cl := cluster.Shared(t)
	env := []string{"NOMAD_ADDR=" + cl.NomadAddr()}
	db := filepath.Join(t.TempDir(), "history.db")
	hist := fixture("inrun-history.jsonl")
	graph := fixture("inrun.hcl")
	run := runID(t)
	p := planOf(t, run, graph, "-history", hist)
	planned := map[string]float64{}
	for _, s := range p.Shards {
		planned[s.ID] = s.RuntimeSeconds.Value
		if s.RuntimeSeconds.Source != plan.SourceHistory || s.RuntimeSeconds.Value > 2 {
			t.Fatalf("plan: %s predicted %.1fs from %s, want about 1 s from history", s.ID, s.RuntimeSeconds.Value, s.RuntimeSeconds.Source)
		}
	}
	out, errOut, code := cli(t, env, "run", "-run", run, "-fail-fast", "-feedback", "-history-db", db, "-history", hist, graph)
	if code != 0 {
		t.Fatalf("run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	t.Logf("run summary:\n%s", out)
	row := regexp.MustCompile(`(?m)^(s00[0-2]-w[1-3])\s+\S+\s+(\S+)\s+\S+\s+([0-9.]+)s\s`)
	got := map[string]float64{}
	for _, m := range row.FindAllStringSubmatch(out, -1) {
		if m[2] != "complete" {
			t.Errorf("%s ended %s, want complete", m[1], m[2])
		}
		got[m[1]], _ = strconv.ParseFloat(m[3], 64)
	}
	if len(got) != 3 {
		t.Fatalf("summary rows for %d shards, want 3:\n%s", len(got), out)
	}
	if got["s000-w1"] != roundTenth(planned["s000-w1"]) {
		t.Errorf("s000-w1 summary predicts %.1fs, want the plan's %.1fs (it ran first, before any correction)", got["s000-w1"], planned["s000-w1"])
	}
	for _, id := range []string{"s001-w2", "s002-w3"} {
		if r := got[id] / planned[id]; r < 2 {
			t.Errorf("%s summary predicts %.1fs against the plan's %.1fs (x%.2f): want the in-run correction to raise it about 3x", id, got[id], planned[id], r)
		}
	}
	if !regexp.MustCompile(`re-planned s001-w2: cpu-heavy -> cpu-heavy \(in-run correction`).MatchString(out) {
		t.Errorf("summary lacks the in-run re-sizing of s001-w2:\n%s", out)
	}
}

func roundTenth(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 1, 64), 64)
	return v
}
