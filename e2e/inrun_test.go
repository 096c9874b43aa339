package e2e

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
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

// TestRunCorrectsEachTaskOfAFusedShard runs testdata/run/inrun-fused.hcl
// with the feedback service and the re-planner: a1 (type slowtool,
// history 1 s, sleeps 3 s) and b1 (steadytool, history 2 s, sleeps 2 s)
// fused into one shard, then a2 and b2 alone; beside them the fused
// [c1 -> d1], whose last task garbles its times file. The launcher reads
// the fused shard's per-task times (the summary lists them) and the
// in-run correction re-sizes a2 about 3x while b2 keeps its prediction;
// with the shard's one runtime (about 1.7x its prediction) both would
// move. The garbled file is no error: the run completes and the summary
// lists no times for c1's shard.
func TestRunCorrectsEachTaskOfAFusedShard(t *testing.T) {
	cl := cluster.Shared(t)
	env := []string{"NOMAD_ADDR=" + cl.NomadAddr()}
	db := filepath.Join(t.TempDir(), "history.db")
	hist := fixture("inrun-fused-history.jsonl")
	graph := fixture("inrun-fused.hcl")
	run := runID(t)
	p := planOf(t, run, graph, "-history", hist)
	byTask := map[string]*plan.Shard{}
	for _, s := range p.Shards {
		byTask[s.Tasks[0]] = s
	}
	fused, garbled, a2, b2 := byTask["a1"], byTask["c1"], byTask["a2"], byTask["b2"]
	if fused == nil || len(fused.Tasks) != 2 || garbled == nil || len(garbled.Tasks) != 2 || a2 == nil || b2 == nil {
		t.Fatalf("plan %+v: want [a1 b1] and [c1 d1] fused, a2 and b2 alone", p.Shards)
	}
	out, errOut, code := cli(t, env, "run", "-run", run, "-fail-fast", "-feedback", "-history-db", db, "-history", hist, graph)
	if code != 0 {
		t.Fatalf("run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	t.Logf("run summary:\n%s", out)
	row := regexp.MustCompile(`(?m)^(s\d{3}-[a-z0-9]+)\s+\S+\s+(\S+)\s+\S+\s+([0-9.]+)s\s`)
	got := map[string]float64{}
	for _, m := range row.FindAllStringSubmatch(out, -1) {
		if m[2] != "complete" {
			t.Errorf("%s ended %s, want complete", m[1], m[2])
		}
		got[m[1]], _ = strconv.ParseFloat(m[3], 64)
	}
	if len(got) != 4 {
		t.Fatalf("summary rows for %d shards, want 4:\n%s", len(got), out)
	}
	times := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(fused.ID) + `: ([0-9.]+)s ([0-9.]+)s$`).FindStringSubmatch(out)
	if times == nil {
		t.Fatalf("summary lists no per-task times of %s:\n%s", fused.ID, out)
	}
	if a1, _ := strconv.ParseFloat(times[1], 64); a1 < 3 {
		t.Errorf("a1 took %.1fs by its times file, want at least the 3 s it sleeps", a1)
	}
	if b1, _ := strconv.ParseFloat(times[2], 64); b1 < 2 {
		t.Errorf("b1 took %.1fs by its times file, want at least the 2 s it sleeps", b1)
	}
	if strings.Contains(out, "  "+garbled.ID+": ") {
		t.Errorf("summary lists per-task times of %s, whose times file was garbled:\n%s", garbled.ID, out)
	}
	if r := got[a2.ID] / a2.RuntimeSeconds.Value; r < 2 {
		t.Errorf("%s (slowtool) summary predicts %.1fs against the plan's %.1fs (x%.2f): want the in-run correction to raise it about 3x", a2.ID, got[a2.ID], a2.RuntimeSeconds.Value, r)
	}
	if got[b2.ID] != roundTenth(b2.RuntimeSeconds.Value) {
		t.Errorf("%s (steadytool) summary predicts %.1fs, want the plan's %.1fs: its type ran as history says", b2.ID, got[b2.ID], b2.RuntimeSeconds.Value)
	}
	if !regexp.MustCompile(`re-planned ` + a2.ID + `: \S+ -> \S+ \(in-run correction`).MatchString(out) {
		t.Errorf("summary lacks the in-run re-sizing of %s:\n%s", a2.ID, out)
	}
	if strings.Contains(out, "re-planned "+b2.ID+":") {
		t.Errorf("%s was re-planned:\n%s", b2.ID, out)
	}
}
