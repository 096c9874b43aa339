package planner

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
)

// chain returns a -> b -> c, three 60 s tasks.
func chain(t *testing.T) *graph.Graph {
	t.Helper()
	g := graph.New("chain")
	for _, n := range []string{"a", "b", "c"} {
		if err := g.AddTask(&graph.Task{Name: n, Command: "true", Hints: graph.Hints{Runtime: time.Minute}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range [][2]string{{"a", "b"}, {"b", "c"}} {
		if err := g.AddEdge(&graph.Edge{From: e[0], To: e[1]}); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func classesOf(t *testing.T, r *Result) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range r.Plan.Shards {
		for _, task := range s.Tasks {
			out[task] = s.Class
		}
	}
	return out
}

func TestPlanDefaults(t *testing.T) {
	r, err := Pipeline{Catalog: catalog.Default()}.Plan(chain(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Plan.Run) != 8 || r.Plan.Driver != "raw_exec" || r.Table == nil || r.Table.Tasks() != 3 {
		t.Errorf("run %q driver %q table %v", r.Plan.Run, r.Plan.Driver, r.Table)
	}
	r2, err := Pipeline{Catalog: catalog.Default()}.Plan(chain(t), Options{Run: "r1", Driver: "shard"})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Plan.Run != "r1" || r2.Plan.Driver != "shard" || r.Plan.Run == r2.Plan.Run {
		t.Errorf("run %q driver %q", r2.Plan.Run, r2.Plan.Driver)
	}
}

// TestPlanPinAndAvoid: a pinned task runs on its class; the others avoid
// the avoided classes; avoiding every class leaves the predictions alone.
func TestPlanPinAndAvoid(t *testing.T) {
	cat := catalog.Default()
	free, err := Pipeline{Catalog: cat}.Plan(chain(t), Options{Run: "r"})
	if err != nil {
		t.Fatal(err)
	}
	usual := classesOf(t, free)["b"]
	var other string
	for _, n := range cat.Names() {
		if n != usual && !strings.Contains(n, "gpu") {
			other = n
			break
		}
	}
	r, err := Pipeline{Catalog: cat}.Plan(chain(t), Options{Run: "r", Pin: map[string]string{"a": other}, Avoid: []string{usual}})
	if err != nil {
		t.Fatal(err)
	}
	got := classesOf(t, r)
	if got["a"] != other || got["b"] == usual || got["c"] == usual {
		t.Errorf("pinned a to %s, avoided %s: classes %v", other, usual, got)
	}
	a := 0
	for c, name := range r.Table.Classes {
		if n := r.Table.At(a, c); n.Feasible != (name == other) {
			t.Errorf("a on %s: feasible %v (%s)", name, n.Feasible, n.Why)
		}
	}
	all, err := Pipeline{Catalog: cat}.Plan(chain(t), Options{Run: "r", Avoid: cat.Names()})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(chainClasses(classesOf(t, all)), chainClasses(classesOf(t, free))) {
		t.Errorf("avoiding every class changed the plan: %v, want %v", classesOf(t, all), classesOf(t, free))
	}
}

func chainClasses(m map[string]string) []string {
	out := []string{m["a"], m["b"], m["c"]}
	return out
}

func TestPlanErrorsNameTheSource(t *testing.T) {
	g := graph.New("empty")
	if _, err := (Pipeline{}).Plan(g, Options{Source: "x.hcl"}); err == nil || !strings.Contains(err.Error(), "x.hcl") {
		t.Errorf("no catalog: %v", err)
	}
}
