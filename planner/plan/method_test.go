package plan

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/planner/graph"
)

func TestParseMethod(t *testing.T) {
	for in, want := range map[string]Method{
		"": {Name: MethodShardwise}, "shardwise": {Name: MethodShardwise}, "heft": {Name: MethodHEFT},
		"single": {Name: MethodSingle}, "single:gpu": {Name: MethodSingle, Class: "gpu"},
	} {
		got, err := ParseMethod(in)
		if err != nil || got != want {
			t.Errorf("ParseMethod(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"fastest", "heft:cpu", "single:", "Shardwise"} {
		if _, err := ParseMethod(in); err == nil || !strings.Contains(err.Error(), in) {
			t.Errorf("ParseMethod(%q) = %v, want an error naming it", in, err)
		}
	}
}

// Two classes: "fast" runs cpu work twice as fast as "slow" but has one
// instance; a chain a -> b -> c of cpu work fuses under Shardwise.
func methodFixture() *fixture {
	f := newFixture(cls("fast", 1, 1e9, 1), cls("slow", 2, 1e9, 1))
	f.task("a", graph.KindCPU, 10, 20)
	f.task("b", graph.KindCPU, 10, 20)
	f.task("c", graph.KindCPU, 10, 20)
	f.edge("a", "b", 0)
	f.edge("b", "c", 0)
	return f
}

func TestBuildMethodBaselines(t *testing.T) {
	f := methodFixture()
	build := func(m Method) *Plan {
		t.Helper()
		p, err := BuildMethod(f.g, f.cat, f.table(0), Options{Run: "r1"}, m)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		checkPlan(t, f.g, f.cat, p)
		return p
	}
	sw := build(Method{Name: MethodShardwise})
	if len(sw.Shards) != 1 || sw.Method != "" {
		t.Errorf("shardwise: %d shards, method %q; want the chain fused into 1", len(sw.Shards), sw.Method)
	}
	heft := build(Method{Name: MethodHEFT})
	if len(heft.Shards) != 3 || heft.Method != MethodHEFT || heft.Algorithm != "heft-insertion" {
		t.Errorf("heft: %d shards, method %q, algorithm %q; want 3 unfused shards by insertion HEFT", len(heft.Shards), heft.Method, heft.Algorithm)
	}
	for _, s := range heft.Shards {
		if s.Class != "fast" {
			t.Errorf("heft: shard %s on %s, want fast (finishes first)", s.ID, s.Class)
		}
	}
	// 3 x (1 s start-up + 20 s) on slow.
	slow := build(Method{Name: MethodSingle, Class: "slow"})
	wantMakespan(t, slow, 63)
	if len(slow.Shards) != 3 || slow.Method != "single:slow" {
		t.Errorf("single:slow: %d shards, method %q", len(slow.Shards), slow.Method)
	}
	for _, s := range slow.Shards {
		if s.Class != "slow" {
			t.Errorf("single:slow: shard %s on %s", s.ID, s.Class)
		}
	}
	best := build(Method{Name: MethodSingle})
	if best.Method != "single:fast" || !approx(best.MakespanSeconds, 33) {
		t.Errorf("single: method %q, makespan %g; want single:fast at 33 s", best.Method, best.MakespanSeconds)
	}
}

func TestBuildMethodRejects(t *testing.T) {
	f := methodFixture()
	_, err := BuildMethod(f.g, f.cat, f.table(0), Options{Run: "r1"}, Method{Name: MethodSingle, Class: "gpu"})
	if err == nil || !strings.Contains(err.Error(), `no class "gpu"`) || !strings.Contains(err.Error(), "fast, slow") {
		t.Errorf("single:gpu: %v, want no class named, with the catalog's", err)
	}
	f.g.Tasks[0].Hints.Executor = "fast"
	f.g.Tasks[0].Hints.DefRange = hcl.Range{Filename: "g.hcl", Start: hcl.Pos{Line: 7, Column: 5}}
	// The error says where the pin is, file:line:col.
	want := `task a is pinned to executor "fast" by its hints at g.hcl:7:5, so no plan puts every task on slow`
	if _, err := BuildMethod(f.g, f.cat, f.table(0), Options{Run: "r1"}, Method{Name: MethodSingle, Class: "slow"}); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("single:slow with a task pinned to fast: %v, want it to say %q", err, want)
	}
	if _, err := BuildMethod(f.g, f.cat, f.table(0), Options{Run: "r1"}, Method{Name: "fastest"}); err == nil {
		t.Error("unknown method accepted")
	}
}

// TestReplanned: the launcher re-plans and late-binds Shardwise's plans
// only; a baseline runs as planned (app's run and evaluate's HEFT as run
// both read this).
func TestReplanned(t *testing.T) {
	for in, want := range map[string]bool{"": true, "shardwise": true, "heft": false, "single": false, "single:gpu": false} {
		m, err := ParseMethod(in)
		if err != nil {
			t.Fatal(err)
		}
		if m.Replanned() != want {
			t.Errorf("%q: Replanned() = %v, want %v", in, m.Replanned(), want)
		}
	}
	if !(Method{}).Replanned() {
		t.Error("the zero Method (Shardwise's) is not Replanned")
	}
}

// TestSingleMethodReasons: single pins every task to its class on a copy
// of the graph; the reasons say the method put it there, and only a task
// the graph pins says "pinned ... by its executor hint".
func TestSingleMethodReasons(t *testing.T) {
	f := methodFixture()
	f.g.Tasks[1].Hints.Executor = "slow" // b, pinned by the user
	p, err := BuildMethod(f.g, f.cat, f.table(0), Options{Run: "r1"}, Method{Name: MethodSingle})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Shards {
		want := "method single:slow puts every task on slow"
		if s.Tasks[0] == "b" {
			want = "pinned to slow by its executor hint"
		}
		if !strings.HasPrefix(s.Reason, want) {
			t.Errorf("shard %s (%v): reason %q, want it to start %q", s.ID, s.Tasks, s.Reason, want)
		}
	}
}
