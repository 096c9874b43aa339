// Package synth generates random task graphs, and predictions for them, so
// that planning can be tested and benchmarked without workflow traces or
// the predictor.
//
// The generator follows the random graph generator of H. Topcuoglu,
// S. Hariri and M.-Y. Wu, "Performance-effective and low-complexity task
// scheduling for heterogeneous computing", IEEE TPDS 13(3):260-274, 2002,
// section 5.1, with its parameters: the number of tasks v, the shape alpha
// (the graph has about sqrt(v)/alpha levels of about alpha·sqrt(v) tasks),
// the mean out-degree, the communication to computation ratio CCR (mean
// edge transfer time over mean task runtime) and the range percentage of
// computation costs beta (heterogeneity across classes). Every graph is a
// pure function of its Params, Seed included.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/shardwise/shardwise/planner/graph"
)

// Params are the generator's inputs. Zero values take the defaults noted.
type Params struct {
	// Name is the graph's name; default "synth".
	Name string
	// Tasks is v, the number of tasks; it must be >= 1.
	Tasks int
	// Alpha is the shape: about sqrt(v)/Alpha levels, each of about
	// Alpha·sqrt(v) tasks; small values give long thin graphs. Default 1.
	Alpha float64
	// OutDegree is the mean number of successors of a task that is not on
	// the last level; default 3.
	OutDegree float64
	// CCR is the communication to computation ratio: an edge's transfer
	// time at BandwidthBytes is uniform on [0, 2·CCR·MeanRuntime]. Default
	// 0.1 (CCR 0 is taken as the default; use a tiny value for none).
	CCR float64
	// Beta is the heterogeneity, in [0, 2): a task's runtime on each class
	// is drawn uniformly from [w(1-Beta/2), w(1+Beta/2)] around its
	// speed-scaled mean w (used by FillTable). Default 0.5.
	Beta float64
	// MeanRuntime is w_DAG, the mean reference runtime in seconds; each
	// task's is uniform on [0, 2·MeanRuntime]. Default 60 s.
	MeanRuntime float64
	// BandwidthBytes converts CCR to edge bytes, in bytes/s; default
	// 1.25e9 (10 Gbit/s).
	BandwidthBytes float64
	// Jump is how many levels down an edge may reach; default 1 (edges only
	// join adjacent levels).
	Jump int
	// GPURequired is the probability that a gpu task cannot run without a
	// GPU (Hints.GPUs = 1); default 0: every task is feasible everywhere.
	GPURequired float64
	// Seed selects the graph.
	Seed uint64
}

// withDefaults returns p with zero fields replaced by their defaults.
func (p Params) withDefaults() Params {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	if p.Name == "" {
		p.Name = "synth"
	}
	def(&p.Alpha, 1)
	def(&p.OutDegree, 3)
	def(&p.CCR, 0.1)
	def(&p.Beta, 0.5)
	def(&p.MeanRuntime, 60)
	def(&p.BandwidthBytes, 1.25e9)
	if p.Jump <= 0 {
		p.Jump = 1
	}
	return p
}

// rng returns the generator's source for p and a stream number, so the graph
// and the predictions draw from independent streams.
func rng(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15^stream))
}

// Generate returns a random graph for p. Tasks are named t0000, t0001, ...
// (zero-padded to the width of Tasks-1) in level order; each has a kind hint
// drawn uniformly from graph.Kinds, a runtime hint (reference class, speed
// 1.0), and one output "out" whose edges carry declared bytes. Every task
// below the first level has at least one predecessor.
func Generate(p Params) (*graph.Graph, error) {
	if p.Tasks < 1 {
		return nil, fmt.Errorf("synth: %d tasks, want >= 1", p.Tasks)
	}
	if p.Beta >= 2 {
		return nil, fmt.Errorf("synth: beta %g, want < 2", p.Beta)
	}
	p = p.withDefaults()
	r := rng(p.Seed, 1)
	g := graph.New(p.Name)
	levels := levelSizes(r, p)
	if err := addTasks(g, r, p); err != nil {
		return nil, err
	}
	if err := addEdges(g, r, p, levelStarts(levels)); err != nil {
		return nil, err
	}
	return g, nil
}

