package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/predict"
)

var inf = math.Inf(1)

// fixture is a hand-built planning problem: a graph, a catalog, and the
// runtime of each task on each class (inf: infeasible).
type fixture struct {
	g   *graph.Graph
	cat *catalog.Catalog
	rt  map[string][]float64
}

// newFixture returns a graph named "g" over the given classes.
func newFixture(classes ...*catalog.Class) *fixture {
	return &fixture{g: graph.New("g"), cat: &catalog.Catalog{Classes: classes}, rt: map[string][]float64{}}
}

// cls returns a class with n instances, bw bytes/s and start-up su seconds.
func cls(name string, n int, bw, su float64) *catalog.Class {
	return &catalog.Class{
		Name: name, Instances: n, BandwidthBytes: bw,
		Startup: time.Duration(su * float64(time.Second)),
		Shape:   catalog.Shape{CPU: 4000, MemoryMiB: 16 << 10, DiskMiB: 100 << 10},
	}
}

// task adds a task with per-class runtimes in seconds.
func (f *fixture) task(name string, kind graph.Kind, rt ...float64) *graph.Task {
	t := &graph.Task{Name: name, Hints: graph.Hints{Kind: kind}}
	if err := f.g.AddTask(t); err != nil {
		panic(err)
	}
	f.rt[name] = rt
	return t
}

// edge adds from -> to carrying bytes (-1: unknown).
func (f *fixture) edge(from, to string, bytes int64) *graph.Edge {
	e := &graph.Edge{From: from, To: to, Output: "out", Bytes: bytes}
	if err := f.g.AddEdge(e); err != nil {
		panic(err)
	}
	return e
}

// table is the prediction table for the fixture; OutputBytes is outBytes
// for every task.
func (f *fixture) table(outBytes float64) *predict.Table {
	tb := predict.NewTable(len(f.g.Tasks), f.cat.Names())
	for i, t := range f.g.Tasks {
		tb.Kinds[i] = t.Hints.Kind
		for c := range f.cat.Classes {
			r := f.rt[t.Name][c]
			n := tb.At(i, c)
			n.Feasible = !math.IsInf(r, 1)
			if !n.Feasible {
				n.Why = "no GPU"
			}
			n.Runtime = predict.Estimate{Value: r, Uncertainty: 0.1, Source: predict.FromHistory, N: 5}
			n.MemoryMiB = predict.Estimate{Value: 512, Source: predict.FromHint}
			n.CPU = predict.Estimate{Value: 1000, Source: predict.FromDefault}
			n.OutputBytes = predict.Estimate{Value: outBytes, Source: predict.FromDefault}
		}
	}
	return tb
}

func (f *fixture) build(t *testing.T, opts Options) *Plan {
	t.Helper()
	if opts.Run == "" {
		opts.Run = "r1"
	}
	p, err := Build(f.g, f.cat, f.table(0), opts)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, f.g, f.cat, p)
	return p
}

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func wantMakespan(t *testing.T, p *Plan, want float64) {
	t.Helper()
	if !approx(p.MakespanSeconds, want) {
		t.Errorf("makespan %g s, want %g s", p.MakespanSeconds, want)
	}
}

func shardOf(p *Plan, task string) *Shard {
	for _, s := range p.Shards {
		for _, name := range s.Tasks {
			if name == task {
				return s
			}
		}
	}
	return nil
}

func chain() *fixture {
	f := newFixture(cls("cpu", 2, 100, 1))
	f.task("a", graph.KindCPU, 10)
	f.task("b", graph.KindCPU, 20)
	f.task("c", graph.KindCPU, 30)
	f.edge("a", "b", 1000)
	f.edge("b", "c", 1000)
	return f
}

func TestChainFusesIntoOneShard(t *testing.T) {
	// One class: the chain fuses; 1 s start-up + 10 + 20 + 30 s.
	p := chain().build(t, Options{})
	wantMakespan(t, p, 61)
	if len(p.Shards) != 1 || strings.Join(p.Shards[0].Tasks, ",") != "a,b,c" {
		t.Fatalf("shards %+v", p.Shards)
	}
	if p.Stats.FusedTasks != 3 || len(p.Channels) != 0 {
		t.Errorf("stats %+v channels %d", p.Stats, len(p.Channels))
	}
	// Baseline, unfused: 11 + 10 (1000 B at 100 B/s) + 21 + 10 + 31.
	if p.Baseline == nil || !approx(p.Baseline.MakespanSeconds, 83) || !approx(p.Baseline.Speedup, 83.0/61) {
		t.Errorf("baseline %+v", p.Baseline)
	}
	if !strings.Contains(p.Shards[0].Reason, "fused with b, c to save 2.0KiB transfer and 2 start-ups") {
		t.Errorf("reason %q", p.Shards[0].Reason)
	}
	if got := p.Shards[0].RuntimeSeconds; !approx(got.Value, 60) || got.Source != SourceHistory || got.Observations != 5 {
		t.Errorf("runtime %+v", got)
	}
}

