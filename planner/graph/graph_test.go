package graph

import (
	"fmt"
	"testing"
)

// TestGrow checks that tasks added after Grow, on an empty graph and on
// one that has tasks, are found by name, and that a duplicate is still
// refused.
func TestGrow(t *testing.T) {
	g := New("g")
	g.Grow(100)
	for i := range 150 {
		if i == 50 {
			g.Grow(100)
		}
		if err := g.AddTask(&Task{Name: fmt.Sprintf("t%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 150 {
		if got := g.Index(fmt.Sprintf("t%d", i)); got != i {
			t.Fatalf("Index(t%d) = %d", i, got)
		}
	}
	if err := g.AddTask(&Task{Name: "t7"}); err == nil {
		t.Error("a duplicate task was added")
	}
	if err := g.AddEdge(&Edge{From: "t1", To: "t149"}); err != nil || len(g.Out(1)) != 1 || len(g.In(149)) != 1 {
		t.Errorf("edge: %v", err)
	}
}
