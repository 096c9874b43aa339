package synth

import (
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/predict"
)

// Defaults FillTable uses for needs a task's hints do not give.
const (
	defaultCPUMHz    = 1000
	defaultMemoryMiB = 1024
	// hintUncertainty is the relative error claimed for hint-based runtimes.
	hintUncertainty = 0.25
)

// FillTable returns predictions for g on cat computed from the tasks' hints,
// standing in for the predictor: a task's runtime on class c is
// Hints.Runtime (seconds on the speed-1.0 reference) / c.SpeedFor(kind),
// times a factor uniform on [1-beta/2, 1+beta/2] drawn from seed (beta 0:
// no noise). A class is infeasible for a task that is pinned elsewhere
// (Hints.Executor), needs GPUs it lacks, or needs more memory than one
// instance has. OutputBytes is the largest declared out-edge size in bytes,
// IOBytes the declared bytes in plus out; CPU and memory come from the
// hints or default to 1000 MHz and 1024 MiB. Kinds come from Hints.Kind
// (cpu when unset).
func FillTable(g *graph.Graph, cat *catalog.Catalog, beta float64, seed uint64) *predict.Table {
	tb := predict.NewTable(len(g.Tasks), cat.Names())
	r := rng(seed, 2)
	for i, t := range g.Tasks {
		tb.Kinds[i] = t.Hints.Kind
		if !tb.Kinds[i].Valid() {
			tb.Kinds[i] = graph.KindCPU
		}
		in, out, maxOut := edgeBytes(g, i)
		for c, cl := range cat.Classes {
			noise := 1.0
			if beta > 0 {
				noise = 1 + beta*(r.Float64()-0.5)
			}
			*tb.At(i, c) = need(t, cl, tb.Kinds[i], noise, in+out, maxOut)
		}
	}
	return tb
}

// edgeBytes returns the declared bytes into and out of task i, and the
// largest out-edge.
func edgeBytes(g *graph.Graph, i int) (in, out, maxOut int64) {
	for _, e := range g.InIdx(i) {
		in += g.Edges[e].DeclaredBytes()
	}
	for _, e := range g.OutIdx(i) {
		b := g.Edges[e].DeclaredBytes()
		out += b
		maxOut = max(maxOut, b)
	}
	return in, out, maxOut
}

// need is task t's predicted need on class cl.
func need(t *graph.Task, cl *catalog.Class, kind graph.Kind, noise float64, io, outBytes int64) predict.Need {
	h := t.Hints
	cpu, mem := float64(defaultCPUMHz), float64(defaultMemoryMiB)
	if h.CPU > 0 {
		cpu = float64(h.CPU)
	}
	if h.MemoryMiB > 0 {
		mem = float64(h.MemoryMiB)
	}
	rt := h.Runtime.Seconds() / cl.SpeedFor(kind) * noise
	n := predict.Need{
		Feasible:    true,
		Runtime:     predict.Estimate{Value: rt, Uncertainty: hintUncertainty, Source: predict.FromHint},
		CPU:         predict.Estimate{Value: cpu, Source: predict.FromDefault},
		MemoryMiB:   predict.Estimate{Value: mem, Source: predict.FromDefault},
		IOBytes:     predict.Estimate{Value: float64(io), Source: predict.FromDefault},
		GPUs:        predict.Estimate{Value: float64(h.GPUs), Source: predict.FromHint},
		OutputBytes: predict.Estimate{Value: float64(outBytes), Source: predict.FromDefault},
	}
	n.Feasible, n.Why = feasible(t, cl)
	return n
}

// feasible says whether cl can run t, and why not.
func feasible(t *graph.Task, cl *catalog.Class) (bool, string) {
	h := t.Hints
	switch {
	case h.Executor != "" && h.Executor != cl.Name:
		return false, "pinned to " + h.Executor
	case h.GPUs > cl.Shape.GPUs:
		return false, "no GPU"
	case cl.Shape.MemoryMiB > 0 && h.MemoryMiB > cl.Shape.MemoryMiB:
		return false, "too little memory"
	}
	return true, ""
}

// Class names of the Catalog.
const (
	CPUHeavy        = "cpu-heavy"
	MemoryIntensive = "memory-intensive"
	IOBound         = "io-bound"
	GPUAccelerated  = "gpu-accelerated"
	LowLatency      = "low-latency"
)

// Catalog returns a five-class catalog built in code, with instances
// instances per class, for tests and benchmarks. It is not the planner's
// embedded default catalog; its numbers are plausible, not measured. Each
// class is 2x to 8x faster than the reference at its own profile.
func Catalog(instances int) *catalog.Catalog {
	gib := int64(1024)
	return &catalog.Catalog{Classes: []*catalog.Class{
		class(CPUHeavy, instances, map[graph.Kind]float64{graph.KindCPU: 2, graph.KindLatency: 1.2},
			1.25e9, 5*time.Second, catalog.Shape{CPU: 32000, Cores: 16, MemoryMiB: 64 * gib, DiskMiB: 200 * gib}),
		class(MemoryIntensive, instances, map[graph.Kind]float64{graph.KindMemory: 2.5, graph.KindCPU: 1.2},
			1.25e9, 10*time.Second, catalog.Shape{CPU: 16000, Cores: 8, MemoryMiB: 512 * gib, DiskMiB: 200 * gib}),
		class(IOBound, instances, map[graph.Kind]float64{graph.KindIO: 3},
			5e9, 5*time.Second, catalog.Shape{CPU: 8000, Cores: 4, MemoryMiB: 32 * gib, DiskMiB: 2048 * gib}),
		class(GPUAccelerated, instances, map[graph.Kind]float64{graph.KindGPU: 8, graph.KindCPU: 1.1},
			2.5e9, 30*time.Second, catalog.Shape{CPU: 16000, Cores: 8, MemoryMiB: 128 * gib, DiskMiB: 500 * gib, GPUs: 1, GPUMemoryMiB: 80 * gib}),
		class(LowLatency, instances, map[graph.Kind]float64{graph.KindLatency: 3, graph.KindCPU: 1.1},
			1.25e9, time.Second, catalog.Shape{CPU: 8000, Cores: 4, MemoryMiB: 16 * gib, DiskMiB: 50 * gib}),
	}}
}

func class(name string, n int, speed map[graph.Kind]float64, bw float64, startup time.Duration, shape catalog.Shape) *catalog.Class {
	return &catalog.Class{
		Name: name, Instances: n, Speed: speed, BandwidthBytes: bw, Startup: startup, Shape: shape,
		Placement: catalog.Placement{NodeClass: name},
	}
}
