package app

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/planner/plan"
)

// TestReplannerOnlyForShardwise: with a history store, a run gets a
// Replanner (re-planning and late binding) for Shardwise's method only; a
// baseline runs as planned, which planner/evaluate's HEFT as run models
// through the same plan.Method.Replanned.
func TestReplannerOnlyForShardwise(t *testing.T) {
	store, err := feedback.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	l := &loop{store: store, log: hclog.NewNullLogger()}
	res := &Planned{Plan: &plan.Plan{}}
	for _, name := range []string{"", "shardwise", "heft", "single", "single:cpu-heavy"} {
		m, err := plan.ParseMethod(name)
		if err != nil {
			t.Fatal(err)
		}
		req := &RunRequest{PlanRequest: PlanRequest{Method: m}}
		if got := l.replanner(req, res, nil, nil) != nil; got != m.Replanned() {
			t.Errorf("method %q: Replanner %v, want %v (plan.Method.Replanned)", name, got, m.Replanned())
		}
		if name == "heft" && l.replanner(req, res, nil, nil) != nil {
			t.Error("method heft: the launcher would re-plan and late-bind a baseline")
		}
	}
	req := &RunRequest{PlanRequest: PlanRequest{Method: plan.Method{Name: plan.MethodShardwise}}, NoReplan: true}
	if l.replanner(req, res, nil, nil) != nil {
		t.Error("-no-replan: got a Replanner")
	}
}
