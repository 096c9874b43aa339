package simulate

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
)

// spyBinder passes every call to a plan.Binder and records it in order.
type spyBinder struct {
	bd     *plan.Binder
	events []spyEvent
}

type spyEvent struct {
	bind  bool
	shard int
	now   float64
}

func (s *spyBinder) Bind(i int, now float64, v View) string {
	s.events = append(s.events, spyEvent{bind: true, shard: i, now: now})
	return s.bd.Bind(i, now, v)
}

func (s *spyBinder) Finished(i int, class string, now, runtimeSeconds float64, taskSeconds []float64) {
	s.events = append(s.events, spyEvent{shard: i, now: now})
	s.bd.Finished(i, class, now, runtimeSeconds, taskSeconds)
}

// TestBinderLearnsOnlyFromFinishedShards: the in-run correction must
// learn a shard's runtime only once the shard has finished in the
// simulated run, never before a later submission's prediction is made.
// A fan of 12 shards of one type behind a source, with fused pairs and
// too few instances (queueing), played with noise: the binder is told of
// each shard exactly once, at its simulated finish, every call comes in
// time order, and each shard is bound (its prediction made) before it
// starts and before it is reported finished. It fails if the simulator
// tells the binder of a shard at its start, or out of time order.
func TestBinderLearnsOnlyFromFinishedShards(t *testing.T) {
	g := graph.New("g")
	names := []string{"src"}
	for i := 0; i < 12; i++ {
		names = append(names, fmt.Sprintf("w%d", i))
	}
	for _, n := range names {
		sig := "w"
		if n == "src" {
			sig = "src"
		}
		if err := g.AddTask(&graph.Task{Name: n, Signature: sig}); err != nil {
			t.Fatal(err)
		}
	}
	c := cat(class("a", 2, 1e9, time.Second), class("b", 1, 1e9, 0))
	tb := predict.NewTable(len(names), []string{"a", "b"})
	secs := make([][]float64, len(names))
	for ti := range names {
		secs[ti] = []float64{3 + float64(ti%5), 4 + float64(ti%3)}
		for ci := range secs[ti] {
			*tb.At(ti, ci) = predict.Need{Feasible: true, Runtime: predict.Estimate{Value: 5, P90: 8}}
		}
	}
	src := sh("src", "a", 5)
	src.Tasks = []string{"src"}
	shards := []*plan.Shard{src}
	for i := 0; i < 12; i += 2 {
		s := sh(fmt.Sprintf("s%d", i), "a", 10, "src")
		s.Tasks = []string{names[1+i], names[2+i]}
		shards = append(shards, s)
	}
	p := &plan.Plan{Shards: shards}
	for _, noise := range []float64{0, 0.5} {
		spy := &spyBinder{bd: plan.NewBinder(p, g, c, tb, nil)}
		r := mustRun(t, p, c, Options{Actual: TableActual(names, []string{"a", "b"}, secs), Binder: spy, Noise: noise, Seed: 3})
		bound, done := map[int]bool{}, map[int]bool{}
		last := math.Inf(-1)
		for _, e := range spy.events {
			if e.now < last {
				t.Errorf("noise %v: binder called at %v after a call at %v", noise, e.now, last)
			}
			last = e.now
			run := r.Shards[e.shard]
			switch {
			case e.bind:
				if bound[e.shard] || done[e.shard] || e.now > run.StartSeconds {
					t.Errorf("noise %v: shard %d bound at %v (bound before %v, finished %v, started %v)", noise, e.shard, e.now, bound[e.shard], done[e.shard], run.StartSeconds)
				}
				bound[e.shard] = true
			default:
				if done[e.shard] || !bound[e.shard] || math.Abs(e.now-run.FinishSeconds) > 1e-9 {
					t.Errorf("noise %v: shard %d reported finished at %v, its simulated finish is %v (reported before %v, bound %v)", noise, e.shard, e.now, run.FinishSeconds, done[e.shard], bound[e.shard])
				}
				done[e.shard] = true
			}
		}
		if len(bound) != len(shards) || len(done) != len(shards) {
			t.Errorf("noise %v: %d shards bound and %d reported finished, want %d", noise, len(bound), len(done), len(shards))
		}
	}
}
