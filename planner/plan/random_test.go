package plan

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/predict"
)

// randomCase is a synthetic graph with every seventh task split, its
// catalog and its predictions.
func randomCase(t testing.TB, seed uint64, tasks int) (*graph.Graph, *catalog.Catalog, *predict.Table) {
	t.Helper()
	g, err := synth.Generate(synth.Params{
		Tasks: tasks, Alpha: 0.5 + float64(seed%4)*0.5, OutDegree: 1 + float64(seed%3),
		CCR: []float64{0.1, 1, 5}[seed%3], Beta: 1, Seed: seed,
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, task := range g.Tasks {
		if i%7 == 3 {
			task.Split = &graph.Split{InputBytes: int64(i) << 30, MaxShards: 1 + i%20}
		}
	}
	cat := synth.Catalog(1 + int(seed%4))
	return g, cat, synth.FillTable(g, cat, 1, seed)
}

func TestRandomInvariants(t *testing.T) {
	worse := 0
	for seed := uint64(1); seed <= 40; seed++ {
		g, cat, tb := randomCase(t, seed, 60+int(seed)*5)
		for _, opts := range []Options{{Run: "r"}, {Run: "r", Insertion: true}, {Run: "r", NoFusion: true}} {
			p, err := Build(g, cat, tb, opts)
			if err != nil {
				t.Fatalf("seed %d %+v: %v", seed, opts, err)
			}
			checkPlan(t, g, cat, p)
			if p.Baseline == nil {
				t.Fatalf("seed %d: no baseline", seed)
			}
			if opts == (Options{Run: "r"}) && p.MakespanSeconds > p.Baseline.MakespanSeconds {
				worse++
				t.Errorf("seed %d: makespan %g > baseline %g on %s", seed, p.MakespanSeconds, p.Baseline.MakespanSeconds, p.Baseline.Class)
			}
		}
	}
	t.Logf("%d of 40 plans worse than their baseline", worse)
}

func TestDeterministic(t *testing.T) {
	g, cat, tb := randomCase(t, 5, 300)
	a, err := Build(g, cat, tb, Options{Run: "r"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Build(g, cat, tb, Options{Run: "r"})
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Error("two builds of the same input differ")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	g, cat, tb := randomCase(t, 2, 200)
	p, err := Build(g, cat, tb, Options{Run: "r"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, &back) {
		t.Error("plan changed in a JSON round trip")
	}
	again, _ := json.Marshal(&back)
	if !bytes.Equal(data, again) {
		t.Error("re-encoded plan differs")
	}
}
