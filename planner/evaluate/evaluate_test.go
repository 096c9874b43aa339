package evaluate

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/planner/simulate"
)

// class is a catalog class with n instances, cpu speed, bandwidth bw
// bytes/s and start-up su seconds.
func class(name string, n int, speed, bw, su float64) *catalog.Class {
	return &catalog.Class{Name: name, Instances: n, Speed: map[graph.Kind]float64{graph.KindCPU: speed},
		BandwidthBytes: bw, Startup: time.Duration(su * float64(time.Second))}
}

// input builds an Input from tasks with reference runtimes (seconds) and
// edges (from, to, bytes), its table from synth.FillTable without noise.
func input(t *testing.T, cat *catalog.Catalog, runtimes map[string]float64, edges ...graph.Edge) *Input {
	t.Helper()
	g := graph.New("hand")
	for _, name := range []string{"a", "b", "c", "d"} {
		rt, ok := runtimes[name]
		if !ok {
			continue
		}
		task := &graph.Task{Name: name, Signature: name, Hints: graph.Hints{Kind: graph.KindCPU, Runtime: time.Duration(rt * float64(time.Second))}}
		if len(edges) > 0 {
			task.Outputs = []graph.Output{{Name: "out", Bytes: edges[0].Bytes}}
		}
		if err := g.AddTask(task); err != nil {
			t.Fatal(err)
		}
	}
	for i := range edges {
		if err := g.AddEdge(&edges[i]); err != nil {
			t.Fatal(err)
		}
	}
	return &Input{Name: "hand", Graph: g, Table: synth.FillTable(g, cat, 0, 0)}
}

