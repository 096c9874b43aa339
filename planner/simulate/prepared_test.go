package simulate

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/plan"
)

// TestPreparedRunSameAsRun checks that a prepared plan, run with any
// options, gives what Run gives from scratch (results deep-equal, or the
// same error), one run after another and many at once on the same
// Prepared.
func TestPreparedRunSameAsRun(t *testing.T) {
	f := sh("f", "cpu", 5)
	f.Tasks = []string{"t1", "t2"}
	s0, s1 := sh("s-0", "mem", 2, "f"), sh("s-1", "mem", 2, "f")
	s0.Tasks, s1.Tasks = []string{"s"}, []string{"s"}
	s0.Split = &plan.Split{Task: "s", Index: 0, Count: 2, Items: 1}
	s1.Split = &plan.Split{Task: "s", Index: 1, Count: 2, Items: 3}
	g := sh("g", "cpu", 1)
	g.Tasks = []string{"t3"}
	sink := sh("sink", "mem", 1, "s-0", "s-1", "g", "g")
	sink.Tasks = []string{"t4"}
	p := &plan.Plan{Shards: []*plan.Shard{f, s0, s1, g, sink}, Channels: []*plan.Channel{ch("f", "g", 1e9), ch("g", "sink", 0)}}
	c := cat(class("cpu", 1, 1e9, time.Second), class("mem", 2, 1e9, 0), class("spare", 1, 1e9, 0))
	act := TableActual([]string{"t1", "t2", "s", "t3", "t4"}, []string{"cpu", "mem", "spare"}, [][]float64{
		{3, 30, 1}, {4, 40, 1}, {100, 8, 1}, {10, 1, 1}, {50, 1, 1},
	})
	partial := TableActual([]string{"t1", "t2", "s", "t3"}, []string{"cpu", "mem"}, [][]float64{
		{3, 30}, {4, 40}, {100, 8}, {10, 1},
	})
	options := []Options{
		{},
		{Actual: act},
		{Noise: 0.3, Seed: 7},
		{Actual: act, Noise: 0.2, Seed: 1, RecordEvents: true,
			Dispatch: Dispatch{ReactionSeconds: 0.5, RegisterSeconds: 0.25, RegisterConcurrency: 1, ReleaseSeconds: 1, PlaceSeconds: 0.1}},
		{Actual: partial},
		{Noise: -1},
		{Actual: act, Binder: moveAll{to: "spare"}},
		{Binder: moveAll{to: "spare"}},
	}
	pr, err := Prepare(p, c)
	if err != nil {
		t.Fatal(err)
	}
	same := func(i int, got *Result, gotErr error) error {
		want, wantErr := Run(p, c, options[i])
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
			return fmt.Errorf("options #%d: prepared %+v, %v; Run %+v, %v", i, got, gotErr, want, wantErr)
		}
		return nil
	}
	for i, opts := range options {
		r, err := pr.Run(opts)
		if err := same(i, r, err); err != nil {
			t.Error(err)
		}
	}
	errs := make([]error, 4*len(options))
	var wg sync.WaitGroup
	for k := range errs {
		wg.Go(func() {
			r, err := pr.Run(options[k%len(options)])
			errs[k] = same(k%len(options), r, err)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Errorf("concurrent runs: %v", err)
	}
}

// moveAll is a Binder that submits every shard on one class.
type moveAll struct{ to string }

func (b moveAll) Bind(int, float64, View) string                  { return b.to }
func (moveAll) Finished(int, string, float64, float64, []float64) {}

// TestPrepareErrors checks that Prepare returns Run's errors about the
// plan and the catalog.
func TestPrepareErrors(t *testing.T) {
	c := cat(class("cpu", 1, 1e9, 0), class("none", 0, 1e9, 0))
	for _, p := range []*plan.Plan{
		{Shards: []*plan.Shard{sh("a", "gpu", 1)}},
		{Shards: []*plan.Shard{sh("a", "cpu", 1, "ghost")}},
		{Shards: []*plan.Shard{sh("a", "none", 1)}},
		{Shards: []*plan.Shard{sh("a", "cpu", 1, "b"), sh("b", "cpu", 1, "a")}},
	} {
		_, want := Run(p, c, Options{})
		if _, err := Prepare(p, c); want == nil || fmt.Sprint(err) != fmt.Sprint(want) {
			t.Errorf("Prepare: %v; Run: %v", err, want)
		}
	}
	if _, err := Prepare(nil, c); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil plan: %v", err)
	}
}