func TestChainNoFusion(t *testing.T) {
	p := chain().build(t, Options{NoFusion: true})
	wantMakespan(t, p, 83)
	if len(p.Shards) != 3 || len(p.Channels) != 2 || p.Channels[0].TransferSeconds != 10 {
		t.Fatalf("%d shards, channels %+v", len(p.Shards), p.Channels)
	}
	if got := strings.Join(p.CriticalPath, ","); got != "s000-a,s001-b,s002-c" {
		t.Errorf("critical path %s", got)
	}
}

func forkJoin(instances int) *fixture {
	f := newFixture(cls("cpu", instances, inf, 0))
	f.task("a", graph.KindCPU, 10)
	f.task("b", graph.KindCPU, 20)
	f.task("c", graph.KindCPU, 30)
	f.task("d", graph.KindCPU, 10)
	f.edge("a", "b", 0)
	f.edge("a", "c", 0)
	f.edge("b", "d", 0)
	f.edge("c", "d", 0)
	return f
}

func TestForkJoin(t *testing.T) {
	p := forkJoin(2).build(t, Options{})
	wantMakespan(t, p, 50)
	if len(p.Shards) != 4 {
		t.Fatalf("%d shards, want 4 (nothing fusible)", len(p.Shards))
	}
	if got := strings.Join(p.CriticalPath, ","); got != "s000-a,s001-c,s003-d" {
		t.Errorf("critical path %s", got)
	}
	if d := shardOf(p, "d"); strings.Join(d.Upstream, ",") != "s001-c,s002-b" {
		t.Errorf("upstream of d: %v", d.Upstream)
	}
	// One instance, no batching: b waits for c, 10 + 30 + 20 + 10.
	p = forkJoin(1).build(t, Options{NoBatch: true})
	wantMakespan(t, p, 70)
	if b := shardOf(p, "b"); b.StartSeconds != 40 {
		t.Errorf("b starts at %g, want 40 (after c)", b.StartSeconds)
	}
	// With batching the siblings b and c share one allocation: same
	// makespan, one shard fewer.
	p = forkJoin(1).build(t, Options{})
	wantMakespan(t, p, 70)
	if len(p.Shards) != 3 || shardOf(p, "b") != shardOf(p, "c") || p.Stats.BatchedTasks != 2 {
		t.Errorf("%d shards, stats %+v; want b and c batched", len(p.Shards), p.Stats)
	}
}

func TestFusionAcrossClasses(t *testing.T) {
	// u is faster on A, v on B, but the 10000 B edge takes 100 s at
	// 100 B/s: separate 10 + 100 + 10 = 120 s, fused 22 s on either class.
	f := newFixture(cls("A", 1, 100, 0), cls("B", 1, 100, 0))
	f.task("u", graph.KindCPU, 10, 12)
	f.task("v", graph.KindCPU, 12, 10)
	f.edge("u", "v", 10000)
	p := f.build(t, Options{})
	wantMakespan(t, p, 22)
	if len(p.Shards) != 1 || p.Shards[0].Class != "A" {
		t.Fatalf("shards %+v, want one on A", p.Shards)
	}
	if !strings.Contains(p.Shards[0].Reason, "fused with v to save 9.8KiB transfer and a start-up") {
		t.Errorf("reason %q", p.Shards[0].Reason)
	}
}

