package simulate

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/plan"
)

// TestDispatchHandComputed plays one plan with and without the
// launcher's dispatch model. Class "one" has one instance and a 1 s
// start-up; s1 (4 s) and s2 (2 s) are roots, s3 (1 s) follows s1.
//
// Without a dispatch model: s1 0-5, s2 5-8 (ahead of s3, ready at 0), s3
// 8-10.
//
// With reaction 0.5 s, registration 1 s, one at a time: s1 and s2 reach
// the registrar at 0.5; s1 is registered at 1.5 and placed at once
// (1.5-6.5); s2 is registered at 2.5 and waits in the queue, holding no
// instance, until s1 frees it: placed at 6.5, it pays only the start-up
// there (6.5-9.5). s3 is ready at 6.5, registered at 8 and placed at 9.5
// (9.5-11.5). With two registrations at once s2 is registered at 1.5
// too, which changes nothing else here.
func TestDispatchHandComputed(t *testing.T) {
	p := &plan.Plan{Shards: []*plan.Shard{sh("s1", "one", 4), sh("s2", "one", 2), sh("s3", "one", 1, "s1")}}
	c := cat(class("one", 1, 1e9, time.Second))

	r := mustRun(t, p, c, Options{})
	check(t, r, 10, map[string]want{"s1": {0, 0, 5}, "s2": {0, 5, 8}, "s3": {0, 8, 10}})
	if got := r.Shard("s3").RegisteredSeconds; got != 5 {
		t.Errorf("without dispatch: s3 registered at %v s, want 5 s (when ready)", got)
	}

	d := Dispatch{ReactionSeconds: 0.5, RegisterSeconds: 1, RegisterConcurrency: 1}
	r = mustRun(t, p, c, Options{Dispatch: d, RecordEvents: true})
	check(t, r, 11.5, map[string]want{"s1": {0, 1.5, 6.5}, "s2": {0, 6.5, 9.5}, "s3": {0, 9.5, 11.5}})
	for id, w := range map[string][2]float64{"s1": {0, 1.5}, "s2": {0, 2.5}, "s3": {6.5, 8}} {
		s := r.Shard(id)
		if s.ReadySeconds != w[0] || s.RegisteredSeconds != w[1] {
			t.Errorf("%s: ready %v, registered %v; want %v, %v", id, s.ReadySeconds, s.RegisteredSeconds, w[0], w[1])
		}
	}
	if got := r.Shard("s2").StartupSeconds; got != 1 {
		t.Errorf("queued s2 paid %v s of start-up, want the class's 1 s", got)
	}
	var kinds []EventKind
	for _, e := range r.Events {
		if e.Shard == "s3" {
			kinds = append(kinds, e.Kind)
		}
	}
	if want := []EventKind{EventReady, EventRegistered, EventStart, EventFinish}; !equalKinds(kinds, want) {
		t.Errorf("events of s3 %v, want %v", kinds, want)
	}

	d.RegisterConcurrency = 2
	r = mustRun(t, p, c, Options{Dispatch: d})
	check(t, r, 11.5, map[string]want{"s1": {0, 1.5, 6.5}, "s2": {0, 6.5, 9.5}, "s3": {0, 9.5, 11.5}})
	if got := r.Shard("s2").RegisteredSeconds; got != 1.5 {
		t.Errorf("two at once: s2 registered at %v s, want 1.5 s", got)
	}

	if _, err := Run(p, c, Options{Dispatch: Dispatch{RegisterSeconds: -1}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative registration time: err %v, want ErrInvalid", err)
	}
}

// TestDispatchRegistersAWaveInPlanOrder checks the registrar's bound: six
// roots of 1 s on six instances, registered two at a time at 1 s each,
// are placed in pairs at 1, 2 and 3 s, in plan order, each pair on the
// instances the one before has just freed (0 and 1).
func TestDispatchRegistersAWaveInPlanOrder(t *testing.T) {
	var shards []*plan.Shard
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		shards = append(shards, sh(id, "six", 1))
	}
	r := mustRun(t, &plan.Plan{Shards: shards}, cat(class("six", 6, 1e9, 0)),
		Options{Dispatch: Dispatch{RegisterSeconds: 1, RegisterConcurrency: 2}})
	check(t, r, 4, map[string]want{
		"a": {0, 1, 2}, "b": {1, 1, 2}, "c": {0, 2, 3}, "d": {1, 2, 3}, "e": {0, 3, 4}, "f": {1, 3, 4},
	})
}

