package simulate

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
)

// class is a test class: name, instances, bandwidth in bytes/s, start-up.
func class(name string, instances int, bw float64, startup time.Duration) *catalog.Class {
	return &catalog.Class{Name: name, Instances: instances, BandwidthBytes: bw, Startup: startup}
}

func cat(classes ...*catalog.Class) *catalog.Catalog { return &catalog.Catalog{Classes: classes} }

// sh is a shard of runtime rt seconds on class cl waiting on up.
func sh(id, cl string, rt float64, up ...string) *plan.Shard {
	return &plan.Shard{ID: id, Class: cl, RuntimeSeconds: plan.Estimate{Value: rt}, Upstream: up}
}

func ch(from, to string, bytes int64) *plan.Channel {
	return &plan.Channel{ID: from + "-" + to, From: from, To: to, Bytes: bytes}
}

func mustRun(t *testing.T, p *plan.Plan, c *catalog.Catalog, opts Options) *Result {
	t.Helper()
	r, err := Run(p, c, opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r
}

// want is a shard's expected instance, start and finish (seconds).
type want struct {
	inst          int
	start, finish float64
}

func check(t *testing.T, r *Result, makespan float64, shards map[string]want) {
	t.Helper()
	if r.MakespanSeconds != makespan {
		t.Errorf("makespan = %v s, want %v s", r.MakespanSeconds, makespan)
	}
	for id, w := range shards {
		s := r.Shard(id)
		if s == nil {
			t.Errorf("shard %s missing from result", id)
			continue
		}
		if s.Instance != w.inst || s.StartSeconds != w.start || s.FinishSeconds != w.finish {
			t.Errorf("%s: instance %d, %v-%v s; want instance %d, %v-%v s",
				id, s.Instance, s.StartSeconds, s.FinishSeconds, w.inst, w.start, w.finish)
		}
	}
}

func TestChainOnOneClass(t *testing.T) {
	// a(10) -> b(20) -> c(5): 0-10, 10-30, 30-35 whatever the capacity.
	p := &plan.Plan{Shards: []*plan.Shard{sh("a", "cpu", 10), sh("b", "cpu", 20, "a"), sh("c", "cpu", 5, "b")}}
	for _, n := range []int{1, 4} {
		r := mustRun(t, p, cat(class("cpu", n, 1e9, 0)), Options{})
		check(t, r, 35, map[string]want{"a": {0, 0, 10}, "b": {0, 10, 30}, "c": {0, 30, 35}})
		if got, wantU := r.Classes[0].Utilisation, 35/(float64(n)*35); got != wantU {
			t.Errorf("%d instances: utilisation %v, want %v", n, got, wantU)
		}
	}
}

func forkJoin() *plan.Plan {
	return &plan.Plan{Shards: []*plan.Shard{
		sh("src", "cpu", 2),
		sh("a", "cpu", 3, "src"), sh("b", "cpu", 4, "src"), sh("c", "cpu", 5, "src"),
		sh("sink", "cpu", 1, "a", "b", "c"),
	}}
}

func TestForkJoinCapacityOneSerialises(t *testing.T) {
	// a, b, c are ready together at 2 and run one after another in plan
	// order: 2-5, 5-9, 9-14; sink 14-15.
	r := mustRun(t, forkJoin(), cat(class("cpu", 1, 1e9, 0)), Options{})
	check(t, r, 15, map[string]want{
		"src": {0, 0, 2}, "a": {0, 2, 5}, "b": {0, 5, 9}, "c": {0, 9, 14}, "sink": {0, 14, 15},
	})
	if s := r.Shard("c"); s.ReadySeconds != 2 || s.WaitSeconds() != 7 {
		t.Errorf("c ready %v s, waited %v s; want 2 s, 7 s", s.ReadySeconds, s.WaitSeconds())
	}
	if r.Classes[0].Utilisation != 1 {
		t.Errorf("utilisation %v, want 1", r.Classes[0].Utilisation)
	}
}

func TestQueueIgnoresBookedStart(t *testing.T) {
	// The plan books c before a and b (start 2, 5, 9 s), but the launcher
	// submits a, b and c together when src completes and Nomad places them
	// first come, first served: ready time, then plan order. On one
	// instance: a 2-5, b 5-9, c 9-14; sink 14-15.
	p := forkJoin()
	for id, at := range map[string]float64{"src": 0, "a": 5, "b": 9, "c": 2, "sink": 14} {
		for _, s := range p.Shards {
			if s.ID == id {
				s.StartSeconds = at
			}
		}
	}
	r := mustRun(t, p, cat(class("cpu", 1, 1e9, 0)), Options{})
	check(t, r, 15, map[string]want{
		"src": {0, 0, 2}, "a": {0, 2, 5}, "b": {0, 5, 9}, "c": {0, 9, 14}, "sink": {0, 14, 15},
	})
	// Ready time beats plan order: late is first in the plan and booked
	// first, but becomes ready at 4 (after slow), when b (ready at 2) has
	// taken the only instance: b 2-6, late 6-9.
	q := &plan.Plan{Shards: []*plan.Shard{
		sh("late", "cpu", 3, "slow"), sh("src", "gpu", 2), sh("slow", "gpu", 4), sh("b", "cpu", 4, "src"),
	}}
	q.Shards[0].StartSeconds, q.Shards[3].StartSeconds = 4, 9
	r = mustRun(t, q, cat(class("cpu", 1, 1e9, 0), class("gpu", 2, 1e9, 0)), Options{})
	check(t, r, 9, map[string]want{"src": {0, 0, 2}, "slow": {1, 0, 4}, "b": {0, 2, 6}, "late": {0, 6, 9}})
}

// TestActualRuntimesHandComputed plays a plan whose predictions are off
// with the tasks' actual runtimes, worked out by hand:
//
//	f    = fused t1+t2 on cpu (1 instance, start-up 1 s): predicted 5 s,
//	       actual 3 + 4 = 7 s: 0-8.
//	s-0, s-1 = pieces of split task s (items 1 and 3) on mem (2 instances,
//	       no start-up), after f: predicted 2 s each; s takes 8 s on mem,
//	       so 8 x 1/4 = 2 s (8-10) and 8 x 3/4 = 6 s (8-14).
//	g    = t3 on cpu after f's 1e9-byte channel (1 s at 1e9 B/s): ready 9,
//	       predicted 1 s, actual 10 s: 9-20 with its start-up.
//	sink = t4 on mem after s-0, s-1, g: ready 20, actual 1 s: 20-21 on
//	       instance 0.
//
// Makespan 21 s; with the predictions it would be 10 s.
func TestActualRuntimesHandComputed(t *testing.T) {
	f := sh("f", "cpu", 5)
	f.Tasks = []string{"t1", "t2"}
	s0, s1 := sh("s-0", "mem", 2, "f"), sh("s-1", "mem", 2, "f")
	s0.Tasks, s1.Tasks = []string{"s"}, []string{"s"}
	s0.Split = &plan.Split{Task: "s", Index: 0, Count: 2, Items: 1}
	s1.Split = &plan.Split{Task: "s", Index: 1, Count: 2, Items: 3}
	g := sh("g", "cpu", 1)
	g.Tasks = []string{"t3"}
	sink := sh("sink", "mem", 1, "s-0", "s-1", "g")
	sink.Tasks = []string{"t4"}
	p := &plan.Plan{Shards: []*plan.Shard{f, s0, s1, g, sink}, Channels: []*plan.Channel{ch("f", "g", 1e9)}}
	c := cat(class("cpu", 1, 1e9, time.Second), class("mem", 2, 1e9, 0))

	predicted := mustRun(t, p, c, Options{})
	if predicted.MakespanSeconds != 10 {
		t.Fatalf("predicted makespan %v s, want 10 s", predicted.MakespanSeconds)
	}
	act := TableActual([]string{"t1", "t2", "s", "t3", "t4"}, []string{"cpu", "mem"}, [][]float64{
		{3, 30}, {4, 40}, {100, 8}, {10, 1}, {50, 1},
	})
	r := mustRun(t, p, c, Options{Actual: act})
	check(t, r, 21, map[string]want{
		"f": {0, 0, 8}, "s-0": {0, 8, 10}, "s-1": {1, 8, 14}, "g": {0, 9, 20}, "sink": {0, 20, 21},
	})
	if got := r.Shard("f").RuntimeSeconds; got != 7 {
		t.Errorf("fused shard runtime %v s, want 7 s", got)
	}
	if p.Shards[0].RuntimeSeconds.Value != 5 {
		t.Error("Run changed the plan's prediction")
	}

	// A task without an actual runtime on its shard's class is an error.
	partial := TableActual([]string{"t1", "t2", "s", "t3"}, []string{"cpu", "mem"}, [][]float64{
		{3, 30}, {4, 40}, {100, 8}, {10, 1},
	})
	if _, err := Run(p, c, Options{Actual: partial}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"t4"`) {
		t.Errorf("missing actual runtime: err = %v, want ErrInvalid naming t4", err)
	}
}

func TestForkJoinCapacityThreeRunsInParallel(t *testing.T) {
	// a, b, c on instances 0, 1, 2 from 2; sink on the lowest free (0) at 7.
	r := mustRun(t, forkJoin(), cat(class("cpu", 3, 1e9, 0)), Options{})
	check(t, r, 8, map[string]want{
		"src": {0, 0, 2}, "a": {0, 2, 5}, "b": {1, 2, 6}, "c": {2, 2, 7}, "sink": {0, 7, 8},
	})
	// busy 2+3+4+5+1 = 15 instance-s of 3 x 8.
	if got := r.Classes[0].Utilisation; got != 15.0/24 {
		t.Errorf("utilisation %v, want %v", got, 15.0/24)
	}
	if r.Classes[0].InstancesUsed != 3 {
		t.Errorf("instances used %d, want 3", r.Classes[0].InstancesUsed)
	}
}

func TestQueueOrderIsReadyTimeThenPlanOrder(t *testing.T) {
	// "one" has one instance, held by e from 0 to 5. b is ready at 2 (after
	// u), a at 3 (after u2): b runs first although a comes first in the
	// plan. x and y are ready together at 0 behind e and keep plan order.
	p := &plan.Plan{Shards: []*plan.Shard{
		sh("u", "other", 2), sh("u2", "other", 3),
		sh("e", "one", 5), sh("a", "one", 1, "u2"), sh("b", "one", 1, "u"),
		sh("x", "one", 1), sh("y", "one", 1),
	}}
	r := mustRun(t, p, cat(class("one", 1, 1e9, 0), class("other", 2, 1e9, 0)), Options{})
	check(t, r, 9, map[string]want{
		"e": {0, 0, 5}, "x": {0, 5, 6}, "y": {0, 6, 7}, "b": {0, 7, 8}, "a": {0, 8, 9},
	})
}

func TestTransfersUseSlowerBandwidth(t *testing.T) {
	// fast: 100 B/s, slow: 50 B/s.
	// p1 (fast, 10 s) -> c (slow): 500 B / 50 B/s = 10 s, arrives at 20.
	// p2 (fast, 4 s) -> c: 1000 B / 50 B/s = 20 s, arrives at 24.
	// p1 -> q (fast): 1000 B / 100 B/s = 10 s, arrives at 20.
	// p2 -> z (slow): 0 B, arrives at 4.
	// c: 24-29, q: 20-23, z: 4-5.
	p := &plan.Plan{
		Shards: []*plan.Shard{
			sh("p1", "fast", 10), sh("p2", "fast", 4),
			sh("c", "slow", 5, "p1", "p2"), sh("q", "fast", 3, "p1"), sh("z", "slow", 1, "p2"),
		},
		Channels: []*plan.Channel{ch("p1", "c", 500), ch("p2", "c", 1000), ch("p1", "q", 1000), ch("p2", "z", 0)},
	}
	r := mustRun(t, p, cat(class("fast", 2, 100, 0), class("slow", 2, 50, 0)), Options{})
	check(t, r, 29, map[string]want{
		"p1": {0, 0, 10}, "p2": {1, 0, 4}, "c": {0, 24, 29}, "q": {0, 20, 23}, "z": {0, 4, 5},
	})
	if r.BytesMoved != 2500 {
		t.Errorf("bytes moved %d, want 2500", r.BytesMoved)
	}
	if r.Shard("c").ReadySeconds != 24 {
		t.Errorf("c ready at %v s, want 24 s", r.Shard("c").ReadySeconds)
	}
}

func TestChannelWithoutUpstreamStillOrders(t *testing.T) {
	// The channel alone makes b wait: 8 B at 4 B/s = 2 s after a (3 s).
	p := &plan.Plan{
		Shards:   []*plan.Shard{sh("a", "cpu", 3), sh("b", "cpu", 1)},
		Channels: []*plan.Channel{ch("a", "b", 8)},
	}
	r := mustRun(t, p, cat(class("cpu", 2, 4, 0)), Options{})
	check(t, r, 6, map[string]want{"a": {0, 0, 3}, "b": {0, 5, 6}})
}

func TestStartupLatency(t *testing.T) {
	// Start-up 3 s. src: 0-5 (3+2); a, b: 5-12 (3+4) on instances 0 and 1.
	p := &plan.Plan{Shards: []*plan.Shard{sh("src", "cpu", 2), sh("a", "cpu", 4, "src"), sh("b", "cpu", 4, "src")}}
	r := mustRun(t, p, cat(class("cpu", 2, 1e9, 3*time.Second)), Options{})
	check(t, r, 12, map[string]want{"src": {0, 0, 5}, "a": {0, 5, 12}, "b": {1, 5, 12}})
	cs := r.Classes[0]
	if cs.BusySeconds != 19 || cs.StartupSeconds != 9 || cs.Utilisation != 19.0/24 {
		t.Errorf("class stats %+v; want busy 19 s, start-up 9 s, utilisation 19/24", cs)
	}
	if s := r.Shard("a"); s.StartupSeconds != 3 || s.RuntimeSeconds != 4 {
		t.Errorf("a: start-up %v s, runtime %v s; want 3 s, 4 s", s.StartupSeconds, s.RuntimeSeconds)
	}
}

func TestSplitPiecesShareTwoInstances(t *testing.T) {
	// Three 6 s pieces on two instances: 0-6, 0-6, 6-12; merge 12-13.
	p := &plan.Plan{}
	for i, id := range []string{"t-0", "t-1", "t-2"} {
		s := sh(id, "cpu", 6)
		s.Job, s.Split = "t", &plan.Split{Task: "t", Index: i, Count: 3}
		p.Shards = append(p.Shards, s)
	}
	p.Shards = append(p.Shards, sh("merge", "mem", 1, "t-0", "t-1", "t-2"))
	r := mustRun(t, p, cat(class("cpu", 2, 1e9, 0), class("mem", 1, 1e9, 0)), Options{})
	check(t, r, 13, map[string]want{"t-0": {0, 0, 6}, "t-1": {1, 0, 6}, "t-2": {0, 6, 12}, "merge": {0, 12, 13}})
	if r.Allocations != 4 {
		t.Errorf("allocations %d, want 4", r.Allocations)
	}
	if got := r.Classes[0].Utilisation; got != 18.0/26 {
		t.Errorf("cpu utilisation %v, want 18/26", got)
	}
}

func TestZeroDurations(t *testing.T) {
	p := &plan.Plan{Shards: []*plan.Shard{sh("a", "cpu", 0), sh("b", "cpu", 0, "a")}}
	r := mustRun(t, p, cat(class("cpu", 1, 1e9, 0)), Options{})
	check(t, r, 0, map[string]want{"a": {0, 0, 0}, "b": {0, 0, 0}})
	if u := r.Classes[0].Utilisation; u != 0 {
		t.Errorf("utilisation %v, want 0 for a zero makespan", u)
	}
	empty := mustRun(t, &plan.Plan{}, cat(), Options{})
	if empty.MakespanSeconds != 0 || empty.Allocations != 0 || len(empty.Classes) != 0 {
		t.Errorf("empty plan: %+v", empty)
	}
}

func TestEvents(t *testing.T) {
	p := &plan.Plan{
		Shards:   []*plan.Shard{sh("a", "cpu", 1), sh("b", "cpu", 1, "a")},
		Channels: []*plan.Channel{ch("a", "b", 2)},
	}
	r := mustRun(t, p, cat(class("cpu", 1, 1, 0)), Options{RecordEvents: true})
	var got []string
	for _, e := range r.Events {
		got = append(got, strings.Join([]string{e.Shard, string(e.Kind), secs(e.TimeSeconds)}, " "))
	}
	wantEv := []string{
		"a ready 0", "a start 0", "a finish 1", "b transfer 1", "b arrive 3",
		"b ready 3", "b start 3", "b finish 4",
	}
	if !reflect.DeepEqual(got, wantEv) {
		t.Errorf("events\n got %q\nwant %q", got, wantEv)
	}
	if r2 := mustRun(t, p, cat(class("cpu", 1, 1, 0)), Options{}); r2.Events != nil {
		t.Errorf("events recorded without RecordEvents")
	}
}

func noisyPlan() *plan.Plan {
	p := &plan.Plan{}
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		p.Shards = append(p.Shards, sh(id, "cpu", 10))
	}
	return p
}

func TestNoiseIsDeterministic(t *testing.T) {
	c := cat(class("cpu", 2, 1e9, 0))
	r1 := mustRun(t, noisyPlan(), c, Options{Noise: 0.3, Seed: 7, RecordEvents: true})
	r2 := mustRun(t, noisyPlan(), c, Options{Noise: 0.3, Seed: 7, RecordEvents: true})
	if !reflect.DeepEqual(r1, r2) {
		t.Error("same seed gave different results")
	}
	r3 := mustRun(t, noisyPlan(), c, Options{Noise: 0.3, Seed: 8})
	if r3.MakespanSeconds == r1.MakespanSeconds {
		t.Errorf("seeds 7 and 8 gave the same makespan %v s", r1.MakespanSeconds)
	}
	exact := mustRun(t, noisyPlan(), c, Options{Seed: 7})
	if exact.MakespanSeconds != 30 {
		t.Errorf("noise 0: makespan %v s, want 30 s", exact.MakespanSeconds)
	}
	for _, s := range r1.Shards {
		if s.RuntimeSeconds == 10 || s.RuntimeSeconds <= 0 {
			t.Errorf("%s: noisy runtime %v s", s.ID, s.RuntimeSeconds)
		}
	}
}

func TestNoiseHasMeanOneAndGivenSpread(t *testing.T) {
	const n, cv = 20000, 0.25
	p := &plan.Plan{}
	for i := 0; i < n; i++ {
		p.Shards = append(p.Shards, sh("s"+secs(float64(i)), "cpu", 1))
	}
	r := mustRun(t, p, cat(class("cpu", n, 1e9, 0)), Options{Noise: cv, Seed: 1})
	var sum, sq float64
	for _, s := range r.Shards {
		sum += s.RuntimeSeconds
		sq += s.RuntimeSeconds * s.RuntimeSeconds
	}
	mean := sum / n
	sd := math.Sqrt(sq/n - mean*mean)
	// Standard error of the mean is cv/sqrt(n) ~ 0.0018.
	if math.Abs(mean-1) > 0.01 || math.Abs(sd-cv) > 0.02 {
		t.Errorf("noise factor mean %v, sd %v; want 1, %v", mean, sd, cv)
	}
}

func TestErrors(t *testing.T) {
	c := cat(class("cpu", 1, 1e9, 0), class("none", 0, 1e9, 0), class("nobw", 1, 0, 0))
	tests := []struct {
		name string
		p    *plan.Plan
		opts Options
		want error
		text string
	}{
		{"unknown class", &plan.Plan{Shards: []*plan.Shard{sh("a", "gpu", 1)}}, Options{}, ErrUnknownClass, `"gpu"`},
		{"unknown upstream", &plan.Plan{Shards: []*plan.Shard{sh("a", "cpu", 1, "ghost")}}, Options{}, ErrUnknownShard, `"ghost"`},
		{"unknown channel end", &plan.Plan{Shards: []*plan.Shard{sh("a", "cpu", 1)}, Channels: []*plan.Channel{ch("a", "ghost", 1)}}, Options{}, ErrUnknownShard, `"ghost"`},
		{"duplicate id", &plan.Plan{Shards: []*plan.Shard{sh("a", "cpu", 1), sh("a", "cpu", 1)}}, Options{}, ErrUnknownShard, `"a"`},
		{"no instances", &plan.Plan{Shards: []*plan.Shard{sh("a", "none", 1)}}, Options{}, ErrInstances, "none"},
		{"no bandwidth", &plan.Plan{Shards: []*plan.Shard{sh("a", "nobw", 1), sh("b", "cpu", 1)}, Channels: []*plan.Channel{ch("a", "b", 5)}}, Options{}, ErrBandwidth, "nobw"},
		{"negative runtime", &plan.Plan{Shards: []*plan.Shard{sh("a", "cpu", -1)}}, Options{}, ErrInvalid, "runtime"},
		{"negative noise", &plan.Plan{}, Options{Noise: -0.1}, ErrInvalid, "noise"},
		{"NaN noise", &plan.Plan{}, Options{Noise: math.NaN()}, ErrInvalid, "noise"},
		{"noise whose square overflows", &plan.Plan{}, Options{Noise: 1e160}, ErrInvalid, "noise"},
		{"infinite noise", &plan.Plan{}, Options{Noise: math.Inf(1)}, ErrInvalid, "noise"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(tc.p, c, tc.opts)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("err = %v; want %v mentioning %s", err, tc.want, tc.text)
			}
		})
	}
}

func TestCycleIsNamed(t *testing.T) {
	c := cat(class("cpu", 1, 1e9, 0))
	tests := []struct {
		name string
		p    *plan.Plan
		want []string
	}{
		{"upstream", &plan.Plan{Shards: []*plan.Shard{
			sh("root", "cpu", 1), sh("a", "cpu", 1, "root", "c"), sh("b", "cpu", 1, "a"),
			sh("c", "cpu", 1, "b"), sh("after", "cpu", 1, "a"),
		}}, []string{"a", "b", "c", "a"}},
		{"channel", &plan.Plan{
			Shards:   []*plan.Shard{sh("a", "cpu", 1), sh("b", "cpu", 1, "a")},
			Channels: []*plan.Channel{ch("b", "a", 1)},
		}, []string{"a", "b", "a"}},
		{"self", &plan.Plan{Shards: []*plan.Shard{sh("a", "cpu", 1, "a")}}, []string{"a", "a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(tc.p, c, Options{})
			var ce *CycleError
			if !errors.As(err, &ce) || !reflect.DeepEqual(ce.Shards, tc.want) {
				t.Fatalf("err = %v; want a cycle %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), strings.Join(tc.want, " -> ")) {
				t.Errorf("message %q does not name the cycle", err)
			}
		})
	}
}

func TestRunDoesNotModifyPlan(t *testing.T) {
	p := forkJoin()
	before := *p.Shards[1]
	mustRun(t, p, cat(class("cpu", 1, 1e9, 0)), Options{Noise: 0.5, Seed: 3})
	if !reflect.DeepEqual(*p.Shards[1], before) {
		t.Error("Run modified the plan")
	}
}