func TestNoFusionWhenClassesWin(t *testing.T) {
	// Each task is 10x faster on its own class and the edge costs 1 s:
	// separate 10 + 1 + 10 = 21 s beats 110 s fused.
	f := newFixture(cls("A", 1, 100, 0), cls("B", 1, 100, 0))
	f.task("u", graph.KindCPU, 10, 100)
	f.task("v", graph.KindCPU, 100, 10)
	f.edge("u", "v", 100)
	p := f.build(t, Options{})
	wantMakespan(t, p, 21)
	if len(p.Shards) != 2 || shardOf(p, "u").Class != "A" || shardOf(p, "v").Class != "B" {
		t.Fatalf("shards %+v", p.Shards)
	}
	ch := p.Channels[0]
	if ch.From != "s000-u" || ch.To != "s001-v" || ch.Bytes != 100 || ch.TransferSeconds != 1 || ch.BytesSource != BytesDeclared {
		t.Errorf("channel %+v", ch)
	}
	if r := shardOf(p, "v").Reason; r != "cpu work: 10.0x faster than A" {
		t.Errorf("reason %q", r)
	}
	if p.Baseline == nil || p.Baseline.Class != "A" || !approx(p.Baseline.MakespanSeconds, 111) {
		t.Errorf("baseline %+v, want A at 111 s", p.Baseline)
	}
}

func TestStreamAndServiceDoNotFuse(t *testing.T) {
	f := chain()
	f.g.Edges[0].Stream = true
	f.g.Tasks[2].Type = graph.TypeService
	p := f.build(t, Options{})
	if len(p.Shards) != 3 || shardOf(p, "c").Type != "service" || !p.Channels[0].Stream {
		t.Errorf("shards %d, c type %s", len(p.Shards), shardOf(p, "c").Type)
	}
}

func splitFixture(split *graph.Split) *fixture {
	// One memory class: 4 instances of 1 GiB, 2 s start-up.
	c := cls("mem", 4, 1e9, 2)
	c.Shape.MemoryMiB = 1 << 10
	f := newFixture(c)
	f.task("map", graph.KindMemory, 100).Split = split
	f.task("reduce", graph.KindCPU, 5)
	f.edge("map", "reduce", 0)
	return f
}

func TestSplitFitsMemory(t *testing.T) {
	// 10 GiB needs >= 10 pieces of 1 GiB; the fewest waves (3) on 4
	// instances hold 12 pieces: 3 x (100/12 + 2) s, then reduce 2 + 5 s.
	p := splitFixture(&graph.Split{InputBytes: 10 << 30}).build(t, Options{})
	wantMakespan(t, p, 3*(100.0/12+2)+7)
	var pieces []*Shard
	var bytes int64
	for _, s := range p.Shards {
		if s.Split != nil {
			pieces = append(pieces, s)
			bytes += s.Split.Bytes
		}
	}
	if len(pieces) != 12 || bytes != 10<<30 || p.Stats.SplitTasks != 1 || p.Stats.Jobs != 2 {
		t.Fatalf("%d pieces, %d bytes, stats %+v", len(pieces), bytes, p.Stats)
	}
	for i, s := range pieces {
		if s.Split.Index != i || s.Split.Count != 12 || s.Job != pieces[0].Job || s.Split.Bytes > 1<<30 {
			t.Errorf("piece %d: %+v job %s", i, s.Split, s.Job)
		}
	}
	if r := shardOf(p, "reduce"); len(r.Upstream) != 12 {
		t.Errorf("reduce waits for %d shards, want 12", len(r.Upstream))
	}
	if r := pieces[0].Reason; !strings.Contains(r, "split into 12 pieces of 853.3MiB on 4 instances") {
		t.Errorf("reason %q", r)
	}
}

func TestSplitByItems(t *testing.T) {
	// 6 items, no size: one wave of 4 pieces, 100/4 + 2 s, then 7 s.
	p := splitFixture(&graph.Split{Items: 6}).build(t, Options{})
	wantMakespan(t, p, 27+7)
	if s := p.Shards[0].Split; s == nil || s.Count != 4 || s.Items != 2 {
		t.Errorf("first piece %+v, want 4 pieces, 2 items", s)
	}
}

func TestSplitInfeasible(t *testing.T) {
	f := splitFixture(&graph.Split{InputBytes: 10 << 30, MaxShards: 5})
	_, err := Build(f.g, f.cat, f.table(0), Options{Run: "r"})
	if err == nil || !strings.Contains(err.Error(), "needs 10 pieces") {
		t.Errorf("err %v", err)
	}
}

