package replan

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/plan"
)

// busyJoin is setup's request with memory-intensive cut to n instances,
// another shard of join's task (10 min hinted) running there since 1 s
// ago and three more submitted and waiting there.
func busyJoin(t *testing.T, adv *fakeAdvisor, n int) (*Replanner, launcher.ReplanRequest) {
	t.Helper()
	r, req := setup(t, adv)
	r.Catalog.Class("memory-intensive").Instances = n
	p := *req.Plan
	p.Shards = append([]*plan.Shard(nil), p.Shards...)
	req.Plan = &p
	req.Now = time.Now()
	for k := range 4 {
		other := *req.Plan.Shards[1]
		other.ID = fmt.Sprintf("s%03d-other", 2+k)
		other.Job = other.ID
		p.Shards = append(p.Shards, &other)
		req.Active = append(req.Active, launcher.ActiveShard{Shard: other.ID, Class: "memory-intensive",
			Running: k == 0, Since: req.Now.Add(-time.Second)})
	}
	return r, req
}

// Late binding in the launcher: join waits for memory-intensive's only
// instance, held by another shard and waited for by three more; plan.Binder, which the
// simulator calls at the same point, moves it to a class with a free
// instance, and the move's job is constrained there.
func TestLateBindingMovesOffAFullClass(t *testing.T) {
	adv := &fakeAdvisor{}
	r, req := busyJoin(t, adv, 1)
	moves, err := r.Replan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	m := checkMove(t, moves, "late binding: memory-intensive is full")

	// The same decision as the Binder's on the same view.
	tb, err := r.bindTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for i, s := range req.Plan.Shards {
		index[s.ID] = i
	}
	b := plan.NewBinder(req.Plan, r.Graph, r.Catalog, tb, nil)
	if want := b.Bind(1, 0, r.bindView(req, index)); want != m.Shards[0].Class {
		t.Errorf("moved to %s, plan.Binder says %q", m.Shards[0].Class, want)
	}
	if adv.fits != 1 {
		t.Errorf("refitted %d times, want 1", adv.fits)
	}
	if _, err := r.Replan(context.Background(), req); err != nil || adv.fits != 1 {
		t.Errorf("second wave: err %v, %d refits; want the predictions kept for the run", err, adv.fits)
	}
}

// With a free instance on its class the shard keeps it and nothing is
// refitted.
func TestLateBindingKeepsAFreeClass(t *testing.T) {
	adv := &fakeAdvisor{}
	r, req := busyJoin(t, adv, 5)
	moves, err := r.Replan(context.Background(), req)
	if err != nil || len(moves) != 0 {
		t.Fatalf("moves %v, err %v; want none", moves, err)
	}
	if adv.fits != 0 {
		t.Errorf("refitted %d times with a free instance", adv.fits)
	}
}

// A late-bound shard queues on its class for the rest of the wave: the
// class in the move is one the Binder saw as usable.
func TestLateBindingSkipsUnusableClass(t *testing.T) {
	adv := &fakeAdvisor{}
	r, req := busyJoin(t, adv, 1)
	for name, l := range adv.load.Classes {
		if name != "memory-intensive" {
			l.ReadyNodes = 0
			adv.load.Classes[name] = l
		}
	}
	moves, err := r.Replan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range moves {
		if strings.HasPrefix(m.Reason, "late binding") {
			t.Errorf("late binding moved %s to %s, which has no ready node", m.Shards[0].ID, m.Shards[0].Class)
		}
	}
}