func mustCompare(t *testing.T, in *Input, cat *catalog.Catalog) *Comparison {
	t.Helper()
	c, err := Compare(in, cat, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// TestCompareIndependentTasks: three independent 10 s tasks; "fast" runs
// them in 5 s, "slow" in 8 s, one instance each, no start-up.
//
//	single fast: 5 + 5 + 5 = 15; single slow: 24; best 15 on fast
//	HEFT: a fast 0-5; b slow 0-8 (fast would end at 10); c fast 5-10 -> 10
//	Shardwise: the same, with a and c (siblings on fast) batched in one
//	allocation, 0-10: 2 allocations
//	lower bound: max(critical path 5, work 15/2 = 7.5) = 7.5; SLR 10/5 = 2
func TestCompareIndependentTasks(t *testing.T) {
	cat := &catalog.Catalog{Classes: []*catalog.Class{class("fast", 1, 2, 100, 0), class("slow", 1, 1.25, 100, 0)}}
	c := mustCompare(t, input(t, cat, map[string]float64{"a": 10, "b": 10, "c": 10}), cat)
	if !near(c.Bound.Seconds, 7.5) || !near(c.Bound.CriticalPathSeconds, 5) {
		t.Errorf("bound %+v, want 7.5 with critical path 5", c.Bound)
	}
	want := map[Method]struct {
		makespan, slr float64
		allocs        int
	}{MethodSingle: {15, 3, 3}, MethodHEFT: {10, 2, 3}, MethodShardwise: {10, 2, 2}}
	for m, w := range want {
		o := c.Outcome(m)
		if o == nil || !near(o.MakespanSeconds, w.makespan) || !near(o.SLR, w.slr) || o.Allocations != w.allocs {
			t.Errorf("%s: %+v, want makespan %g SLR %g allocations %d", m, o, w.makespan, w.slr, w.allocs)
		}
	}
	if c.Outcome(MethodSingle).Class != "fast" {
		t.Errorf("single class %q, want fast", c.Outcome(MethodSingle).Class)
	}
}

// TestCompareChainFusion: a -> b, 10 s each, 100 bytes at 100 bytes/s, one
// class of two instances with 1 s start-up. One task per allocation:
// (1 + 10) + 1 s transfer + (1 + 10) = 23 s, 2 allocations, 100 bytes.
// Shardwise fuses the chain: 1 + 20 = 21 s, 1 allocation, no bytes.
func TestCompareChainFusion(t *testing.T) {
	cat := &catalog.Catalog{Classes: []*catalog.Class{class("only", 2, 1, 100, 1)}}
	in := input(t, cat, map[string]float64{"a": 10, "b": 10}, graph.Edge{From: "a", To: "b", Output: "out", Bytes: 100})
	c := mustCompare(t, in, cat)
	for _, m := range []Method{MethodSingle, MethodHEFT} {
		if o := c.Outcome(m); !near(o.MakespanSeconds, 23) || o.Allocations != 2 || o.BytesMoved != 100 {
			t.Errorf("%s: makespan %g allocations %d bytes %d, want 23, 2, 100", m, o.MakespanSeconds, o.Allocations, o.BytesMoved)
		}
	}
	if o := c.Outcome(MethodShardwise); !near(o.MakespanSeconds, 21) || o.Allocations != 1 || o.BytesMoved != 0 {
		t.Errorf("shardwise: makespan %g allocations %d bytes %d, want 21, 1, 0", o.MakespanSeconds, o.Allocations, o.BytesMoved)
	}
	if !near(c.Bound.CriticalPathSeconds, 20) {
		t.Errorf("critical path %g, want 20", c.Bound.CriticalPathSeconds)
	}
}

// TestNoSingleClass: when no class runs every task, the single-class
// outcome is nil and the others still run.
func TestNoSingleClass(t *testing.T) {
	cat := &catalog.Catalog{Classes: []*catalog.Class{class("x", 1, 1, 100, 0), class("y", 1, 1, 100, 0)}}
	in := input(t, cat, map[string]float64{"a": 10, "b": 10})
	in.Table.At(0, 0).Feasible = false
	in.Table.At(1, 1).Feasible = false
	c := mustCompare(t, in, cat)
	if c.Outcome(MethodSingle) != nil || c.Outcome(MethodHEFT) == nil || !near(c.Outcome(MethodHEFT).MakespanSeconds, 10) {
		t.Errorf("outcomes %+v", c.Outcomes)
	}
}

// TestCompareOnlySomeMethods: Options.Methods runs only the methods it
// names, with the same outcome as a full comparison; the others are nil.
func TestCompareOnlySomeMethods(t *testing.T) {
	cat := &catalog.Catalog{Classes: []*catalog.Class{class("fast", 1, 2, 100, 0), class("slow", 1, 1.25, 100, 0)}}
	in := input(t, cat, map[string]float64{"a": 10, "b": 10, "c": 10})
	c, err := Compare(in, cat, Options{Methods: []Method{MethodShardwise}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Outcome(MethodSingle) != nil || c.Outcome(MethodHEFT) != nil {
		t.Errorf("outcomes %+v, want only shardwise", c.Outcomes)
	}
	if o := c.Outcome(MethodShardwise); o == nil || !near(o.MakespanSeconds, 10) || o.Allocations != 2 {
		t.Errorf("shardwise %+v, want 10 s in 2 allocations as in the full comparison", o)
	}
}

// TestTraceTableScalesRuntimes: a recorded 100 s io task takes 100 s on
// the reference class and 100/2.5 = 40 s on io-bound (default catalog).
func TestTraceTableScalesRuntimes(t *testing.T) {
	cat := catalog.Default()
	g := graph.New("t")
	if err := g.AddTask(&graph.Task{Name: "x", Signature: "x", Hints: graph.Hints{Kind: graph.KindIO, Runtime: 100 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	tb, err := TraceTable(g, nil, cat)
	if err != nil {
		t.Fatal(err)
	}
	for c, name := range tb.Classes {
		want := map[string]float64{"cpu-heavy": 100, "io-bound": 40}[name]
		if got := tb.At(0, c).Runtime.Value; want > 0 && !near(got, want) {
			t.Errorf("%s: %g s, want %g", name, got, want)
		}
	}
}

// records returns n records of signature sig, runtime rt seconds and
// memory mib MiB.
func records(sig string, n int, rt float64, mib int64) []history.Record {
	out := make([]history.Record, n)
	for i := range out {
		out[i] = history.Record{Task: sig, Signature: sig, RuntimeSeconds: rt, MemoryBytes: mib << 20, InputBytes: 1000}
	}
	return out
}

// TestAccuracyConstantType: every task of a type runs 10 s in 100 MiB.
// Every estimator predicts the runtime exactly; planner/predict sizes
// memory at 100 x 1.1 MiB rounded up (never under), the mean at 100 MiB.
// A second type with two records is not cross-validated (fewer than k).
// Across the two runs, only the shared type is predicted.
func TestAccuracyConstantType(t *testing.T) {
	a := TraceRecords{Name: "fam-1", Family: "fam", Records: append(records("s", 10, 10, 100), records("rare", 2, 1, 1)...)}
	b := TraceRecords{Name: "fam-2", Family: "fam", Records: append(records("s", 5, 10, 100), records("other", 3, 1, 1)...)}
	rows, err := Accuracy([]TraceRecords{a, b}, catalog.Default(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want fam k-fold, fam leave-one-run-out, all k-fold, all leave-one-run-out", len(rows))
	}
	kf, cr := rows[0], rows[1]
	if kf.Scheme != SchemeKFold || kf.Scores[EstShardwise].Runtime != 15 || cr.Scores[EstShardwise].Runtime != 15 {
		t.Errorf("k-fold %+v cross-run %+v: want 15 predictions each", kf, cr)
	}
	for _, e := range Estimators {
		if s := kf.Scores[e]; s.MdAPE > 1e-9 || s.P90APE > 1e-9 {
			t.Errorf("%s: %+v, want exact runtimes", e, s)
		}
	}
	// 100 x 1.1 rounds up to whole MiB; in float64 it is 110.00000000000001.
	headroom := float64(predict.MemoryHeadroom) // a variable: float64, not exact constant, arithmetic
	wantOver := math.Ceil(100*headroom) / 100
	if s := kf.Scores[EstShardwise]; !near(s.OverMedian, wantOver) || !near(s.OverTotal, wantOver) || s.UnderRate != 0 {
		t.Errorf("shardwise memory %+v, want %gx, never under", s, wantOver)
	}
	if s := kf.Scores[EstMean]; !near(s.OverMedian, 1) {
		t.Errorf("mean memory %+v, want 1x", s)
	}
	if _, err := Accuracy(nil, catalog.Default(), 1); err == nil {
		t.Error("k = 1 accepted")
	}
}

func TestErnestRecoversLine(t *testing.T) {
	xs := []float64{1e6, 2e6, 3e6, 4e6}
	ys := []float64{12, 22, 32, 42} // 2 + 1e-5 x
	if got := ernest(xs, ys, 5e6); math.Abs(got-52) > 1e-6 {
		t.Errorf("ernest(5e6) = %g, want 52", got)
	}
}

func TestGoals(t *testing.T) {
	g := atMost("x", 0.7, 0.8, "%.2f", "x")
	if g.Met || g.Miss != "+0.10x (14% over)" {
		t.Errorf("%+v", g)
	}
	if g := below("u", 0.02, 0.01); !g.Met || g.Miss != "" {
		t.Errorf("%+v", g)
	}
}

// TestWriteMarkdown writes a report of the hand cases and checks its
// sections.
func TestWriteMarkdown(t *testing.T) {
	cat := &catalog.Catalog{Classes: []*catalog.Class{class("fast", 1, 2, 100, 0), class("slow", 1, 1.25, 100, 0)}}
	c := mustCompare(t, input(t, cat, map[string]float64{"a": 10, "b": 10, "c": 10}), cat)
	rows, err := Accuracy([]TraceRecords{{Name: "f-1", Family: "f", Records: records("s", 10, 10, 100)}}, catalog.Default(), 5)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	r := &Report{Command: "go run x", Machine: "m", Catalog: "c", Traces: []*Comparison{c}, Honest: []*Comparison{c}, Accuracy: rows, K: 5, Notes: "## Notes\n",
		Duplicates: []Duplicate{{Dropped: "old/x", Kept: "x", Why: "same run"}}}
	if err := WriteMarkdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"`go run x`", "| hand | 3 | 7.5 | 5.0 | fast | 15.0 | 10.0 | 10.0 | 0.667 | 1.000 | 1.333 | 3.00 | 2.00 | 2.00 |",
		"## Goals", "| mean makespan, Shardwise / HEFT | <= 0.900x | 1.000x | **no** |", "### Runtime", "### Memory", "## Notes",
		"- Left out: `old/x`, a copy of `x`: same run."} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, buf.String())
		}
	}
}

// TestLauncherHEFTProbes: four independent 10 s tasks of one type x, one
// class of two instances, no start-up, played with their predictions as
// actual runtimes. HEFT as published runs them in two waves: 20 s. Run as
// the launcher runs `-method heft` with x a probe type, one task runs
// first (0-10) and the other three wait for it: 10-20 and 20-30, so 30 s,
// still one task per allocation. The launcher neither re-plans nor
// late-binds a baseline's plan (app: no Replanner unless
// plan.Method.Replanned), so no shard goes through the binder.
func TestLauncherHEFTProbes(t *testing.T) {
	cat := &catalog.Catalog{Classes: []*catalog.Class{class("only", 2, 1, 100, 0)}}
	g := graph.New("probe")
	for _, name := range []string{"a", "b", "c", "d"} {
		task := &graph.Task{Name: name, Signature: "x", Hints: graph.Hints{Kind: graph.KindCPU, Runtime: 10 * time.Second}}
		if err := g.AddTask(task); err != nil {
			t.Fatal(err)
		}
	}
	tb := synth.FillTable(g, cat, 0, 0)
	in := &Input{Name: "probe", Graph: g, Table: tb, Probes: []string{"x"}}
	c, err := Compare(in, cat, Options{Actual: tb, LateBinding: true})
	if err != nil {
		t.Fatal(err)
	}
	if h := c.Outcome(MethodHEFT); !near(h.MakespanSeconds, 20) {
		t.Errorf("HEFT as published: %g s, want 20", h.MakespanSeconds)
	}
	lh := c.LauncherHEFT
	if lh == nil {
		t.Fatal("no LauncherHEFT outcome with LateBinding")
	}
	if lh.Method != MethodHEFT || !near(lh.MakespanSeconds, 30) || lh.Allocations != 4 {
		t.Errorf("HEFT as run: %s %g s, %d allocations; want heft, 30 s, 4", lh.Method, lh.MakespanSeconds, lh.Allocations)
	}
	if len(lh.Bindings) != 0 || lh.Moved != 0 {
		t.Errorf("HEFT as run: %d late-binding decisions, %d moved; want none: the launcher does not late-bind -method heft", len(lh.Bindings), lh.Moved)
	}
	if c2, err := Compare(in, cat, Options{Actual: tb}); err != nil || c2.LauncherHEFT != nil {
		t.Errorf("without LateBinding: LauncherHEFT %v, err %v; want nil, nil", c2.LauncherHEFT, err)
	}
}

// TestUtilisationCellCounts: one shard is "1 shard", not "1 shards".
func TestUtilisationCellCounts(t *testing.T) {
	o := &Outcome{Sim: &simulate.Result{Classes: []simulate.ClassStats{
		{Class: "a", Shards: 1, Utilisation: 0.5}, {Class: "b", Shards: 3, Utilisation: 0.25}}}}
	if got := utilisationCell(o, "a"); got != "50% (1 shard)" {
		t.Errorf("a: %q", got)
	}
	if got := utilisationCell(o, "b"); got != "25% (3 shards)" {
		t.Errorf("b: %q", got)
	}
}