func TestPinnedTask(t *testing.T) {
	f := newFixture(cls("A", 1, 100, 0), cls("B", 1, 100, 0))
	f.task("x", graph.KindCPU, 50, 10).Hints.Executor = "A"
	p := f.build(t, Options{})
	wantMakespan(t, p, 50)
	if s := p.Shards[0]; s.Class != "A" || s.Reason != "pinned to A by its executor hint" || len(s.Alternatives) != 0 {
		t.Errorf("shard %+v", s)
	}
	f.g.Tasks[0].Hints.Executor = "nope"
	if _, err := Build(f.g, f.cat, f.table(0), Options{Run: "r"}); err == nil {
		t.Error("pin to an unknown class: no error")
	}
}

func TestCapacityForcesWaits(t *testing.T) {
	f := newFixture(cls("A", 1, 100, 0))
	for _, n := range []string{"x", "y", "z"} {
		f.task(n, graph.KindCPU, 10)
	}
	wantMakespan(t, f.build(t, Options{NoBatch: true}), 30)
	// A second, slower class takes one task: x on A, y on B, z on A.
	f = newFixture(cls("A", 1, 100, 0), cls("B", 1, 100, 0))
	for _, n := range []string{"x", "y", "z"} {
		f.task(n, graph.KindCPU, 10, 15)
	}
	p := f.build(t, Options{NoBatch: true})
	wantMakespan(t, p, 20)
	if shardOf(p, "y").Class != "B" || shardOf(p, "z").StartSeconds != 10 {
		t.Errorf("y on %s, z starts %g", shardOf(p, "y").Class, shardOf(p, "z").StartSeconds)
	}
}

func TestInfeasibleClasses(t *testing.T) {
	f := newFixture(cls("cpu", 1, 100, 0), cls("gpu", 1, 100, 0))
	f.task("train", graph.KindGPU, inf, 40)
	f.task("eval", graph.KindCPU, 10, inf)
	p := f.build(t, Options{})
	if s := shardOf(p, "train"); s.Class != "gpu" || s.Reason != "only gpu can run it (cpu: no GPU)" {
		t.Errorf("train: %s %q", s.Class, s.Reason)
	}
	if p.Baseline != nil {
		t.Errorf("baseline %+v, want none: no class runs both", p.Baseline)
	}
	f.rt["eval"][0] = inf
	_, err := Build(f.g, f.cat, f.table(0), Options{Run: "r"})
	if err == nil || !strings.Contains(err.Error(), `task "eval": no executor class can run it (cpu: no GPU; gpu: no GPU)`) {
		t.Errorf("err %v", err)
	}
}

