package planner

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/planner/simulate"
)

// guardCase is two independent tasks x and y, each p50 seconds (p90 at
// p90) on both classes of a catalog: fast (one instance, 1 s start-up)
// and slow (two instances, 20 s start-up). The "Shardwise" plan runs x
// then y on fast; the per-task plan runs x on fast and y on slow.
func guardCase(t *testing.T, p50, p90 float64) (*graph.Graph, *catalog.Catalog, *predict.Table, *plan.Plan, *plan.Plan) {
	t.Helper()
	g := graph.New("pair")
	for _, n := range []string{"x", "y"} {
		if err := g.AddTask(&graph.Task{Name: n, Command: "true"}); err != nil {
			t.Fatal(err)
		}
	}
	class := func(name string, n int, su time.Duration) *catalog.Class {
		return &catalog.Class{Name: name, Instances: n, BandwidthBytes: 1e9, Startup: su,
			Shape: catalog.Shape{CPU: 4000, MemoryMiB: 4096, DiskMiB: 10240}}
	}
	cat := &catalog.Catalog{Classes: []*catalog.Class{class("fast", 1, time.Second), class("slow", 2, 20*time.Second)}}
	tb := predict.NewTable(2, cat.Names())
	for i := range 2 {
		for c := range 2 {
			*tb.At(i, c) = predict.Need{Feasible: true, Runtime: predict.Estimate{Value: p50, P90: p90}}
		}
	}
	shard := func(id, task, class string, up ...string) *plan.Shard {
		return &plan.Shard{ID: id, Job: id, Tasks: []string{task}, Class: class, Type: "batch",
			RuntimeSeconds: plan.Estimate{Value: p50}, Upstream: up}
	}
	sw := &plan.Plan{Graph: "pair", Shards: []*plan.Shard{shard("sx", "x", "fast"), shard("sy", "y", "fast")}}
	heft := &plan.Plan{Graph: "pair", Shards: []*plan.Shard{shard("hx", "x", "fast"), shard("hy", "y", "slow")}}
	return g, cat, tb, sw, heft
}

// TestRobustGuardFallsBack: with p50 100 s and p90 1000 s (p10 10 s),
// Shardwise's plan (x then y on fast: 2 + 2r) takes 22, 202 and 2002 s
// at p10, p50 and p90; the per-task plan's (y on slow: 20 + r) 30, 120 and 1020 s.
// Worst regrets: Shardwise 2002/1020 = 1.963, HEFT 30/22 = 1.364: HEFT's
// plan is kept.
func TestRobustGuardFallsBack(t *testing.T) {
	g, cat, tb, sw, heft := guardCase(t, 100, 1000)
	d, err := robustGuard(g, cat, tb, sw, heft)
	if err != nil {
		t.Fatal(err)
	}
	wantSeconds(t, "shardwise", d.Shardwise, 22, 202, 2002)
	wantSeconds(t, "per-task", d.PerTask, 30, 120, 1020)
	if !near(d.RegretShardwise, 2002.0/1020) || !near(d.RegretPerTask, 30.0/22) || !d.Fallback {
		t.Errorf("regrets %g and %g, fallback %v; want %g, %g, true", d.RegretShardwise, d.RegretPerTask, d.Fallback, 2002.0/1020, 30.0/22)
	}
	if s := d.String(); !strings.HasPrefix(s, "kept per-task: worst regret shardwise 1.963, per-task 1.364") {
		t.Errorf("String() = %q", s)
	}
}

// TestRobustGuardKeepsShardwise: with p50 10 s and p90 20 s (p10 5 s),
// Shardwise's plan takes 12, 22 and 42 s, the per-task plan's 25, 30 and 40 s; worst
// regrets 42/40 = 1.05 and 25/12 = 2.083: Shardwise's plan is kept.
func TestRobustGuardKeepsShardwise(t *testing.T) {
	g, cat, tb, sw, heft := guardCase(t, 10, 20)
	d, err := robustGuard(g, cat, tb, sw, heft)
	if err != nil {
		t.Fatal(err)
	}
	wantSeconds(t, "shardwise", d.Shardwise, 12, 22, 42)
	wantSeconds(t, "per-task", d.PerTask, 25, 30, 40)
	if !near(d.RegretShardwise, 1.05) || !near(d.RegretPerTask, 25.0/12) || d.Fallback {
		t.Errorf("regrets %g and %g, fallback %v; want 1.05, %g, false", d.RegretShardwise, d.RegretPerTask, d.Fallback, 25.0/12)
	}
}

