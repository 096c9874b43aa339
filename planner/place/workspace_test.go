package place

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestWorkspaceReuseMatchesRun schedules problems of growing and
// shrinking size, with and without pins, insertion and alternatives, on
// one Workspace, and checks each schedule equals a fresh Run's and that
// the first schedule is not changed by the later runs.
func TestWorkspaceReuseMatchesRun(t *testing.T) {
	var w Workspace
	var first, firstCopy *Schedule
	for i, n := range []int{300, 40, 500, 7, 500, 120} {
		r := rand.New(rand.NewPCG(uint64(i), 3))
		p := randomProblem(r, n)
		if i%2 == 1 {
			pinSome(r, p, 4)
		}
		for _, opt := range []Options{{}, {Alternatives: true}, {Insertion: true}, {LocalTransfersFree: true, Alternatives: true}} {
			got, err := w.Run(p, opt)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Run(p, opt)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("problem %d (%d nodes) %+v: reused workspace schedules differently", i, n, opt)
			}
			if first == nil {
				first = got
				c := *got
				firstCopy = &c
				firstCopy.Start = append([]float64(nil), got.Start...)
				firstCopy.Order = append([]int32(nil), got.Order...)
			}
		}
	}
	if !reflect.DeepEqual(first.Start, firstCopy.Start) || !reflect.DeepEqual(first.Order, firstCopy.Order) {
		t.Error("a later run changed an earlier schedule")
	}
	cyc := &Problem{Classes: []Class{oneClass("a", 1, 1, 0)}, Nodes: 2, Runtime: []float64{1, 1}}
	cyc.edges([3]float64{0, 1, 0}, [3]float64{1, 0, 0})
	if _, err := w.Run(cyc, Options{}); err == nil {
		t.Error("cycle accepted")
	}
	if _, err := w.Run(randomProblem(rand.New(rand.NewPCG(9, 9)), 50), Options{}); err != nil {
		t.Errorf("after a cycle: %v", err)
	}
}

// TestPinnedFastPath checks that pinned nodes, which without
// Alternatives look at their pinned class only, are scheduled as when
// every class is examined (with Alternatives): only Alt may differ.
func TestPinnedFastPath(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		r := rand.New(rand.NewPCG(seed, 5))
		p := randomProblem(r, 400)
		p.Pin = make([]int32, p.Nodes)
		for v := range p.Pin {
			p.Pin[v] = -1
			if c := r.IntN(3); r.IntN(2) == 0 && p.feasible(v, c) {
				p.Pin[v] = int32(c)
			}
		}
		fast, err := Run(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		all, err := Run(p, Options{Alternatives: true})
		if err != nil {
			t.Fatal(err)
		}
		all.Alt = nil
		if !reflect.DeepEqual(fast, all) {
			t.Fatalf("seed %d: pinned nodes scheduled differently without Alternatives", seed)
		}
	}
}

// TestMakespanMatchesRun checks that Workspace.Makespan, which keeps its
// schedule in the workspace, returns Run's makespan for problems of
// growing and shrinking size and every option, interleaved with Runs on
// the same workspace, and leaves the schedules Run returned alone.
func TestMakespanMatchesRun(t *testing.T) {
	var w Workspace
	var kept []*Schedule
	var keptFinish [][]float64
	for i, n := range []int{300, 40, 500, 7, 500, 120} {
		r := rand.New(rand.NewPCG(uint64(i), 11))
		p := randomProblem(r, n)
		if i%2 == 0 {
			pinSome(r, p, 3)
		}
		for _, opt := range []Options{{}, {Alternatives: true}, {Insertion: true}, {LocalTransfersFree: true}} {
			want, err := Run(p, opt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := w.Makespan(p, opt)
			if err != nil {
				t.Fatal(err)
			}
			if got != want.Makespan {
				t.Fatalf("problem %d (%d nodes) %+v: Makespan %g, Run's %g", i, n, opt, got, want.Makespan)
			}
			s, err := w.Run(p, opt)
			if err != nil {
				t.Fatal(err)
			}
			kept = append(kept, s)
			keptFinish = append(keptFinish, append([]float64(nil), s.Finish...))
		}
	}
	for i, s := range kept {
		if !reflect.DeepEqual(s.Finish, keptFinish[i]) {
			t.Fatalf("schedule %d returned by Run was changed by a later Makespan", i)
		}
	}
	cyc := &Problem{Classes: []Class{oneClass("a", 1, 1, 0)}, Nodes: 2, Runtime: []float64{1, 1}}
	cyc.edges([3]float64{0, 1, 0}, [3]float64{1, 0, 0})
	if _, err := w.Makespan(cyc, Options{}); err == nil {
		t.Error("cycle accepted")
	}
}

// pinSome pins every k-th node of p to a random class among the first
// three, where that class can run it.
func pinSome(r *rand.Rand, p *Problem, k int) {
	p.Pin = make([]int32, p.Nodes)
	for v := range p.Pin {
		p.Pin[v] = -1
		if c := r.IntN(3); v%k == 0 && p.feasible(v, c) {
			p.Pin[v] = int32(c)
		}
	}
}

// TestMinimalMatchesFull checks that Options.Minimal schedules exactly as
// the full run does (classes, times, bounds, alternatives, makespan) and
// leaves Instance (unless LocalTransfersFree reads it) and Order nil.
func TestMinimalMatchesFull(t *testing.T) {
	for i, n := range []int{1, 60, 400} {
		r := rand.New(rand.NewPCG(uint64(i), 11))
		p := randomProblem(r, n)
		pinSome(r, p, 5)
		for _, opt := range []Options{{}, {Alternatives: true}, {Insertion: true, Alternatives: true}, {LocalTransfersFree: true}} {
			full, err := Run(p, opt)
			if err != nil {
				t.Fatal(err)
			}
			lean := opt
			lean.Minimal = true
			got, err := Run(p, lean)
			if err != nil {
				t.Fatal(err)
			}
			if got.Order != nil || (got.Instance != nil) != opt.LocalTransfersFree {
				t.Errorf("problem %d %+v: Minimal kept Order %v, Instance %v", i, opt, got.Order != nil, got.Instance != nil)
			}
			got.Order = full.Order
			if !opt.LocalTransfersFree {
				got.Instance = full.Instance
			}
			if !reflect.DeepEqual(got, full) {
				t.Errorf("problem %d (%d nodes) %+v: Minimal schedules differently", i, n, opt)
			}
		}
	}
}