func TestPredictedEdgeBytes(t *testing.T) {
	f := newFixture(cls("A", 1, 100, 0), cls("B", 1, 100, 0))
	f.task("u", graph.KindCPU, 10, 100)
	f.task("v", graph.KindCPU, 100, 10)
	f.edge("u", "v", -1)
	p, err := Build(f.g, f.cat, f.table(300), Options{Run: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if ch := p.Channels[0]; ch.Bytes != 300 || ch.BytesSource != BytesPredicted || ch.TransferSeconds != 3 {
		t.Errorf("channel %+v", ch)
	}
	wantMakespan(t, p, 23)
}

func TestBuildErrors(t *testing.T) {
	f := chain()
	tb := f.table(0)
	if _, err := Build(f.g, f.cat, tb, Options{}); err == nil {
		t.Error("empty run: no error")
	}
	if _, err := Build(f.g, f.cat, predict.NewTable(2, f.cat.Names()), Options{Run: "r"}); err == nil {
		t.Error("short table: no error")
	}
	if _, err := Build(f.g, f.cat, predict.NewTable(3, []string{"x"}), Options{Run: "r"}); err == nil {
		t.Error("wrong classes: no error")
	}
	f.edge("c", "a", 0)
	_, err := Build(f.g, f.cat, tb, Options{Run: "r"})
	var cycle *graph.CycleError
	if !errors.As(err, &cycle) {
		t.Errorf("cycle: err %v", err)
	}
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

func TestIDs(t *testing.T) {
	f := newFixture(cls("cpu", 2, 100, 1))
	f.g.Name = strings.Repeat("Very_Long Graph.Name/", 5)
	long := "A__Task With Spaces" + strings.Repeat("x", 60)
	f.task(long, graph.KindCPU, 10)
	f.task("b", graph.KindCPU, 20)
	f.edge(long, "b", 1000)
	p := f.build(t, Options{Run: "2024-01-01T00:00:00Z", NoFusion: true})
	for _, s := range p.Shards {
		for _, id := range []string{s.ID, s.Job} {
			if len(id) > maxID || !dnsLabel.MatchString(id) {
				t.Errorf("id %q is not a DNS label", id)
			}
		}
	}
	if id := p.Shards[0].ID; !strings.HasPrefix(id, "s000-a-task-with-spacesx") {
		t.Errorf("shard id %q", id)
	}
	other := f.build(t, Options{Run: "2024-01-01T00:00:01Z", NoFusion: true})
	if other.Shards[0].Job == p.Shards[0].Job {
		t.Errorf("two runs share job %q", p.Shards[0].Job)
	}
	if got := Sanitize("--Hello, World!--", 63); got != "hello-world" {
		t.Errorf("Sanitize: %q", got)
	}
	if got := Sanitize("???", 63); got != "x" {
		t.Errorf("Sanitize: %q", got)
	}
}

// checkPlan verifies a plan's invariants: every task in exactly one shard
// (or every piece of its split), IDs unique and DNS-safe, every shard
// starting after its inputs arrive, no class running more shards at once
// than it has instances, and the makespan the latest finish.
func checkPlan(t *testing.T, g *graph.Graph, cat *catalog.Catalog, p *Plan) {
	t.Helper()
	checkCoverage(t, g, p)
	byID := map[string]*Shard{}
	last := 0.0
	for _, s := range p.Shards {
		if byID[s.ID] != nil || !dnsLabel.MatchString(s.ID) || !dnsLabel.MatchString(s.Job) || len(s.Job) > maxID {
			t.Fatalf("bad or duplicate id %q / job %q", s.ID, s.Job)
		}
		byID[s.ID] = s
		last = math.Max(last, s.FinishSeconds)
	}
	if !approx(last, p.MakespanSeconds) {
		t.Fatalf("makespan %g, latest finish %g", p.MakespanSeconds, last)
	}
	for _, ch := range p.Channels {
		from, to := byID[ch.From], byID[ch.To]
		if to.StartSeconds < from.FinishSeconds+ch.TransferSeconds-1e-6 {
			t.Fatalf("%s starts at %g before %s's data arrives at %g", to.ID, to.StartSeconds, from.ID, from.FinishSeconds+ch.TransferSeconds)
		}
	}
	for _, cl := range cat.Classes {
		if n := peakConcurrency(p, cl.Name); n > cl.Instances {
			t.Fatalf("class %s runs %d shards at once, has %d instances", cl.Name, n, cl.Instances)
		}
	}
}

func checkCoverage(t *testing.T, g *graph.Graph, p *Plan) {
	t.Helper()
	seen := map[string]int{}
	pieces := map[string]int{}
	for _, s := range p.Shards {
		if s.Split != nil {
			pieces[s.Split.Task]++
			if s.Split.Count < 1 || pieces[s.Split.Task] > s.Split.Count {
				t.Fatalf("split %+v", s.Split)
			}
			if pieces[s.Split.Task] > 1 {
				continue
			}
		}
		for _, name := range s.Tasks {
			seen[name]++
		}
	}
	for _, task := range g.Tasks {
		if seen[task.Name] != 1 {
			t.Fatalf("task %s in %d shards", task.Name, seen[task.Name])
		}
	}
	if p.Stats.Tasks != len(g.Tasks) || p.Stats.Shards != len(p.Shards) {
		t.Fatalf("stats %+v", p.Stats)
	}
}

// peakConcurrency is the most shards of class running at one time.
func peakConcurrency(p *Plan, class string) int {
	type ev struct {
		at    float64
		delta int
	}
	var evs []ev
	for _, s := range p.Shards {
		if s.Class == class {
			evs = append(evs, ev{s.StartSeconds, 1}, ev{s.FinishSeconds, -1})
		}
	}
	// Ends before starts at equal times: an instance is reused at once.
	sortEvents := func(a, b ev) bool { return a.at < b.at || (a.at == b.at && a.delta < b.delta) }
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && sortEvents(evs[j], evs[j-1]); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
	n, peak := 0, 0
	for _, e := range evs {
		n += e.delta
		peak = max(peak, n)
	}
	return peak
}

func TestEmptyGraph(t *testing.T) {
	f := newFixture(cls("A", 1, 100, 0))
	p := f.build(t, Options{})
	if len(p.Shards) != 0 || p.MakespanSeconds != 0 || p.Baseline == nil || p.Baseline.Speedup != 1 {
		t.Errorf("plan %+v", p)
	}
	if _, err := json.Marshal(p); err != nil {
		t.Error(err)
	}
}

func TestSingleClassBeatsGreedyMix(t *testing.T) {
	// F computes 5x faster but moves data at 10 B/s; N at 1000 B/s. HEFT
	// puts every task on F: 1 + 10 + 1 + 10 + 1 = 23 s. All on N:
	// 5 + 0.1 + 5 + 0.1 + 5 = 15.2 s, which Build keeps.
	f := newFixture(cls("F", 2, 10, 0), cls("N", 2, 1000, 0))
	for _, n := range []string{"r", "x", "y", "z"} {
		f.task(n, graph.KindCPU, 1, 5)
	}
	f.edge("r", "x", 100)
	f.edge("r", "y", 100)
	f.edge("x", "z", 100)
	f.edge("y", "z", 100)
	p := f.build(t, Options{})
	wantMakespan(t, p, 15.2)
	for _, s := range p.Shards {
		if s.Class != "N" {
			t.Fatalf("%s on %s, want N", s.ID, s.Class)
		}
	}
	want := "cpu work: with every shard on N the plan takes 15.2s, mixing classes 23.0s"
	if r := p.Shards[0].Reason; !strings.HasPrefix(r, want) {
		t.Errorf("reason %q", r)
	}
	if p.Baseline.Class != "N" || p.Baseline.Speedup != 1 {
		t.Errorf("baseline %+v", p.Baseline)
	}
}

// fanOut is src -> n siblings -> sink on one class of `instances`
// instances with su seconds of start-up and free transfers; siblings take
// rt seconds, src and sink 1 s.
func fanOut(n, instances int, su, rt float64) *fixture {
	f := newFixture(cls("cpu", instances, inf, su))
	f.task("src", graph.KindCPU, 1)
	f.task("sink", graph.KindCPU, 1)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("x%d", i)
		f.task(name, graph.KindCPU, rt)
		f.edge("src", name, 0)
		f.edge(name, "sink", 0)
	}
	return f
}

func TestBatchFanOut(t *testing.T) {
	// Unbatched: src 0-6, ten siblings of 5 + 2 s in five waves on two
	// instances, 6-41, sink 41-47.
	f := fanOut(10, 2, 5, 2)
	p := f.build(t, Options{NoBatch: true})
	wantMakespan(t, p, 47)
	if len(p.Shards) != 12 || p.Stats.BatchedTasks != 0 {
		t.Fatalf("%d shards, stats %+v", len(p.Shards), p.Stats)
	}
	// Batched: two batches of five siblings (LPT on two instances), each
	// 5 + 5 x 2 s, 6-21; sink 21-27.
	p = f.build(t, Options{})
	wantMakespan(t, p, 27)
	if len(p.Shards) != 4 || p.Stats.BatchedTasks != 10 || p.Stats.Jobs != 4 || p.Stats.FusedTasks != 0 {
		t.Fatalf("%d shards, stats %+v", len(p.Shards), p.Stats)
	}
	b0, b1 := shardOf(p, "x0"), shardOf(p, "x1")
	if got := strings.Join(b0.Tasks, ","); got != "x0,x2,x4,x6,x8" || strings.Join(b1.Tasks, ",") != "x1,x3,x5,x7,x9" {
		t.Errorf("batches %v and %v", b0.Tasks, b1.Tasks)
	}
	for _, s := range []*Shard{b0, b1} {
		if s.StartSeconds != 6 || s.FinishSeconds != 21 || s.RuntimeSeconds.Value != 10 || s.Upstream[0] != "s000-src" {
			t.Errorf("batch %s: %g-%g runtime %g upstream %v", s.ID, s.StartSeconds, s.FinishSeconds, s.RuntimeSeconds.Value, s.Upstream)
		}
		if s.Resources.MemoryMiB.Value != 512 || s.Signature != strings.Join(s.Tasks, "+") {
			t.Errorf("batch %s: memory %g, signature %q", s.ID, s.Resources.MemoryMiB.Value, s.Signature)
		}
	}
	want := "batched 5 sibling tasks that wait for the same upstream shards (10 such tasks run in 2 allocations): saves 4 start-ups of 5.0s"
	if !strings.HasSuffix(b0.Reason, want) {
		t.Errorf("reason %q, want suffix %q", b0.Reason, want)
	}
	if sink := shardOf(p, "sink"); len(sink.Upstream) != 2 || sink.StartSeconds != 21 {
		t.Errorf("sink: upstream %v, start %g", sink.Upstream, sink.StartSeconds)
	}
	if p.Baseline == nil || !approx(p.Baseline.MakespanSeconds, 47) || !approx(p.Baseline.Speedup, 47.0/27) {
		t.Errorf("baseline %+v", p.Baseline)
	}
	// NoFusion turns batching off as well.
	if p := f.build(t, Options{NoFusion: true}); len(p.Shards) != 12 {
		t.Errorf("NoFusion: %d shards, want 12", len(p.Shards))
	}
}

func TestBatchKeepsLongSiblingsApart(t *testing.T) {
	// src -> x0..x3 (100 s each) -> end, and x_i -> y_i, where y0 takes
	// 1000 s and y1..y3 1 s; one class, two instances, 1 s start-up. Apart,
	// x0 runs 2-103 and y0 103-1104. Any two batches on two instances put
	// x0 with another sibling, 2-204, and delay y0 to 1205, so the
	// siblings stay apart.
	f := newFixture(cls("cpu", 2, inf, 1))
	f.task("src", graph.KindCPU, 1)
	f.task("end", graph.KindCPU, 1)
	for i := 0; i < 4; i++ {
		x, y := fmt.Sprintf("x%d", i), fmt.Sprintf("y%d", i)
		f.task(x, graph.KindCPU, 100)
		f.task(y, graph.KindCPU, map[bool]float64{true: 1000, false: 1}[i == 0])
		f.edge("src", x, 0)
		f.edge(x, y, 0)
		f.edge(x, "end", 0)
	}
	p := f.build(t, Options{})
	wantMakespan(t, p, 1104)
	if len(p.Shards) != 10 || p.Stats.BatchedTasks != 0 {
		t.Errorf("%d shards, stats %+v; want no batches", len(p.Shards), p.Stats)
	}
}

func TestBatchDeterministic(t *testing.T) {
	g, cat, tb := randomCase(t, 4, 400)
	a, err := Build(g, cat, tb, Options{Run: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Stats.BatchedTasks == 0 {
		t.Fatal("no batches: the test needs a graph with sibling sets")
	}
	for i := 0; i < 3; i++ {
		b, err := Build(g, cat, tb, Options{Run: "r"})
		if err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Fatal("two builds of the same input differ")
		}
	}
	checkPlan(t, g, cat, a)
}

// TestBatchRuntimeIsItsTasksSum checks that a batch is predicted from its
// own tasks: siblings x0..x9 predicted 1..10 s on class N and twice that
// on class S; every shard's runtime is the sum of its members' runtimes
// on its class (the tasks run one after another in its one allocation,
// translator/nomadjob), so batches of equally many tasks differ.
func TestBatchRuntimeIsItsTasksSum(t *testing.T) {
	f := newFixture(cls("N", 2, inf, 5), cls("S", 2, inf, 5))
	f.task("src", graph.KindCPU, 1, 2)
	f.task("sink", graph.KindCPU, 1, 2)
	for i := range 10 {
		name := fmt.Sprintf("x%d", i)
		f.task(name, graph.KindCPU, float64(i+1), float64(2*(i+1)))
		f.edge("src", name, 0)
		f.edge(name, "sink", 0)
	}
	p := f.build(t, Options{})
	if p.Stats.BatchedTasks == 0 {
		t.Fatalf("no batch: stats %+v", p.Stats)
	}
	sums := map[float64]bool{}
	for _, s := range p.Shards {
		c := 0
		if s.Class == "S" {
			c = 1
		}
		want := 0.0
		for _, task := range s.Tasks {
			want += f.rt[task][c]
		}
		if !approx(s.RuntimeSeconds.Value, want) {
			t.Errorf("shard %s (%v on %s): runtime %g s, want the sum of its tasks' %g s", s.ID, s.Tasks, s.Class, s.RuntimeSeconds.Value, want)
		}
		if len(s.Tasks) > 1 {
			sums[s.RuntimeSeconds.Value] = true
		}
	}
	if len(sums) < 2 {
		t.Errorf("every batch predicted alike: %v", sums)
	}
}