// TestRobustGuardTieKeepsShardwise: equal makespans in every scenario
// keep Shardwise's plan.
func TestRobustGuardTieKeepsShardwise(t *testing.T) {
	g, cat, tb, sw, _ := guardCase(t, 10, 20)
	d, err := robustGuard(g, cat, tb, sw, sw)
	if err != nil {
		t.Fatal(err)
	}
	if d.Fallback || d.RegretShardwise != 1 || d.RegretPerTask != 1 {
		t.Errorf("%+v", d)
	}
}

// TestPipelineGuard: the pipeline records the guard's decision when the
// predictions have a spread, and skips it without one or with NoGuard.
func TestPipelineGuard(t *testing.T) {
	cat := catalog.Default()
	g := chain(t)
	tb, err := Pipeline{Catalog: cat}.Predict(g, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < tb.Tasks(); i++ {
		for c := range tb.Classes {
			tb.At(i, c).Runtime.P90 = 0
		}
	}
	r, err := Pipeline{Catalog: cat}.Plan(g, Options{Run: "r", Table: tb})
	if err != nil {
		t.Fatal(err)
	}
	if r.Plan.Guard != "" {
		t.Errorf("no spread: guard %q, want none", r.Plan.Guard)
	}
	for i := 0; i < tb.Tasks(); i++ {
		for c := range tb.Classes {
			tb.At(i, c).Runtime.P90 = 3 * tb.At(i, c).Runtime.Value
		}
	}
	r, err = Pipeline{Catalog: cat}.Plan(g, Options{Run: "r", Table: tb})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Plan.Guard, "kept ") {
		t.Errorf("spread: guard %q, want a decision", r.Plan.Guard)
	}
	r, err = Pipeline{Catalog: cat}.Plan(g, Options{Run: "r", Table: tb, NoGuard: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Plan.Guard != "" {
		t.Errorf("NoGuard: guard %q, want none", r.Plan.Guard)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func wantSeconds(t *testing.T, what string, got []float64, want ...float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
	for i := range want {
		if !near(got[i], want[i]) {
			t.Errorf("%s: makespans %v, want %v", what, got, want)
			return
		}
	}
}

// TestPipelineProbeInSchedule: eight tasks of probed type w, 10 s each at
// p50 (20 s at p90), on one class of two instances with a 5 s start-up.
// Built without the probe, the plan batches them into two allocations of
// four (45 s each); plan.Probe then holds one batch back for the other,
// 90 s in all at p50. With the probe's wait in the graph, the probe's
// four tasks run as two batches of two (25 s), then the other four: 50 s,
// and the pipeline keeps that plan, every other w task waiting for the
// probe's.
func TestPipelineProbeInSchedule(t *testing.T) {
	g := graph.New("probe")
	for i := range 8 {
		if err := g.AddTask(&graph.Task{Name: fmt.Sprintf("w%d", i), Signature: "w", Command: "true"}); err != nil {
			t.Fatal(err)
		}
	}
	cat := &catalog.Catalog{Classes: []*catalog.Class{{Name: "c", Instances: 2, BandwidthBytes: 1e9, Startup: 5 * time.Second,
		Shape: catalog.Shape{CPU: 4000, MemoryMiB: 4096, DiskMiB: 10240}}}}
	tb := predict.NewTable(8, cat.Names())
	for i := range 8 {
		tb.Kinds[i] = graph.KindCPU
		*tb.At(i, 0) = predict.Need{Feasible: true, Runtime: predict.Estimate{Value: 10, P90: 20}, MemoryMiB: predict.Estimate{Value: 100}}
	}
	r, err := Pipeline{Catalog: cat}.Plan(g, Options{Run: "r", Table: tb, Probes: []string{"w"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Plan.Guard, "kept probe in the schedule") || !near(r.Plan.MakespanSeconds, 50) {
		t.Fatalf("guard %q, makespan %g s; want the probe in the schedule, 50 s", r.Plan.Guard, r.Plan.MakespanSeconds)
	}
	if !strings.Contains(r.Plan.Guard, "50.0/") || !strings.Contains(r.Plan.Guard, "/90.0/") {
		t.Errorf("guard %q: want p50 makespans 50 s in the schedule, 90 s after it", r.Plan.Guard)
	}
	var probe, rest []*plan.Shard
	for _, s := range r.Plan.Shards {
		if s.Resources.MemoryMiB.Value == 200 {
			probe = append(probe, s)
		} else {
			rest = append(rest, s)
		}
	}
	if len(probe) != 2 || len(rest) != 2 {
		t.Fatalf("%d probe shards (at twice the memory) and %d others, want 2 and 2", len(probe), len(rest))
	}
	for _, s := range rest {
		if len(s.Upstream) != 2 {
			t.Errorf("shard %s waits for %v, want both probe shards", s.ID, s.Upstream)
		}
	}
	if len(r.Plan.Channels) != 0 {
		t.Errorf("%d channels, want none: the probe's waits are Upstream entries", len(r.Plan.Channels))
	}
}

// TestRobustGuardSameAsOneRunPerScenario checks the guard's decision on
// the plans of a 300-task synthetic graph, and its error on a plan the
// simulator rejects, against playing each plan from scratch in each
// scenario (simulate.Run over simulate.TableActual of the scenario's
// runtimes), as the guard did before it prepared each plan once.
func TestRobustGuardSameAsOneRunPerScenario(t *testing.T) {
	g, err := synth.Generate(synth.Params{Tasks: 300, Alpha: 1, OutDegree: 3, CCR: 0.5, Beta: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.Default()
	tb, err := Pipeline{Catalog: cat}.Predict(g, "")
	if err != nil {
		t.Fatal(err)
	}
	sw, err := plan.Build(g, cat, tb, plan.Options{Run: "r"})
	if err != nil {
		t.Fatal(err)
	}
	perTask, err := plan.Build(g, cat, tb, plan.Options{Run: "r", NoFusion: true})
	if err != nil {
		t.Fatal(err)
	}
	want := &Guard{}
	for _, s := range Scenarios {
		rt := make([][]float64, len(g.Tasks))
		names := make([]string, len(g.Tasks))
		for i, task := range g.Tasks {
			names[i], rt[i] = task.Name, make([]float64, len(tb.Classes))
			for c := range tb.Classes {
				rt[i][c] = math.Inf(1)
				if tb.Feasible(i, c) {
					rt[i][c] = scenarioRuntime(tb.Runtime(i, c), s)
				}
			}
		}
		act := simulate.TableActual(names, tb.Classes, rt)
		for _, p := range []struct {
			plan *plan.Plan
			out  *[]float64
		}{{sw, &want.Shardwise}, {perTask, &want.PerTask}} {
			r, err := simulate.Run(p.plan, cat, simulate.Options{Actual: act})
			if err != nil {
				t.Fatal(err)
			}
			*p.out = append(*p.out, r.MakespanSeconds)
		}
	}
	want.RegretShardwise, want.RegretPerTask = regret(want.Shardwise, want.PerTask), regret(want.PerTask, want.Shardwise)
	want.Fallback = want.RegretPerTask < want.RegretShardwise
	got, err := robustGuard(g, cat, tb, sw, perTask)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("guard %+v\nwant  %+v", got, want)
	}

	bad := *perTask
	bad.Shards = append([]*plan.Shard{{ID: "x", Class: "no-such-class"}}, perTask.Shards...)
	_, wantErr := simulate.Run(&bad, cat, simulate.Options{})
	if _, err := robustGuard(g, cat, tb, sw, &bad); err == nil || err.Error() != "robust guard, scenario p10: "+wantErr.Error() {
		t.Errorf("plan with an unknown class: %v; want the p10 scenario's %v", err, wantErr)
	}
}
