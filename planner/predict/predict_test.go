package predict

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
)

// classIdx returns the column of the named class in tb.
func classIdx(t *testing.T, tb *Table, name string) int {
	t.Helper()
	for i, c := range tb.Classes {
		if c == name {
			return i
		}
	}
	t.Fatalf("no class %q", name)
	return -1
}

func mustGraph(t testing.TB, tasks ...*graph.Task) *graph.Graph {
	t.Helper()
	g := graph.New("test")
	for _, task := range tasks {
		if err := g.AddTask(task); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func mustPredict(t *testing.T, recs []history.Record, g *graph.Graph) *Table {
	t.Helper()
	p, err := New(catalog.Default(), recs)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := p.Predict(g)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestFitRuntimeRecoversSizeModel(t *testing.T) {
	// runtime = 5 s + 2 s per GB, exactly.
	var xs, ys []float64
	for _, gb := range []float64{1, 2, 4, 8, 16} {
		xs = append(xs, gb*1e9)
		ys = append(ys, 5+2*gb)
	}
	f := fitRuntime(xs, ys)
	if !f.Regression {
		t.Fatalf("fit chose the median: %+v", f)
	}
	if got, _ := f.Predict(32e9, 0); math.Abs(got-69) > 0.01 {
		t.Errorf("predict(32 GB) = %g, want 69", got)
	}
	if f.Uncertainty != minUncertainty {
		t.Errorf("uncertainty of an exact fit = %g, want the floor %g", f.Uncertainty, minUncertainty)
	}
	if got, u := f.Predict(0, 0); got != f.Median || u != f.MedianUncertainty {
		t.Errorf("unknown size should give the median, got %g", got)
	}
}

func TestFitRuntimeMedianWhenInputsEqual(t *testing.T) {
	f := fitRuntime([]float64{7, 7, 7, 7}, []float64{10, 12, 0, 14})
	if f.Regression || f.Median != 11 {
		t.Fatalf("fit = %+v, want median 11 (0 s read as 0.5 s)", f)
	}
	// Spread: sd of (10,12,0.5,14) around 11 relative to 11, inflated.
	if f.Uncertainty <= 0.5 || f.Uncertainty > 2 {
		t.Errorf("uncertainty = %g", f.Uncertainty)
	}
	if one := fitRuntime([]float64{1}, []float64{30}); one.Median != 30 || one.Uncertainty != 1 {
		t.Errorf("single observation: %+v, want uncertainty 1", one)
	}
}

func TestInflateShrinksWithObservations(t *testing.T) {
	prev := math.Inf(1)
	for _, n := range []int{3, 5, 10, 30, 100} {
		u := inflate(0.2, n, 2)
		if u >= prev || u < 0.2 {
			t.Fatalf("inflate(0.2, %d, 2) = %g after %g", n, u, prev)
		}
		prev = u
	}
}

func TestSourcesAndCounts(t *testing.T) {
	var recs []history.Record
	for i := 0; i < 6; i++ {
		recs = append(recs, history.Record{Task: "a", Signature: "seen", RuntimeSeconds: 100 + float64(i),
			CPUPercent: 100, CPUMHz: 2000, MemoryBytes: 1 << 30, ReadBytes: 1e6, OutputBytes: 5e6})
	}
	recs = append(recs, history.Record{Task: "a", Signature: "seen", RuntimeSeconds: 1, ExitCode: 1})
	g := mustGraph(t,
		&graph.Task{Name: "h", Signature: "seen"},
		&graph.Task{Name: "hint", Hints: graph.Hints{Runtime: 90 * time.Second, MemoryMiB: 2048, CPU: 3000}},
		&graph.Task{Name: "none"},
	)
	tb := mustPredict(t, recs, g)
	c := classIdx(t, tb, "cpu-heavy")
	h := tb.At(0, c)
	if h.Runtime.Source != FromHistory || h.Runtime.N != 6 || math.Abs(h.Runtime.Value-102.5) > 1e-9 {
		t.Errorf("history runtime = %+v (failed runs must not count)", h.Runtime)
	}
	if h.CPU.Source != FromHistory || h.CPU.Value != 2000 || h.MemoryMiB.Source != FromHistory ||
		h.IOBytes.Value != 1e6 || h.OutputBytes.Value != 5e6 || h.OutputBytes.N != 6 {
		t.Errorf("history needs = %+v", h)
	}
	hint := tb.At(1, c)
	if hint.Runtime.Source != FromHint || hint.Runtime.Value != 90 || hint.Runtime.N != 0 ||
		hint.MemoryMiB.Value != 2048 || hint.MemoryMiB.Source != FromHint || hint.CPU.Value != 3000 {
		t.Errorf("hint needs = %+v", hint)
	}
	none := tb.At(2, c)
	if none.Runtime != (Estimate{Value: DefaultRuntimeSeconds, Uncertainty: 1, Source: FromDefault, P90: DefaultRuntimeSeconds * (1 + z90)}) ||
		none.CPU.Value != DefaultCPUMHz || none.MemoryMiB.Value != DefaultMemoryMiB || none.OutputBytes.Source != FromDefault {
		t.Errorf("default needs = %+v", none)
	}
}

func TestRuntimeScalesBySpeedAndNormalises(t *testing.T) {
	// Ran on io-bound (io speed 2.5) in 40 s: 100 s on a speed-1.0 machine.
	recs := []history.Record{{Task: "x", Signature: "scan", Executor: "io-bound", RuntimeSeconds: 40}}
	g := mustGraph(t, &graph.Task{Name: "scan", Hints: graph.Hints{Kind: graph.KindIO}})
	tb := mustPredict(t, recs, g)
	if got := tb.At(0, classIdx(t, tb, "cpu-heavy")).Runtime.Value; got != 100 {
		t.Errorf("cpu-heavy runtime = %g, want 100", got)
	}
	if got := tb.At(0, classIdx(t, tb, "io-bound")).Runtime.Value; got != 40 {
		t.Errorf("io-bound runtime = %g, want 40", got)
	}
	if got := tb.At(0, classIdx(t, tb, "memory-intensive")).Runtime.Value; got != 100 {
		t.Errorf("memory-intensive runtime = %g, want 100 (io speed 1.0)", got)
	}
}

func TestKinds(t *testing.T) {
	var recs []history.Record
	add := func(sig string, n int, r history.Record) {
		for i := 0; i < n; i++ {
			r.Task, r.Signature = sig, sig
			recs = append(recs, r)
		}
	}
	add("threads", 3, history.Record{RuntimeSeconds: 10, CPUPercent: 390, MemoryBytes: 100 << 20})
	add("bigmem", 3, history.Record{RuntimeSeconds: 10, CPUPercent: 100, MemoryBytes: 20 << 30})
	add("small1", 3, history.Record{RuntimeSeconds: 10, CPUPercent: 90, MemoryBytes: 200 << 20})
	add("small2", 3, history.Record{RuntimeSeconds: 10, CPUPercent: 90, MemoryBytes: 300 << 20})
	add("stream", 3, history.Record{RuntimeSeconds: 10, CPUPercent: 40, ReadBytes: 3e9, WriteBytes: 1e9})
	add("trained", 3, history.Record{RuntimeSeconds: 10, GPUs: 1})
	g := mustGraph(t,
		&graph.Task{Name: "threads"}, &graph.Task{Name: "bigmem"}, &graph.Task{Name: "stream"},
		&graph.Task{Name: "trained"}, &graph.Task{Name: "small1"},
		&graph.Task{Name: "api", Type: graph.TypeService},
		&graph.Task{Name: "hinted", Signature: "bigmem", Hints: graph.Hints{Kind: graph.KindLatency}},
		&graph.Task{Name: "gpuhint", Hints: graph.Hints{GPUs: 1}},
	)
	tb := mustPredict(t, recs, g)
	want := []graph.Kind{graph.KindCPU, graph.KindMemory, graph.KindIO, graph.KindGPU, graph.KindCPU,
		graph.KindLatency, graph.KindLatency, graph.KindGPU}
	for i, k := range want {
		if tb.Kinds[i] != k {
			t.Errorf("%s: kind %s, want %s", g.Tasks[i].Name, tb.Kinds[i], k)
		}
	}
	if gpus := tb.At(3, classIdx(t, tb, "gpu-accelerated")).GPUs; gpus.Value != 1 || gpus.Source != FromHistory {
		t.Errorf("gpus from history = %+v", gpus)
	}
}

func TestMemoryQuantile(t *testing.T) {
	// Peaks of 1..20 GiB: p95 (type 7) = 19.05 GiB, x1.1 = 20.955 GiB.
	var recs []history.Record
	for i := 1; i <= 20; i++ {
		recs = append(recs, history.Record{Task: "m", Signature: "m", RuntimeSeconds: 1, MemoryBytes: int64(i) << 30})
	}
	g := mustGraph(t, &graph.Task{Name: "m"}, &graph.Task{Name: "floored", Signature: "m", Hints: graph.Hints{MemoryMiB: 40 << 10}})
	tb := mustPredict(t, recs, g)
	mem := tb.At(0, 0).MemoryMiB
	if want := math.Ceil(19.05 * 1024 * 1.1); mem.Value != want || mem.N != 20 || mem.Source != FromHistory {
		t.Errorf("memory = %+v, want %g MiB", mem, want)
	}
	if mem.Value < 20*1024 {
		t.Error("memory estimate is below the largest observation's neighbourhood")
	}
	if f := tb.At(1, 0).MemoryMiB; f.Value != 40<<10 || f.Source != FromHint {
		t.Errorf("hint floor: %+v", f)
	}
	// An OOM kill at 30 GiB lifts the estimate to 37.5 GiB, which cpu-heavy
	// (32 GiB) cannot hold.
	recs = append(recs, history.Record{Task: "m", Signature: "m", RuntimeSeconds: 1, MemoryBytes: 30 << 30, OOMKilled: true, ExitCode: 137})
	tb = mustPredict(t, recs, g)
	n := tb.At(0, classIdx(t, tb, "cpu-heavy"))
	if n.MemoryMiB.Value != 30*1024*OOMHeadroom || n.Feasible || !strings.Contains(n.Why, "memory") {
		t.Errorf("OOM floor: %+v", n)
	}
}

func TestFeasibility(t *testing.T) {
	g := mustGraph(t,
		&graph.Task{Name: "big", Hints: graph.Hints{MemoryMiB: 100 << 10}},
		&graph.Task{Name: "pinned", Hints: graph.Hints{Executor: "io-bound"}},
		&graph.Task{Name: "train", Hints: graph.Hints{Kind: graph.KindGPU}},
		&graph.Task{Name: "disk", Hints: graph.Hints{DiskMiB: 1 << 20}},
		&graph.Task{Name: "wide", Hints: graph.Hints{Cores: 12}},
	)
	tb := mustPredict(t, nil, g)
	feasible := func(task int) []string {
		var out []string
		for c, name := range tb.Classes {
			if tb.At(task, c).Feasible {
				out = append(out, name)
			} else if tb.At(task, c).Why == "" {
				t.Errorf("%s on %s: infeasible without a reason", g.Tasks[task].Name, name)
			}
		}
		return out
	}
	for i, want := range []string{"memory-intensive,gpu-accelerated", "io-bound", "gpu-accelerated", "io-bound", "cpu-heavy,gpu-accelerated"} {
		if got := strings.Join(feasible(i), ","); got != want {
			t.Errorf("%s: feasible on %s, want %s", g.Tasks[i].Name, got, want)
		}
	}
	if why := tb.At(2, classIdx(t, tb, "cpu-heavy")).Why; why != "needs 1 GPU(s), instance has 0" {
		t.Errorf("why = %q", why)
	}
	if tb.At(2, 0).GPUs.Value != 1 {
		t.Errorf("gpu task GPUs = %+v", tb.At(2, 0).GPUs)
	}
}

func TestInfeasibleTaskIsAnError(t *testing.T) {
	g := mustGraph(t,
		&graph.Task{Name: "ok"},
		&graph.Task{Name: "huge-gpu", Hints: graph.Hints{GPUs: 1, GPUMemoryMiB: 160 << 10}},
	)
	p, _ := New(catalog.Default(), nil)
	_, err := p.Predict(g)
	var ie *InfeasibleError
	if !errors.As(err, &ie) || len(ie.Tasks) != 1 || ie.Tasks[0].Task != "huge-gpu" || len(ie.Tasks[0].Reasons) != 5 {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{`task "huge-gpu"`, "cpu-heavy: needs 1 GPU(s), instance has 0", "gpu-accelerated: needs 160.0GiB per GPU, class GPUs have 80.0GiB"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
}

func TestGPUSpeedZeroRejectsGPUWork(t *testing.T) {
	cat := catalog.Default()
	cat.Class("gpu-accelerated").Speed[graph.KindGPU] = 0
	p, err := New(cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Predict(mustGraph(t, &graph.Task{Name: "train", Hints: graph.Hints{GPUs: 1}}))
	if err == nil || !strings.Contains(err.Error(), "gpu-accelerated: class cannot run GPU work (gpu speed 0)") {
		t.Fatalf("err = %v", err)
	}
}

func TestBadHints(t *testing.T) {
	p, _ := New(catalog.Default(), nil)
	if _, err := p.Predict(mustGraph(t, &graph.Task{Name: "x", Hints: graph.Hints{Executor: "tpu"}})); err == nil || !strings.Contains(err.Error(), `"tpu"`) {
		t.Errorf("unknown executor: %v", err)
	}
	if _, err := p.Predict(mustGraph(t, &graph.Task{Name: "x", Hints: graph.Hints{Kind: "quantum"}})); err == nil || !strings.Contains(err.Error(), `"quantum"`) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := New(&catalog.Catalog{}, nil); err == nil {
		t.Error("empty catalog accepted")
	}
}

func TestInputBytesFromEdgesAndUpstream(t *testing.T) {
	// "work" runs 1 s per MB of input exactly.
	var recs []history.Record
	for _, mb := range []int64{1, 2, 4, 8} {
		recs = append(recs, history.Record{Task: "w", Signature: "work", InputBytes: mb * 1e6, RuntimeSeconds: float64(mb)})
	}
	recs = append(recs, history.Record{Task: "s", Signature: "src", RuntimeSeconds: 1, OutputBytes: 16e6})
	g := mustGraph(t,
		&graph.Task{Name: "src"},
		&graph.Task{Name: "declared", Signature: "work"},
		&graph.Task{Name: "unknown", Signature: "work"},
		&graph.Task{Name: "split", Signature: "work", Split: &graph.Split{InputBytes: 32e6, MaxShards: 4}},
	)
	g.AddEdge(&graph.Edge{From: "src", To: "declared", Output: "o", Bytes: 3e6})
	g.AddEdge(&graph.Edge{From: "src", To: "unknown", Output: "o", Bytes: -1})
	tb := mustPredict(t, recs, g)
	for i, want := range map[int]float64{1: 3, 2: 16, 3: 32} {
		if got := tb.At(i, 0).Runtime.Value; math.Abs(got-want) > 0.05 {
			t.Errorf("%s: runtime %g, want %g", g.Tasks[i].Name, got, want)
		}
	}
}

func TestUnknownExecutorRecordsAreLeftOut(t *testing.T) {
	cat := catalog.Default()
	known := []history.Record{{Task: "a", Signature: "s", RuntimeSeconds: 10, Executor: cat.Reference}}
	bad := history.Record{Task: "a", Signature: "s", RuntimeSeconds: 1000, Executor: "quantum"}
	got := UnknownExecutors(cat, append(known, bad, bad))
	if len(got) != 1 || got["quantum"] != 2 {
		t.Fatalf("UnknownExecutors = %v, want map[quantum:2]", got)
	}
	if n := UnknownExecutors(cat, known); n != nil {
		t.Fatalf("UnknownExecutors(known) = %v, want nil", n)
	}
	p1, err := New(cat, known)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := New(cat, append(known, bad))
	if err != nil {
		t.Fatal(err)
	}
	f1, _ := p1.Fit("s", graph.KindCPU)
	f2, _ := p2.Fit("s", graph.KindCPU)
	if f1 != f2 {
		t.Fatalf("a record of an unknown class changed the fit: %+v vs %+v", f1, f2)
	}
}

// TestServiceCountedUntilStarted checks that a service with neither
// history nor a runtime hint adds no runtime: it runs until stopped.
func TestServiceCountedUntilStarted(t *testing.T) {
	g := graph.New("svc")
	if err := g.AddTask(&graph.Task{Name: "serve", Command: "x", Type: graph.TypeService}); err != nil {
		t.Fatal(err)
	}
	if err := g.AddTask(&graph.Task{Name: "batch", Command: "x"}); err != nil {
		t.Fatal(err)
	}
	p, err := New(catalog.Default(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := p.Predict(g)
	if err != nil {
		t.Fatal(err)
	}
	for c := range tb.Classes {
		if rt := tb.At(0, c).Runtime; rt.Value != 0 || rt.Source != FromDefault {
			t.Errorf("service on %s: runtime %+v, want 0 s from default", tb.Classes[c], rt)
		}
		if rt := tb.At(1, c).Runtime; rt.Value == 0 {
			t.Errorf("batch task on %s: runtime 0", tb.Classes[c])
		}
	}
}