// TestDispatchReleaseHandComputed plays the release delay. Class "one"
// has two instances and a 1 s start-up; a (3 s), b (2 s) and c (1 s) are
// roots, d (1 s) follows a. Class "two" has one instance and no start-up;
// x (1 s) is a root, y (1 s) follows c.
//
// Without release: a #0 0-4, b #1 0-3, c (queued) #1 3-5, d #0 4-6; x
// 0-1, y 5-6; makespan 6.
//
// With a 0.5 s release: a #0 0-4 and b #1 0-3 as before; c waits for #1,
// freed at 3 but released at 3.5: c #1 3.5-5.5. a's finish at 4 makes d
// ready at once (the finish is not delayed), but #0 is only released at
// 4.5: d #0 4.5-6.5. y is ready at 5.5 and "two"'s instance, released at
// 1.5, is long free: y 5.5-6.5, placed at once. Makespan 6.5.
func TestDispatchReleaseHandComputed(t *testing.T) {
	p := &plan.Plan{Shards: []*plan.Shard{
		sh("a", "one", 3), sh("b", "one", 2), sh("c", "one", 1), sh("d", "one", 1, "a"),
		sh("x", "two", 1), sh("y", "two", 1, "c"),
	}}
	c := cat(class("one", 2, 1e9, time.Second), class("two", 1, 1e9, 0))

	r := mustRun(t, p, c, Options{})
	check(t, r, 6, map[string]want{
		"a": {0, 0, 4}, "b": {1, 0, 3}, "c": {1, 3, 5}, "d": {0, 4, 6}, "x": {0, 0, 1}, "y": {0, 5, 6},
	})

	r = mustRun(t, p, c, Options{Dispatch: Dispatch{ReleaseSeconds: 0.5}})
	check(t, r, 6.5, map[string]want{
		"a": {0, 0, 4}, "b": {1, 0, 3}, "c": {1, 3.5, 5.5}, "d": {0, 4.5, 6.5}, "x": {0, 0, 1}, "y": {0, 5.5, 6.5},
	})
	if got := r.Shard("d").ReadySeconds; got != 4 {
		t.Errorf("d ready at %v s, want 4 s (a's finish is not delayed)", got)
	}
	if got := r.Shard("d").StartupSeconds; got != 1 {
		t.Errorf("d paid %v s of start-up, want the class's 1 s (the release holds no start-up)", got)
	}

	if _, err := Run(p, c, Options{Dispatch: Dispatch{ReleaseSeconds: -0.5}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative release: err %v, want ErrInvalid", err)
	}
}

// TestDispatchPlacementHandComputed plays the scheduler's time per
// placement. Class "a" has two instances, class "b" one, no start-up;
// x (2 s), y (2 s) and z (1 s) are roots on "a", w (1 s) on "b" follows z.
//
// Without dispatch: x #0 0-2, y #1 0-2, z #0 2-3, w 3-4; makespan 4.
//
// With 1 s per placement: x and y find free instances at 0 and are
// placed one after the other: x at 1 (1-3), y at 2 (2-4). z waited for
// an instance: it takes #0 when x frees it, at 3, without the scheduler
// (3-4). w, ready at 4, finds "b" free: the scheduler (idle since 2)
// places it at 5 (5-6). Makespan 6. With a 0.5 s release as well, z
// takes #0 at 3.5 (3.5-4.5) and w is placed at 5.5 (5.5-6.5).
func TestDispatchPlacementHandComputed(t *testing.T) {
	p := &plan.Plan{Shards: []*plan.Shard{sh("x", "a", 2), sh("y", "a", 2), sh("z", "a", 1), sh("w", "b", 1, "z")}}
	c := cat(class("a", 2, 1e9, 0), class("b", 1, 1e9, 0))

	r := mustRun(t, p, c, Options{})
	check(t, r, 4, map[string]want{"x": {0, 0, 2}, "y": {1, 0, 2}, "z": {0, 2, 3}, "w": {0, 3, 4}})

	r = mustRun(t, p, c, Options{Dispatch: Dispatch{PlaceSeconds: 1}, RecordEvents: true})
	check(t, r, 6, map[string]want{"x": {0, 1, 3}, "y": {1, 2, 4}, "z": {0, 3, 4}, "w": {0, 5, 6}})
	last := 0.0
	for _, e := range r.Events {
		if e.TimeSeconds < last {
			t.Errorf("event %+v recorded after one at %v s", e, last)
		}
		last = e.TimeSeconds
	}

	r = mustRun(t, p, c, Options{Dispatch: Dispatch{PlaceSeconds: 1, ReleaseSeconds: 0.5}})
	check(t, r, 6.5, map[string]want{"x": {0, 1, 3}, "y": {1, 2, 4}, "z": {0, 3.5, 4.5}, "w": {0, 5.5, 6.5}})

	if _, err := Run(p, c, Options{Dispatch: Dispatch{PlaceSeconds: math.NaN()}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NaN placement time: err %v, want ErrInvalid", err)
	}
}

func equalKinds(a, b []EventKind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDispatchCongestionHandComputed plays a release that grows with the
// completion rate: window 2 s, knee 0.5 per second, 1 s per shard per
// second above it, no constant part. Class "one" has one instance and no
// start-up; a, b, c and d (1 s each) are roots queued on it in plan
// order; class "two" runs x and y (1 s) at once on its two instances.
//
// At 1 s a, x and y finish: 3 in (-1, 1] over 2 s is 1.5 per second (a
// is applied first, so counting only the finishes applied before it
// would give 0.5), 1 s above the knee: #0 is released at 2, b runs 2-3.
// At 3, (1, 3] holds b alone (the finishes at 1 are out of the window):
// 0.5 per second, at the knee, so c is placed at once, 3-4. At 4, (2, 4]
// holds b and c: 1 per second, 0.5 s: d runs 4.5-5.5. Makespan 5.5; with
// the same dispatch and no congestion, 4.
func TestDispatchCongestionHandComputed(t *testing.T) {
	p := &plan.Plan{Shards: []*plan.Shard{
		sh("a", "one", 1), sh("b", "one", 1), sh("c", "one", 1), sh("d", "one", 1),
		sh("x", "two", 1), sh("y", "two", 1),
	}}
	c := cat(class("one", 1, 1e9, 0), class("two", 2, 1e9, 0))
	cong := Congestion{WindowSeconds: 2, KneePerSecond: 0.5, SecondsPerRate: 1}

	r := mustRun(t, p, c, Options{Dispatch: Dispatch{Congestion: cong}})
	check(t, r, 5.5, map[string]want{
		"a": {0, 0, 1}, "b": {0, 2, 3}, "c": {0, 3, 4}, "d": {0, 4.5, 5.5}, "x": {0, 0, 1}, "y": {1, 0, 1},
	})
	r = mustRun(t, p, c, Options{})
	check(t, r, 4, map[string]want{"d": {0, 3, 4}})

	// The constant part adds to the congestion's: 0.25 s more at every
	// release, b 2.25-3.25; at 3.25, (1.25, 3.25] holds b: 0.25 s, c
	// 3.5-4.5; at 4.5, b and c: 0.75 s, d 5.25-6.25.
	r = mustRun(t, p, c, Options{Dispatch: Dispatch{ReleaseSeconds: 0.25, Congestion: cong}})
	check(t, r, 6.25, map[string]want{"b": {0, 2.25, 3.25}, "c": {0, 3.5, 4.5}, "d": {0, 5.25, 6.25}})

	for _, bad := range []Congestion{{WindowSeconds: 0, SecondsPerRate: 1}, {WindowSeconds: 2, SecondsPerRate: -1}, {WindowSeconds: math.Inf(1), SecondsPerRate: 1}} {
		if _, err := Run(p, c, Options{Dispatch: Dispatch{Congestion: bad}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("congestion %+v: err %v, want ErrInvalid", bad, err)
		}
	}
}