// levelSizes splits Tasks over about sqrt(v)/Alpha levels, each with at
// least one task and widths drawn uniformly around the mean.
func levelSizes(r *rand.Rand, p Params) []int {
	h := int(math.Round(math.Sqrt(float64(p.Tasks)) / p.Alpha))
	h = max(1, min(h, p.Tasks))
	w := make([]float64, h)
	sum := 0.0
	for i := range w {
		w[i] = 0.5 + r.Float64() // uniform on [0.5, 1.5): mean 1
		sum += w[i]
	}
	sizes := make([]int, h)
	spare := p.Tasks - h
	given := 0
	for i := range sizes {
		extra := int(float64(spare) * w[i] / sum)
		sizes[i] = 1 + extra
		given += extra
	}
	for i := 0; given < spare; i = (i + 1) % h {
		sizes[i]++
		given++
	}
	return sizes
}

// levelStarts returns the index of each level's first task, plus the total.
func levelStarts(sizes []int) []int {
	starts := make([]int, len(sizes)+1)
	for i, s := range sizes {
		starts[i+1] = starts[i] + s
	}
	return starts
}

func addTasks(g *graph.Graph, r *rand.Rand, p Params) error {
	width := len(strconv.Itoa(p.Tasks - 1))
	for i := 0; i < p.Tasks; i++ {
		kind := graph.Kinds[r.IntN(len(graph.Kinds))]
		rt := 2 * p.MeanRuntime * r.Float64()
		t := &graph.Task{
			Name:    fmt.Sprintf("t%0*d", width, i),
			Command: "/bin/true",
			Outputs: []graph.Output{{Name: "out", Path: "out/data"}},
			Hints: graph.Hints{
				Kind:    kind,
				Runtime: time.Duration(rt * float64(time.Second)),
			},
		}
		if kind == graph.KindGPU && r.Float64() < p.GPURequired {
			t.Hints.GPUs = 1
		}
		if err := g.AddTask(t); err != nil {
			return err
		}
	}
	return nil
}

// addEdges gives each task not on the last level a number of successors
// uniform on [1, 2·OutDegree-1] (mean OutDegree), chosen among the next Jump
// levels, then gives every parentless task below the first level one parent
// on the level above.
func addEdges(g *graph.Graph, r *rand.Rand, p Params, starts []int) error {
	h := len(starts) - 1
	hasPred := make([]bool, p.Tasks)
	var picked []int
	for l := 0; l+1 < h; l++ {
		lo, hi := starts[l+1], starts[min(l+1+p.Jump, h)]
		for u := starts[l]; u < starts[l+1]; u++ {
			d := 1 + r.IntN(max(1, int(math.Round(2*p.OutDegree-1))))
			picked = pickDistinct(r, picked[:0], lo, hi, d)
			for _, v := range picked {
				if err := addEdge(g, r, p, u, v); err != nil {
					return err
				}
				hasPred[v] = true
			}
		}
	}
	for l := 1; l < h; l++ {
		for v := starts[l]; v < starts[l+1]; v++ {
			if !hasPred[v] {
				u := starts[l-1] + r.IntN(starts[l]-starts[l-1])
				if err := addEdge(g, r, p, u, v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// pickDistinct appends min(d, hi-lo) distinct integers from [lo, hi).
func pickDistinct(r *rand.Rand, out []int, lo, hi, d int) []int {
	d = min(d, hi-lo)
	for len(out) < d {
		v := lo + r.IntN(hi-lo)
		dup := false
		for _, w := range out {
			dup = dup || w == v
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}

// addEdge joins tasks u -> v with bytes for a transfer time uniform on
// [0, 2·CCR·MeanRuntime] at BandwidthBytes.
func addEdge(g *graph.Graph, r *rand.Rand, p Params, u, v int) error {
	secs := 2 * p.CCR * p.MeanRuntime * r.Float64()
	return g.AddEdge(&graph.Edge{
		From:   g.Tasks[u].Name,
		To:     g.Tasks[v].Name,
		Output: "out",
		Bytes:  int64(secs * p.BandwidthBytes),
	})
}
