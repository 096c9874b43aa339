package plan

import (
	"reflect"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
)

// TestProbeThenSize: history saw type bwa with a 1 MB shared reference;
// this graph's bwa tasks read a 10 MB one. bwa is a probe type: its
// shortest shard (b2) runs first with twice its memory (bounded by the
// class's 300 MiB), the other bwa shards wait for it, except b0, which
// the probe itself waits for; the type seen at the old scale (idx) is
// not probed. When the probe completes having used 700 MiB, the rest
// are sized at 700 x InRunMemoryHeadroom.
func TestProbeThenSize(t *testing.T) {
	var recs []history.Record
	for i := 0; i < 4; i++ {
		recs = append(recs,
			history.Record{Task: "h", Signature: "bwa", RuntimeSeconds: 10, InputBytes: 1e6 + 100, SharedInputBytes: 1e6, MemoryBytes: 100 << 20},
			history.Record{Task: "i", Signature: "idx", RuntimeSeconds: 5, InputBytes: 1e6, SharedInputBytes: 1e6})
	}
	cat := catalog.Default()
	pr, err := predict.New(cat, recs)
	if err != nil {
		t.Fatal(err)
	}
	g := graph.New("g")
	for _, tk := range []*graph.Task{
		{Name: "b0", Signature: "bwa", InputBytes: 1e7 + 100, SharedInputBytes: 1e7},
		{Name: "b1", Signature: "bwa", InputBytes: 1e7 + 100, SharedInputBytes: 1e7},
		{Name: "b2", Signature: "bwa", InputBytes: 1e7 + 100, SharedInputBytes: 1e7},
		{Name: "b3", Signature: "bwa", InputBytes: 1e7 + 100, SharedInputBytes: 1e7},
		{Name: "x", Signature: "idx", InputBytes: 1e6, SharedInputBytes: 1e6},
	} {
		if err := g.AddTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	probes := pr.ProbeTypes(g)
	if !reflect.DeepEqual(probes, []string{"bwa"}) {
		t.Fatalf("probe types %v, want [bwa]", probes)
	}
	small := &catalog.Catalog{Classes: []*catalog.Class{{Name: "c", Instances: 4, Shape: catalog.Shape{MemoryMiB: 300}}}}
	shard := func(id string, rt, mem float64, up ...string) *Shard {
		return &Shard{ID: id, Class: "c", Tasks: []string{id}, RuntimeSeconds: Estimate{Value: rt},
			Resources: Resources{MemoryMiB: Estimate{Value: mem}}, Upstream: up}
	}
	p := &Plan{Shards: []*Shard{
		shard("b0", 10, 110), shard("b1", 12, 110), shard("b2", 8, 200, "b0"), shard("b3", 12, 110), shard("x", 1, 50),
	}}
	if ids := Probe(p, g, small, probes); !reflect.DeepEqual(ids, []string{"b2"}) {
		t.Fatalf("probes %v, want [b2]", ids)
	}
	if m := p.Shards[2].Resources.MemoryMiB.Value; m != 300 {
		t.Errorf("probe memory %v MiB, want 2 x 200 bounded by the class's 300", m)
	}
	for i, want := range [][]string{nil, {"b2"}, {"b0"}, {"b2"}, nil} {
		if got := p.Shards[i].Upstream; !reflect.DeepEqual(got, want) {
			t.Errorf("%s upstream %v, want %v", p.Shards[i].ID, got, want)
		}
	}

	// Size the rest from the probe.
	tb, err := pr.Predict(g)
	if err != nil {
		t.Fatal(err)
	}
	corr := predict.NewCorrection(0)
	corr.ObserveMemory("bwa", 700, false)
	corr.Apply(g, tb, func(t int) bool { return t != 2 }, nil)
	for _, ti := range []int{0, 1, 3} {
		if got := tb.At(ti, 0).MemoryMiB.Value; got != 840 {
			t.Errorf("%s sized %v MiB after the probe, want 840", g.Tasks[ti].Name, got)
		}
	}
}

// TestProbeOnTheTypesMainClass: of three bwa shards, the shortest (a0, 5 s)
// is alone on class a and two (c1, 8 s; c2, 10 s) are on class c: the
// probe is c1, the shortest on the class holding most of the type, so
// the in-run correction it gives is measured where most of the type runs.
func TestProbeOnTheTypesMainClass(t *testing.T) {
	g := graph.New("g")
	for _, name := range []string{"a0", "c1", "c2"} {
		if err := g.AddTask(&graph.Task{Name: name, Signature: "bwa"}); err != nil {
			t.Fatal(err)
		}
	}
	cat := &catalog.Catalog{Classes: []*catalog.Class{{Name: "a", Instances: 1}, {Name: "c", Instances: 2}}}
	shard := func(id, class string, rt float64) *Shard {
		return &Shard{ID: id, Class: class, Tasks: []string{id}, RuntimeSeconds: Estimate{Value: rt}}
	}
	p := &Plan{Shards: []*Shard{shard("a0", "a", 5), shard("c1", "c", 8), shard("c2", "c", 10)}}
	if ids := Probe(p, g, cat, []string{"bwa"}); !reflect.DeepEqual(ids, []string{"c1"}) {
		t.Fatalf("probes %v, want [c1]", ids)
	}
	for i, want := range [][]string{{"c1"}, nil, {"c1"}} {
		if got := p.Shards[i].Upstream; !reflect.DeepEqual(got, want) {
			t.Errorf("%s upstream %v, want %v", p.Shards[i].ID, got, want)
		}
	}
}

// TestProbeGraph: the probe shard batches w1 and w2 of type w (and x of
// another type); every other w task waits for both, except w0, which w1
// waits for (a dependency on a probe task would make a cycle); x and y
// gain no edge. SizeProbes gives the shard holding the probe's tasks the
// probe's memory.
func TestProbeGraph(t *testing.T) {
	g := graph.New("g")
	for _, tk := range []*graph.Task{
		{Name: "w0", Signature: "w"}, {Name: "w1", Signature: "w"}, {Name: "w2", Signature: "w"},
		{Name: "w3", Signature: "w"}, {Name: "w4", Signature: "w"}, {Name: "x", Signature: "v"}, {Name: "y", Signature: "v"},
	} {
		if err := g.AddTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.AddEdge(&graph.Edge{From: "w0", To: "w1"}); err != nil {
		t.Fatal(err)
	}
	p := &Plan{Shards: []*Shard{
		{ID: "a", Class: "c", Tasks: []string{"w0"}},
		{ID: "probe", Class: "c", Tasks: []string{"w1", "x", "w2"}, Resources: Resources{MemoryMiB: Estimate{Value: 100}}},
		{ID: "b", Class: "c", Tasks: []string{"w3", "w4"}, Resources: Resources{MemoryMiB: Estimate{Value: 100}}},
		{ID: "c", Class: "c", Tasks: []string{"y"}},
	}}
	pg, tasks, err := ProbeGraph(p, g, []string{"w"}, []string{"probe"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tasks, []string{"w1", "w2"}) {
		t.Errorf("probe tasks %v, want [w1 w2]", tasks)
	}
	var added []string
	for _, e := range pg.Edges[len(g.Edges):] {
		added = append(added, e.From+">"+e.To)
	}
	if want := []string{"w1>w3", "w2>w3", "w1>w4", "w2>w4"}; !reflect.DeepEqual(added, want) {
		t.Errorf("added edges %v, want %v", added, want)
	}
	if len(g.Edges) != 1 || len(g.OutIdx(g.Index("w1"))) != 0 {
		t.Errorf("the graph was modified: %d edges", len(g.Edges))
	}
	cat := &catalog.Catalog{Classes: []*catalog.Class{{Name: "c", Instances: 2, Shape: catalog.Shape{MemoryMiB: 150}}}}
	if ids := SizeProbes(p, cat, tasks); !reflect.DeepEqual(ids, []string{"probe"}) || p.Shards[1].Resources.MemoryMiB.Value != 150 || p.Shards[2].Resources.MemoryMiB.Value != 100 {
		t.Errorf("sized %v: memory %v and %v MiB, want [probe] at 2 x 100 bounded by 150, b at 100", ids,
			p.Shards[1].Resources.MemoryMiB.Value, p.Shards[2].Resources.MemoryMiB.Value)
	}
}

// Two probed types that feed each other: the waits added for the first
// count when the second's are added, so the graph stays acyclic (built
// from the original graph's ancestors, b2 -> ap and a2 -> bp plus the
// waits ap -> a2 and bp -> b2 made the cycle a2 -> bp -> b2 -> ap -> a2).
// A shard listed twice adds its waits once.
func TestProbeGraphTwoTypesStayAcyclic(t *testing.T) {
	g := graph.New("g")
	for _, tk := range []*graph.Task{{Name: "ap", Signature: "A"}, {Name: "a2", Signature: "A"}, {Name: "bp", Signature: "B"}, {Name: "b2", Signature: "B"}} {
		if err := g.AddTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []*graph.Edge{{From: "b2", To: "ap"}, {From: "a2", To: "bp"}} {
		if err := g.AddEdge(e); err != nil {
			t.Fatal(err)
		}
	}
	p := &Plan{Shards: []*Shard{
		{ID: "pa", Class: "c", Tasks: []string{"ap"}}, {ID: "pb", Class: "c", Tasks: []string{"bp"}},
		{ID: "sa", Class: "c", Tasks: []string{"a2"}}, {ID: "sb", Class: "c", Tasks: []string{"b2"}},
	}}
	pg, tasks, err := ProbeGraph(p, g, []string{"A", "B"}, []string{"pa", "pb", "pa"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pg.TopoOrder(); err != nil {
		t.Fatalf("probe graph: %v", err)
	}
	if !reflect.DeepEqual(tasks, []string{"ap", "bp"}) {
		t.Errorf("probe tasks %v, want [ap bp]", tasks)
	}
}
