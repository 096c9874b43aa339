package plan

import (
	"slices"
	"testing"

	"github.com/shardwise/shardwise/planner/graph"
)

// TestSharedSignatures checks sharedSignatures against counting every
// signature, on tasks that keep their name as signature, tools, and a
// tool named like a task.
func TestSharedSignatures(t *testing.T) {
	g := graph.New("sigs")
	for _, task := range []*graph.Task{
		{Name: "a"}, {Name: "b"}, // own names, alone
		{Name: "c"}, {Name: "c2", Signature: "c"}, // a tool named like task c
		{Name: "d", Signature: "tool"}, {Name: "e", Signature: "tool"}, // one tool twice
		{Name: "f", Signature: "once"},                             // a tool once
		{Name: "g", Signature: "a2"}, {Name: "a2", Signature: "x"}, // a tool named like a task of another signature
	} {
		if err := g.AddTask(task); err != nil {
			t.Fatal(err)
		}
	}
	count := map[string]int{}
	for _, task := range g.Tasks {
		count[task.Signature]++
	}
	want := make([]bool, len(g.Tasks))
	for i, task := range g.Tasks {
		want[i] = count[task.Signature] > 1
	}
	b := &builder{g: g}
	if got := b.sharedSignatures(); !slices.Equal(got, want) {
		t.Errorf("shared = %v, want %v", got, want)
	}
}
