package evaluate

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/plan"
)

// TestOOMActualKillsFirstTaskOfProbedTypePerShard: in the OOM scenario,
// the first task of a probed type in each shard loses f of its runtime and
// a start-up; later tasks of the same shard, other types and a type held
// by one shard (plan.Probe does not probe it) keep their runtimes.
func TestOOMActualKillsFirstTaskOfProbedTypePerShard(t *testing.T) {
	g := graph.New("oom")
	for _, tk := range []*graph.Task{
		{Name: "a1", Signature: "a"}, {Name: "a2", Signature: "a"}, {Name: "a3", Signature: "a"},
		{Name: "b1", Signature: "b"}, {Name: "c1", Signature: "c"},
	} {
		if err := g.AddTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	p := &plan.Plan{Shards: []*plan.Shard{
		{ID: "s1", Class: "cpu-heavy", Tasks: []string{"b1", "a1", "a2"}},
		{ID: "s2", Class: "io-bound", Tasks: []string{"a3"}},
		{ID: "s3", Class: "cpu-heavy", Tasks: []string{"c1"}},
	}}
	cat := catalog.Default()
	base := func(task, class string) (float64, bool) { return 10, true }
	act := oomActual(base, p, g, []string{"a", "c"}, cat, 0.5)
	startup := cat.Class("cpu-heavy").Startup.Seconds()
	want := map[string]float64{
		"a1": 15 + startup, // first "a" of s1
		"a2": 10,           // s1 already died at a1
		"a3": 15 + cat.Class("io-bound").Startup.Seconds(),
		"b1": 10, // not a probed type
		"c1": 10, // one shard only: nothing waits for a probe
	}
	for task, w := range want {
		class := "cpu-heavy"
		if task == "a3" {
			class = "io-bound"
		}
		if got, ok := act(task, class); !ok || got != w {
			t.Errorf("%s: got %v, %v; want %v", task, got, ok, w)
		}
	}
}

// TestOOMActualCountsHoldersNotFirsts: a probed type counts as probed
// when at least two shards hold it (plan.Probe's rule), whether or not
// another probed type comes first in them. Probes a, b and c: s1 holds
// b1 then a1, s2 a2, s3 b2, s4 c1 then a3. a is in s1, s2 and s4, b in
// s1 and s3, c in s4 only (not probed). Each shard dies at its first
// task of a probed type held by two or more shards: b1, a2, b2 and a3
// (not c1).
func TestOOMActualCountsHoldersNotFirsts(t *testing.T) {
	g := graph.New("oom")
	for _, tk := range []*graph.Task{
		{Name: "a1", Signature: "a"}, {Name: "a2", Signature: "a"}, {Name: "a3", Signature: "a"},
		{Name: "b1", Signature: "b"}, {Name: "b2", Signature: "b"}, {Name: "c1", Signature: "c"},
	} {
		if err := g.AddTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	p := &plan.Plan{Shards: []*plan.Shard{
		{ID: "s1", Class: "cpu-heavy", Tasks: []string{"b1", "a1"}},
		{ID: "s2", Class: "cpu-heavy", Tasks: []string{"a2"}},
		{ID: "s3", Class: "cpu-heavy", Tasks: []string{"b2"}},
		{ID: "s4", Class: "cpu-heavy", Tasks: []string{"c1", "a3"}},
	}}
	cat := catalog.Default()
	base := func(task, class string) (float64, bool) { return 10, true }
	act := oomActual(base, p, g, []string{"a", "b", "c"}, cat, 1)
	killed := 20 + cat.Class("cpu-heavy").Startup.Seconds()
	for task, w := range map[string]float64{"b1": killed, "a1": 10, "a2": killed, "b2": killed, "c1": 10, "a3": killed} {
		if got, ok := act(task, "cpu-heavy"); !ok || got != w {
			t.Errorf("%s: got %v, %v; want %v", task, got, ok, w)
		}
	}
}

func TestProbeCostBreakEven(t *testing.T) {
	c := &ProbeCost{Probed: 758, Unprobed: 692, Retried: []float64{750, 867, 1022}}
	for i, want := range []float64{66.0 / 58, 66.0 / 175, 66.0 / 330} {
		if got := c.BreakEven(i); got != want {
			t.Errorf("BreakEven(%d) = %v, want %v", i, got, want)
		}
	}
}

// TestProbeCostBreakEvenDegenerate: a probe that costs nothing pays at
// any under-sizing probability (0, also when the retries cost nothing
// either, where the ratio is 0/0), one that saves time even without an
// OOM kill too (0, not a negative probability), and retries that cost
// nothing or save time make a probe that costs something never pay
// (+Inf, not a negative probability).
func TestProbeCostBreakEvenDegenerate(t *testing.T) {
	for _, tt := range []struct {
		probed, unprobed, retried, want float64
	}{
		{25, 25, 25, 0},
		{25, 25, 30, 0},
		{20, 25, 30, 0},
		{20, 25, 22, 0},
		{30, 25, 25, math.Inf(1)},
		{30, 25, 24, math.Inf(1)},
	} {
		c := &ProbeCost{Probed: tt.probed, Unprobed: tt.unprobed, Retried: []float64{tt.retried}}
		if got := c.BreakEven(0); got != tt.want {
			t.Errorf("probed %v, unprobed %v, retried %v: BreakEven %v, want %v", tt.probed, tt.unprobed, tt.retried, got, tt.want)
		}
	}
}

// TestProbeCostsWithoutProbe: an input with no probed type has no probe
// cost.
func TestProbeCostsWithoutProbe(t *testing.T) {
	in := runInput(t, "r1", 3, 10)
	c, err := ProbeCosts(in, in, catalog.Default())
	if err != nil || c != nil {
		t.Fatalf("got %v, %v; want nil, nil", c, err)
	}
}

// TestProbeCostsHandComputed: four 10 s roots of a probed type on one
// class of two instances with a 5 s start-up. Shardwise batches the
// siblings two by two (a start-up saved per instance): unprobed, both
// batches at once, 5 + 20 = 25 s; probed, the probe batch and then the
// other, 50 s. One OOM retry of every unprobed batch kills it at its first
// task after f of it and restarts it: 5 + (10(1+f) + 5) + 10 = 30, 35 and
// 40 s. The wait (25 s) costs more than the retries it saves: break-even
// 25/5, 25/10, 25/15, all above 1, as on BWA large.
func TestProbeCostsHandComputed(t *testing.T) {
	g := graph.New("hand")
	var recs []history.Record
	for i := 0; i < 4; i++ {
		name := fmt.Sprintf("a%d", i)
		if err := g.AddTask(&graph.Task{Name: name, Signature: "a", Hints: graph.Hints{Runtime: 10 * time.Second}}); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, history.Record{Run: "hand", Task: name, Signature: "a", RuntimeSeconds: 10, Source: "test"})
	}
	cat := &catalog.Catalog{Classes: []*catalog.Class{{Name: "c", Instances: 2, Startup: 5 * time.Second, BandwidthBytes: 1e9,
		Shape: catalog.Shape{CPU: 8000, Cores: 4, MemoryMiB: 16384}, Placement: catalog.Placement{NodeClass: "c"}}}}
	tb, err := TraceTable(g, recs, cat)
	if err != nil {
		t.Fatal(err)
	}
	in := &Input{Name: "hand", Graph: g, Table: tb, Records: recs, Probes: []string{"a"}}
	c, err := ProbeCosts(in, in, cat)
	if err != nil {
		t.Fatal(err)
	}
	if c.Probed != 50 || c.Unprobed != 25 || !slices.Equal(c.Retried, []float64{30, 35, 40}) {
		t.Fatalf("got probed %v, unprobed %v, retried %v; want 50, 25, [30 35 40]", c.Probed, c.Unprobed, c.Retried)
	}
	for i, want := range []float64{25.0 / 5, 25.0 / 10, 25.0 / 15} {
		if got := c.BreakEven(i); got != want {
			t.Errorf("BreakEven(%d) = %v, want %v", i, got, want)
		}
	}
}

// TestWriteProbeCosts: one row per probed input with its makespans and
// break-evens (+Inf where the retries cost nothing), the OOM fractions
// as column pairs.
func TestWriteProbeCosts(t *testing.T) {
	var b strings.Builder
	costs := []*ProbeCost{{Input: "in", Probes: []string{"a", "b"}, Probed: 50, Unprobed: 25, Retried: []float64{25, 35, 40}}}
	if err := WriteProbeCosts(&b, costs); err != nil {
		t.Fatal(err)
	}
	want := "| trace | probed types | probed (s) | unprobed (s) | unprobed, OOM at 0 (s) | break-even | unprobed, OOM at 0.5 (s) | break-even | unprobed, OOM at 1 (s) | break-even |\n" +
		"|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n" +
		"| in | a, b | 50.0 | 25.0 | 25.0 | +Inf | 35.0 | 2.500 | 40.0 | 1.667 |\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
