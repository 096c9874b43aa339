package place

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"testing"
)

// oneClass returns a class with n instances, bandwidth bw bytes/s and
// start-up su seconds.
func oneClass(name string, n int, bw, su float64) Class {
	return Class{Name: name, Instances: n, BandwidthBytes: bw, StartupSeconds: su}
}

// edges appends edges given as (from, to, bytes) triples.
func (p *Problem) edges(es ...[3]float64) *Problem {
	for _, e := range es {
		p.EdgeFrom = append(p.EdgeFrom, int32(e[0]))
		p.EdgeTo = append(p.EdgeTo, int32(e[1]))
		p.EdgeBytes = append(p.EdgeBytes, e[2])
	}
	return p
}

func mustRun(t *testing.T, p *Problem, opt Options) *Schedule {
	t.Helper()
	s, err := Run(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkSchedule(t, p, s)
	return s
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestChain(t *testing.T) {
	// 10 s, 20 s, 30 s in a chain on one class, 1 s start-up, 100 bytes at
	// 10 bytes/s per edge: 11 + 10 + 21 + 10 + 31 = 83 s.
	p := (&Problem{
		Classes: []Class{oneClass("a", 4, 10, 1)},
		Nodes:   3, Runtime: []float64{10, 20, 30},
	}).edges([3]float64{0, 1, 100}, [3]float64{1, 2, 100})
	for _, ins := range []bool{false, true} {
		s := mustRun(t, p, Options{Insertion: ins})
		if !near(s.Makespan, 83) {
			t.Errorf("insertion=%v: makespan %g, want 83", ins, s.Makespan)
		}
		if got := s.CriticalPath(); !slices.Equal(got, []int32{0, 1, 2}) {
			t.Errorf("critical path %v", got)
		}
	}
	// Ranks: 31, 21+10+31 = 62, 11+10+62 = 83.
	r, err := UpwardRank(p)
	if err != nil || !near(r[0], 83) || !near(r[1], 62) || !near(r[2], 31) {
		t.Errorf("ranks %v, %v", r, err)
	}
}

func TestGroupTransfersFree(t *testing.T) {
	p := (&Problem{
		Classes: []Class{oneClass("a", 1, 10, 0)},
		Nodes:   2, Runtime: []float64{10, 20}, Group: []int32{7, 7},
	}).edges([3]float64{0, 1, 1000})
	if s := mustRun(t, p, Options{}); !near(s.Makespan, 30) {
		t.Errorf("makespan %g, want 30", s.Makespan)
	}
}

// forkJoin is A(10) -> {B(20), C(30)} -> D(10) with free transfers.
func forkJoin(instances int) *Problem {
	return (&Problem{
		Classes: []Class{oneClass("a", instances, math.Inf(1), 0)},
		Nodes:   4, Runtime: []float64{10, 20, 30, 10},
	}).edges([3]float64{0, 1, 0}, [3]float64{0, 2, 0}, [3]float64{1, 3, 0}, [3]float64{2, 3, 0})
}

func TestForkJoin(t *testing.T) {
	s := mustRun(t, forkJoin(2), Options{})
	if !near(s.Makespan, 50) || !slices.Equal(s.CriticalPath(), []int32{0, 2, 3}) {
		t.Errorf("2 instances: makespan %g path %v, want 50 [0 2 3]", s.Makespan, s.CriticalPath())
	}
	// One instance: C (rank 40) runs before B (rank 30), B waits for it.
	s = mustRun(t, forkJoin(1), Options{})
	if !near(s.Makespan, 70) || !near(s.Start[1], 40) || !near(s.Start[2], 10) {
		t.Errorf("1 instance: makespan %g starts %v, want 70 with C at 10, B at 40", s.Makespan, s.Start)
	}
	if got := s.CriticalPath(); !slices.Equal(got, []int32{0, 2, 1, 3}) {
		t.Errorf("1 instance: critical path %v, want [0 2 1 3]", got)
	}
}

func TestHeterogeneousAndInfeasible(t *testing.T) {
	inf := Infeasible
	// Two classes; node 0 runs 100 s on a, 10 s on b; node 1 cannot run on
	// b. Transfer 1000 bytes at min(100, 1000) = 100 bytes/s = 10 s.
	p := (&Problem{
		Classes: []Class{oneClass("a", 1, 100, 0), oneClass("b", 1, 1000, 5)},
		Nodes:   2, Runtime: []float64{100, 10, 20, inf},
	}).edges([3]float64{0, 1, 1000})
	s := mustRun(t, p, Options{Alternatives: true})
	// Node 0 on b: 0 + 5 + 10 = 15; node 1 on a: 15 + 10 + 20 = 45.
	if s.Class[0] != 1 || s.Class[1] != 0 || !near(s.Makespan, 45) {
		t.Errorf("classes %v makespan %g, want [1 0] 45", s.Class, s.Makespan)
	}
	if !near(s.AltFinish(0, 0), 100) || !math.IsInf(s.AltFinish(1, 1), 1) {
		t.Errorf("alternatives %v", s.Alt)
	}
}

func TestPin(t *testing.T) {
	p := &Problem{
		Classes: []Class{oneClass("a", 1, 1, 0), oneClass("b", 1, 1, 0)},
		Nodes:   1, Runtime: []float64{100, 10}, Pin: []int32{0},
	}
	s := mustRun(t, p, Options{Alternatives: true})
	if s.Class[0] != 0 || !near(s.Makespan, 100) || !near(s.AltFinish(0, 1), 10) {
		t.Errorf("pinned: class %d makespan %g alt %v", s.Class[0], s.Makespan, s.Alt)
	}
}

func TestInsertionFillsGap(t *testing.T) {
	// One instance. A(1) -> B(5) with a 10 s transfer; D(3) independent.
	// Order A (rank 16), B (5), D (3). Non-insertion appends D after B at
	// 16 -> 19; insertion puts it in the idle gap [1, 11).
	p := (&Problem{
		Classes: []Class{oneClass("a", 1, 10, 0)},
		Nodes:   3, Runtime: []float64{1, 5, 3},
	}).edges([3]float64{0, 1, 100})
	if s := mustRun(t, p, Options{}); !near(s.Makespan, 19) {
		t.Errorf("non-insertion makespan %g, want 19", s.Makespan)
	}
	s := mustRun(t, p, Options{Insertion: true})
	if !near(s.Makespan, 16) || !near(s.Start[2], 1) {
		t.Errorf("insertion makespan %g start(D) %g, want 16 and 1", s.Makespan, s.Start[2])
	}
}

func TestErrors(t *testing.T) {
	good := func() *Problem {
		return (&Problem{Classes: []Class{oneClass("a", 1, 1, 0)}, Nodes: 2, Runtime: []float64{1, 1}}).
			edges([3]float64{0, 1, 0})
	}
	cases := map[string]func(p *Problem){
		"cycle":         func(p *Problem) { p.edges([3]float64{1, 0, 0}) },
		"self edge":     func(p *Problem) { p.edges([3]float64{1, 1, 0}) },
		"no instances":  func(p *Problem) { p.Classes[0].Instances = 0 },
		"zero bw":       func(p *Problem) { p.Classes[0].BandwidthBytes = 0 },
		"short runtime": func(p *Problem) { p.Runtime = p.Runtime[:1] },
		"no class":      func(p *Problem) { p.Runtime[1] = Infeasible },
		"bad pin":       func(p *Problem) { p.Pin = []int32{-1, 3} },
		"negative":      func(p *Problem) { p.EdgeBytes[0] = -1 },
	}
	for name, spoil := range cases {
		p := good()
		spoil(p)
		if _, err := Run(p, Options{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// randomProblem returns a layered random DAG over three classes.
func randomProblem(r *rand.Rand, n int) *Problem {
	cl := []Class{oneClass("a", 2, 1e8, 2), oneClass("b", 3, 5e8, 10), oneClass("c", 1, 1e9, 0)}
	p := &Problem{Classes: cl, Nodes: n, Runtime: make([]float64, n*len(cl)), Group: make([]int32, n)}
	for v := 0; v < n; v++ {
		base := 1 + r.Float64()*100
		for c := range cl {
			p.Runtime[v*len(cl)+c] = base * (0.2 + r.Float64()*2)
		}
		if r.IntN(10) == 0 {
			p.Runtime[v*len(cl)+r.IntN(len(cl))] = Infeasible
		}
		p.Group[v] = int32(v / 3)
		for k := 0; v > 0 && k < 1+r.IntN(3); k++ {
			p.edges([3]float64{float64(r.IntN(v)), float64(v), float64(r.IntN(1 << 30))})
		}
	}
	return p
}

// checkSchedule verifies precedence with transfers, instance exclusivity,
// feasibility and durations.
func checkSchedule(t *testing.T, p *Problem, s *Schedule) {
	t.Helper()
	nc := len(p.Classes)
	for e := range p.EdgeFrom {
		f, to := p.EdgeFrom[e], p.EdgeTo[e]
		need := s.Finish[f]
		if !p.sameGroup(int(f), int(to)) {
			need += p.Transfer(p.EdgeBytes[e], int(s.Class[f]), int(s.Class[to]))
		}
		if s.Start[to] < need-1e-9 {
			t.Fatalf("edge %d->%d: start %g before data at %g", f, to, s.Start[to], need)
		}
	}
	type slot struct{ c, i int32 }
	byInst := map[slot][]int{}
	for n := 0; n < p.Nodes; n++ {
		c := int(s.Class[n])
		if !p.feasible(n, c) || (p.Pin != nil && p.Pin[n] >= 0 && p.Pin[n] != s.Class[n]) {
			t.Fatalf("node %d on class %d", n, c)
		}
		if !near(s.Finish[n], s.Start[n]+p.Runtime[n*nc+c]+p.Classes[c].StartupSeconds) {
			t.Fatalf("node %d: finish %g start %g", n, s.Finish[n], s.Start[n])
		}
		k := slot{s.Class[n], s.Instance[n]}
		byInst[k] = append(byInst[k], n)
	}
	for k, ns := range byInst {
		sort.Slice(ns, func(i, j int) bool { return s.Start[ns[i]] < s.Start[ns[j]] })
		for i := 1; i < len(ns); i++ {
			if s.Start[ns[i]] < s.Finish[ns[i-1]]-1e-9 {
				t.Fatalf("instance %v: nodes %d and %d overlap", k, ns[i-1], ns[i])
			}
		}
	}
}

func TestRandomInvariants(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		p := randomProblem(rand.New(rand.NewPCG(seed, 7)), 300)
		a := mustRun(t, p, Options{})
		b := mustRun(t, p, Options{Insertion: true})
		if len(a.Order) != p.Nodes || len(b.Order) != p.Nodes {
			t.Fatalf("seed %d: not every node scheduled", seed)
		}
		path := a.CriticalPath()
		if last := path[len(path)-1]; !near(a.Finish[last], a.Makespan) {
			t.Fatalf("seed %d: critical path ends at %g, makespan %g", seed, a.Finish[last], a.Makespan)
		}
		if s := a.Start[path[0]]; s != 0 {
			t.Fatalf("seed %d: critical path starts at %g", seed, s)
		}
	}
}

func BenchmarkRun100k(b *testing.B) {
	p := randomProblem(rand.New(rand.NewPCG(1, 7)), 100_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(p, Options{Alternatives: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestManyInstancesCostNothing: a class with millions of instances (a
// catalog's "instances = 1000000000" once took 24 GB and was killed) is
// scheduled in memory bounded by the nodes, not the instances, since no
// more instances than nodes can ever be busy; and exactly as with as many
// instances as nodes.
func TestManyInstancesCostNothing(t *testing.T) {
	for _, opt := range []Options{{}, {Insertion: true}, {LocalTransfersFree: true}, {Insertion: true, LocalTransfersFree: true}} {
		mk := func(n int) *Problem {
			return (&Problem{Classes: []Class{oneClass("a", n, 10, 1)}, Nodes: 3, Runtime: []float64{10, 20, 30}}).
				edges([3]float64{0, 2, 100})
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		// Run, not mustRun: checkSchedule counts every edge's transfer,
		// which LocalTransfersFree waives on one instance.
		huge, err := Run(mk(5_000_000), opt)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
			t.Errorf("%+v: 5,000,000 instances allocated %d MiB", opt, grew>>20)
		}
		small, err := Run(mk(3), opt)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(huge.Instance, small.Instance) || !slices.Equal(huge.Start, small.Start) || huge.Makespan != small.Makespan {
			t.Errorf("%+v: schedules differ: instances %v vs %v, starts %v vs %v", opt, huge.Instance, small.Instance, huge.Start, small.Start)
		}
	}
}
