package replan

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/sdk"
	"github.com/shardwise/shardwise/translator/hclreader"
	"github.com/shardwise/shardwise/translator/nomadjob"
)

// fakeAdvisor serves a fixed load and a predictor over fixed records.
type fakeAdvisor struct {
	load    *Load
	records []history.Record
	predErr error
	fits    int
}

func (f *fakeAdvisor) Load(context.Context) (*Load, error) { return f.load, nil }

func (f *fakeAdvisor) Predictor(_ context.Context, cat *catalog.Catalog, extra ...history.Record) (*predict.Predictor, error) {
	f.fits++
	if f.predErr != nil {
		return nil, f.predErr
	}
	return predict.New(cat, append(extra, f.records...))
}

// allReady is a load with one ready node in every class of cat and
// nothing blocked.
func allReady(cat *catalog.Catalog) *Load {
	l := &Load{Classes: map[string]NodeClassLoad{}, Blocked: map[string]int{}}
	for _, c := range cat.Classes {
		l.Classes[c.Placement.NodeClass] = NodeClassLoad{Nodes: 1, ReadyNodes: 1}
	}
	return l
}

// setup plans the e2e re-plan graph (load on io-bound -> join on
// memory-intensive) with the default catalog and returns a Replanner
// over adv and the request before join's wave, load complete.
func setup(t *testing.T, adv *fakeAdvisor) (*Replanner, launcher.ReplanRequest) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "e2e", "testdata", "run", "replan.hcl")
	cat := catalog.Default()
	g, diags := hclreader.ParseFile(path, hclreader.Options{Executors: cat.Names()})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p := buildPlan(t, g, cat)
	if p.Shards[1].Class != "memory-intensive" {
		t.Fatalf("join planned on %s, want memory-intensive", p.Shards[1].Class)
	}
	if adv.load == nil {
		adv.load = allReady(cat)
	}
	r := &Replanner{Graph: g, Catalog: cat, Advisor: adv, Jobs: nomadjob.Options{Driver: p.Driver}}
	load := launcher.ShardResult{Shard: p.Shards[0].ID, Class: "io-bound", State: launcher.Complete,
		PredictedSeconds: p.Shards[0].RuntimeSeconds.Value, Actual: time.Duration(p.Shards[0].RuntimeSeconds.Value * float64(time.Second))}
	return r, launcher.ReplanRequest{Plan: p, Next: p.Shards[1:], Pending: p.Shards[1:], Done: []launcher.ShardResult{load}}
}

