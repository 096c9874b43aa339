package predict

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
)

// TestLargeGraphErrorsInTaskOrder predicts a graph spread over many
// chunks (Predict works on every core): the infeasible tasks are reported
// in task order, and of two bad hints the first task's is the error, as
// one loop over the tasks would report them.
func TestLargeGraphErrorsInTaskOrder(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	const n = 10 * predictChunk
	tasks := func() []*graph.Task {
		out := make([]*graph.Task, n)
		for i := range out {
			out[i] = &graph.Task{Name: fmt.Sprintf("t%05d", i)}
		}
		return out
	}
	huge := graph.Hints{GPUs: 1, GPUMemoryMiB: 160 << 10}
	ts := tasks()
	var want []string
	for _, i := range []int{3, predictChunk + 7, 6 * predictChunk, n - 1} {
		ts[i].Hints = huge
		want = append(want, ts[i].Name)
	}
	p, err := New(catalog.Default(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := p.Predict(mustGraph(t, ts...))
	var ie *InfeasibleError
	if !errors.As(err, &ie) || tb == nil {
		t.Fatalf("err = %v", err)
	}
	var got []string
	for _, inf := range ie.Tasks {
		got = append(got, inf.Task)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("infeasible tasks %v, want %v", got, want)
	}

	ts = tasks()
	ts[2*predictChunk+1].Hints.Kind = "quantum"
	ts[5*predictChunk].Hints.Executor = "tpu"
	ts[9*predictChunk].Hints = huge
	if _, err := p.Predict(mustGraph(t, ts...)); err == nil || !strings.Contains(err.Error(), ts[2*predictChunk+1].Name) {
		t.Errorf("err = %v, want the bad kind of %s", err, ts[2*predictChunk+1].Name)
	}
}