func buildPlan(t *testing.T, g *graph.Graph, cat *catalog.Catalog) *plan.Plan {
	t.Helper()
	pred, err := predict.New(cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := pred.Predict(g)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(g, cat, tb, plan.Options{Run: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	p.Driver = "raw_exec"
	return p
}

func TestNoTriggerKeepsPlanWithoutRefit(t *testing.T) {
	adv := &fakeAdvisor{}
	r, req := setup(t, adv)
	moves, err := r.Replan(context.Background(), req)
	if err != nil || len(moves) != 0 {
		t.Fatalf("moves %v, err %v; want none", moves, err)
	}
	if adv.fits != 0 {
		t.Errorf("refitted the predictor %d times without a trigger", adv.fits)
	}
}

// checkMove checks that the only move takes join off memory-intensive
// with reason and a job constrained to the new class.
func checkMove(t *testing.T, moves []launcher.Move, reason string) launcher.Move {
	t.Helper()
	if len(moves) != 1 {
		t.Fatalf("%d moves, want 1", len(moves))
	}
	m := moves[0]
	to := m.Shards[0].Class
	if to == "memory-intensive" || m.Shards[0].ID != "s001-join" || !strings.Contains(m.Reason, reason) {
		t.Fatalf("move %s to %s (%s), want s001-join off memory-intensive because %q", m.Shards[0].ID, to, m.Reason, reason)
	}
	if *m.Job.ID != m.Shards[0].Job || m.Job.Meta[sdk.MetaClass] != to {
		t.Errorf("job %s class meta %q, want job %s on %s", *m.Job.ID, m.Job.Meta[sdk.MetaClass], m.Shards[0].Job, to)
	}
	cons := m.Job.TaskGroups[0].Constraints
	if len(cons) == 0 || cons[0].RTarget != to {
		t.Errorf("constraints %v, want node class %s first", cons, to)
	}
	return m
}

func TestUnavailableClassMoves(t *testing.T) {
	adv := &fakeAdvisor{}
	r, req := setup(t, adv)
	adv.load.Classes["memory-intensive"] = NodeClassLoad{Nodes: 1, ReadyNodes: 0}
	moves, err := r.Replan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	m := checkMove(t, moves, "no ready node in memory-intensive")
	if strings.Contains(m.Reason, "alternative") {
		t.Errorf("reason %q: want the fresh plan's move, not the fallback", m.Reason)
	}
	if adv.fits != 1 {
		t.Errorf("refitted %d times, want 1", adv.fits)
	}
}

func TestSaturatedClassMoves(t *testing.T) {
	adv := &fakeAdvisor{}
	r, req := setup(t, adv)
	adv.load.Blocked["memory-intensive"] = 3
	moves, err := r.Replan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	checkMove(t, moves, "memory-intensive saturated: 3 blocked evaluations")
}

func TestFallbackToAlternative(t *testing.T) {
	adv := &fakeAdvisor{predErr: errors.New("store gone")}
	r, req := setup(t, adv)
	adv.load.Classes["memory-intensive"] = NodeClassLoad{Nodes: 1}
	moves, err := r.Replan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	m := checkMove(t, moves, "no ready node in memory-intensive; next-best alternative")
	best := req.Next[0].Alternatives[0]
	for _, a := range req.Next[0].Alternatives {
		if a.FinishSeconds < best.FinishSeconds {
			best = a
		}
	}
	if m.Shards[0].Class != best.Class {
		t.Errorf("moved to %s, want the earliest alternative %s", m.Shards[0].Class, best.Class)
	}
	if m.Shards[0].Resources.MemoryMaxMiB != 0 && !r.Catalog.Class(best.Class).Oversubscribe {
		t.Errorf("memory_max %d kept on a class without oversubscription", m.Shards[0].Resources.MemoryMaxMiB)
	}
}

func TestNoUsableClassKeeps(t *testing.T) {
	adv := &fakeAdvisor{}
	r, req := setup(t, adv)
	for name := range adv.load.Classes {
		adv.load.Classes[name] = NodeClassLoad{Nodes: 1}
	}
	moves, err := r.Replan(context.Background(), req)
	if err != nil || len(moves) != 0 {
		t.Fatalf("moves %v, err %v; want none when no class has a ready node", moves, err)
	}
}

// An upstream far off its prediction re-plans with fresh history; when
// the fresh plan still places the shard on its class, it stays there. Its
// upstream, of another type, ran 10x: the run-wide in-run factor
// (predict.Correction.RunFactor, one type: 10^(1/3), about 2.15x) re-sizes
// it on its class.
func TestOffPredictionReplansButKeeps(t *testing.T) {
	adv := &fakeAdvisor{}
	r, req := setup(t, adv)
	req.Done[0].Actual = time.Duration(req.Done[0].PredictedSeconds * 10 * float64(time.Second))
	moves, err := r.Replan(context.Background(), req)
	if err != nil || len(moves) != 1 {
		t.Fatalf("moves %v, err %v; want one re-sizing", moves, err)
	}
	m := moves[0]
	if len(m.Shards) != 1 || m.Shards[0].Class != req.Next[0].Class || !strings.HasPrefix(m.Reason, "in-run correction") {
		t.Errorf("move %+v (%s), want the shard kept on %s and re-sized by the in-run correction", m.Shards, m.Reason, req.Next[0].Class)
	}
	if got, want := m.Shards[0].RuntimeSeconds.Value/req.Next[0].RuntimeSeconds.Value, math.Cbrt(10); math.Abs(got-want) > 0.01 {
		t.Errorf("re-sized runtime x%.3f, want x%.3f (the run-wide factor)", got, want)
	}
	if adv.fits != 1 {
		t.Errorf("refitted %d times, want 1 (an upstream ran 10x its prediction)", adv.fits)
	}
}

// Fresh history that makes join short (start-up outweighs speed) moves
// it off memory-intensive, with the fresh prediction, when its upstream
// ran far off prediction.
func TestOffPredictionMovesOnFreshHistory(t *testing.T) {
	adv := &fakeAdvisor{}
	r, req := setup(t, adv)
	req.Done[0].Actual = time.Duration(req.Done[0].PredictedSeconds * 10 * float64(time.Second))
	sig := r.Graph.Task("join").Signature
	for i := range 5 {
		adv.records = append(adv.records, history.Record{Signature: sig, Executor: "cpu-heavy", RuntimeSeconds: 1,
			Run: "old", Task: "join", Shard: fmt.Sprint("s", i)})
	}
	moves, err := r.Replan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	m := checkMove(t, moves, "upstream s000-load ran 10.00x its prediction")
	rt := m.Shards[0].RuntimeSeconds
	if rt.Source != plan.SourceHistory || rt.Value > 5 {
		t.Errorf("moved shard's runtime %+v, want about 1 s from history", rt)
	}
	if got, want := m.Job.Meta[sdk.MetaPredictedRuntime], fmt.Sprint(math.Round(rt.Value*1000)/1000); got != want {
		t.Errorf("job meta %s = %q, want the fresh prediction %q", sdk.MetaPredictedRuntime, got, want)
	}
}

// TestInRunCorrectionOfPendingTasks: w1 and w2 are of one type; w1 ran 3x
// its fresh prediction, so the re-plan predicts w2 3x longer on every
// class, and v, of a type not completed yet, by the run-wide factor
// (one type at 3x: 3^(1/3)).
func TestInRunCorrectionOfPendingTasks(t *testing.T) {
	cat := catalog.Default()
	g := graph.New("inrun")
	for _, tk := range []*graph.Task{{Name: "w1", Signature: "w"}, {Name: "w2", Signature: "w"}, {Name: "v", Signature: "v"}} {
		if err := g.AddTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	p := &plan.Plan{Run: "r1", Shards: []*plan.Shard{
		{ID: "s-w1", Class: "cpu-heavy", Tasks: []string{"w1"}},
		{ID: "s-w2", Class: "cpu-heavy", Tasks: []string{"w2"}, Upstream: []string{"s-w1"}},
		{ID: "s-v", Class: "io-bound", Tasks: []string{"v"}},
	}}
	pred, err := predict.New(cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	fresh := func() *predict.Table {
		tb, err := pred.Predict(g)
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	base, tb := fresh(), fresh()
	var w1 *plan.Shard
	var pending []*plan.Shard
	for _, s := range p.Shards {
		if slices.Contains(s.Tasks, "w1") {
			w1 = s
		} else {
			pending = append(pending, s)
		}
	}
	c := slices.Index(tb.Classes, w1.Class)
	actual := 3 * base.At(0, c).Runtime.Value
	r := &Replanner{Graph: g, Catalog: cat}
	req := launcher.ReplanRequest{Plan: p, Pending: pending, Done: []launcher.ShardResult{{Shard: w1.ID, Class: w1.Class,
		State: launcher.Complete, Actual: time.Duration(actual * float64(time.Second))}}}
	if n := r.correct(tb, req); n != 2 {
		t.Errorf("corrected %d tasks, want 2 (w2, v)", n)
	}
	for ci := range tb.Classes {
		if got, want := tb.At(1, ci).Runtime.Value, 3*base.At(1, ci).Runtime.Value; math.Abs(got-want) > 1e-6 {
			t.Errorf("w2 on %s: %v s, want %v s", tb.Classes[ci], got, want)
		}
		if got, want := tb.At(2, ci).Runtime.Value, math.Cbrt(3)*base.At(2, ci).Runtime.Value; math.Abs(got-want) > 1e-6 {
			t.Errorf("v on %s: %v s, want %v s", tb.Classes[ci], got, want)
		}
		if got, want := tb.At(0, ci).Runtime.Value, base.At(0, ci).Runtime.Value; got != want {
			t.Errorf("w1 (done) on %s: %v s, want %v s", tb.Classes[ci], got, want)
		}
	}
}

// inRunPlan plans e2e's graph testdata/run/NAME on the default catalog
// with the history records in testdata/run/HIST, as the e2e run does.
func inRunPlan(t *testing.T, name, hist string) (*graph.Graph, *catalog.Catalog, []history.Record, *plan.Plan) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "e2e", "testdata", "run")
	cat := catalog.Default()
	g, diags := hclreader.ParseFile(filepath.Join(dir, name), hclreader.Options{Executors: cat.Names()})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	recs, err := history.Load(filepath.Join(dir, hist))
	if err != nil {
		t.Fatal(err)
	}
	pred, err := predict.New(cat, recs)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := pred.Predict(g)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(g, cat, tb, plan.Options{Run: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	p.Driver = "raw_exec"
	return g, cat, recs, p
}

// TestInRunCorrectionResizesOnItsClass plans e2e's in-run graph (three
// tasks of one type pinned to their classes, history saying 1 s) and,
// after w1 ran 3x its prediction, re-plans w2: it keeps its class but is
// moved to the fresh plan's job, predicted about 3x longer, saying why.
func TestInRunCorrectionResizesOnItsClass(t *testing.T) {
	g, cat, hist, p := inRunPlan(t, "inrun.hcl", "inrun-history.jsonl")
	if len(p.Shards) != 3 {
		t.Fatalf("%d shards, want 3", len(p.Shards))
	}
	adv := &fakeAdvisor{load: allReady(cat), records: hist}
	r := &Replanner{Graph: g, Catalog: cat, Advisor: adv, Jobs: nomadjob.Options{Driver: p.Driver}}
	w1, w2 := p.Shards[0], p.Shards[1]
	done := launcher.ShardResult{Shard: w1.ID, Class: w1.Class, State: launcher.Complete, PredictedSeconds: w1.RuntimeSeconds.Value,
		Actual: time.Duration(3 * w1.RuntimeSeconds.Value * float64(time.Second))}
	moves, err := r.Replan(context.Background(), launcher.ReplanRequest{Plan: p, Next: p.Shards[1:2], Pending: p.Shards[1:], Done: []launcher.ShardResult{done}})
	if err != nil {
		t.Fatal(err)
	}
	if len(moves) != 1 {
		t.Fatalf("%d moves, want 1", len(moves))
	}
	m := moves[0]
	got := m.Shards[0]
	if got.ID != w2.ID || got.Class != w2.Class || !strings.Contains(m.Reason, "in-run correction") {
		t.Fatalf("move %s to %s (%s), want %s kept on %s by the in-run correction", got.ID, got.Class, m.Reason, w2.ID, w2.Class)
	}
	if ratio := got.RuntimeSeconds.Value / w2.RuntimeSeconds.Value; ratio < 2.5 || ratio > 3.5 {
		t.Errorf("w2 predicted %.2fs after correction, %.2fs before: ratio %.2f, want about 3", got.RuntimeSeconds.Value, w2.RuntimeSeconds.Value, ratio)
	}
}

// TestFreshPlanKeepsPlanningSwitches re-plans a chain that the planner
// fuses: with NoFusion (the run's -no-fusion) the fresh plan keeps one
// task per shard, as the run was planned.
func TestFreshPlanKeepsPlanningSwitches(t *testing.T) {
	src := []byte(`graph "chain" {
  datacenters = ["dc1"]
  task "a" {
    command = "/bin/true"
    hints {
      runtime = "2s"
    }
  }
  task "b" {
    command    = "/bin/true"
    depends_on = [task.a]
    hints {
      runtime = "2s"
    }
  }
  task "c" {
    command    = "/bin/true"
    depends_on = [task.b]
    hints {
      runtime = "2s"
    }
  }
}
`)
	cat := catalog.Default()
	g, diags := hclreader.Parse("chain.hcl", src, hclreader.Options{Executors: cat.Names()})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p := buildPlan(t, g, cat)
	req := launcher.ReplanRequest{Plan: p, Next: p.Shards, Pending: p.Shards}
	maxTasks := func(noFusion bool) int {
		adv := &fakeAdvisor{load: allReady(cat)}
		r := &Replanner{Graph: g, Catalog: cat, Advisor: adv, Jobs: nomadjob.Options{Driver: p.Driver}, NoFusion: noFusion}
		f, err := r.freshPlan(context.Background(), req, adv.load)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range f.plan.Shards {
			n = max(n, len(s.Tasks))
		}
		return n
	}
	if n := maxTasks(false); n < 2 {
		t.Fatalf("the fused fresh plan has at most %d task per shard; the chain should fuse", n)
	}
	if n := maxTasks(true); n != 1 {
		t.Errorf("fresh plan with NoFusion has a shard of %d tasks, want 1", n)
	}
}

// TestInRunCorrectionPerTaskOfFusedShard plans e2e's fused in-run graph
// ([a1 -> b1] fused, then a2 and b2; history says slowtool 1 s and
// steadytool 2 s) and re-plans a2 and b2 after the fused shard ran 5 s
// against 3 s predicted. With the per-task times the launcher read (a1
// 3 s, 3x; b1 2 s, 1x), a2 (slowtool) is re-sized about 3x and b2
// (steadytool) keeps its prediction. Without them (a file that could not
// be read, or times that do not match the shard's tasks) the shard's
// 1.67x falls on both types and both are re-sized.
func TestInRunCorrectionPerTaskOfFusedShard(t *testing.T) {
	g, cat, hist, p := inRunPlan(t, "inrun-fused.hcl", "inrun-fused-history.jsonl")
	byTask := map[string]*plan.Shard{}
	for _, s := range p.Shards {
		byTask[s.Tasks[0]] = s
	}
	fused, a2, b2 := byTask["a1"], byTask["a2"], byTask["b2"]
	if fused == nil || !slices.Equal(fused.Tasks, []string{"a1", "b1"}) || a2 == nil || b2 == nil || len(a2.Tasks)+len(b2.Tasks) != 2 {
		t.Fatalf("plan %v, want [a1 b1] fused, a2 and b2 alone", p.Shards)
	}
	var pending []*plan.Shard
	for _, s := range p.Shards {
		if s == a2 || s == b2 {
			pending = append(pending, s)
		}
	}
	for _, tc := range []struct {
		name    string
		times   []float64
		resized map[string]bool
	}{
		{"per-task times", []float64{3, 2}, map[string]bool{a2.ID: true}},
		{"shard runtime only", nil, map[string]bool{a2.ID: true, b2.ID: true}},
		{"times not matching the tasks", []float64{5}, map[string]bool{a2.ID: true, b2.ID: true}},
	} {
		adv := &fakeAdvisor{load: allReady(cat), records: hist}
		r := &Replanner{Graph: g, Catalog: cat, Advisor: adv, Jobs: nomadjob.Options{Driver: p.Driver}}
		done := launcher.ShardResult{Shard: fused.ID, Class: fused.Class, State: launcher.Complete,
			PredictedSeconds: fused.RuntimeSeconds.Value, Actual: 5 * time.Second, TaskSeconds: tc.times}
		moves, err := r.Replan(context.Background(), launcher.ReplanRequest{Plan: p, Next: pending, Pending: pending, Done: []launcher.ShardResult{done}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, m := range moves {
			s := m.Shards[0]
			was := byTask[s.Tasks[0]]
			if !strings.Contains(m.Reason, "in-run correction") || s.Class != was.Class {
				t.Errorf("%s: %s moved to %s (%s), want it re-sized on %s by the in-run correction", tc.name, s.ID, s.Class, m.Reason, was.Class)
			}
			ratio := s.RuntimeSeconds.Value / was.RuntimeSeconds.Value
			want := 5.0 / 3
			if s.ID == a2.ID && tc.times != nil && len(tc.times) == 2 {
				want = 3
			}
			if math.Abs(ratio-want) > 0.05*want {
				t.Errorf("%s: %s predicted %.2fs, was %.2fs (x%.2f), want x%.2f", tc.name, s.ID, s.RuntimeSeconds.Value, was.RuntimeSeconds.Value, ratio, want)
			}
			got[s.ID] = true
		}
		if !maps.Equal(got, tc.resized) {
			t.Errorf("%s: re-sized %v, want %v", tc.name, got, tc.resized)
		}
	}
}

// A refit that fails is tried once per run: the Binder's table is asked
// for once per job and per timed fused shard of every wave.
func TestFailedRefitIsNotRetried(t *testing.T) {
	adv := &fakeAdvisor{predErr: errors.New("history store unreadable")}
	r := &Replanner{Graph: graph.New("g"), Catalog: catalog.Default(), Advisor: adv}
	for i := 0; i < 5; i++ {
		if _, err := r.bindTable(context.Background()); err == nil {
			t.Fatal("refit error not returned")
		}
	}
	if adv.fits != 1 {
		t.Errorf("%d refits, want 1", adv.fits)
	}
}
