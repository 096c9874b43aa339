package predict

import (
	"math"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
)

// Constants of the model. Each is documented where it is used; they are
// gathered here so the whole model can be read at a glance.
const (
	// DefaultRuntimeSeconds is the runtime of a task with neither history
	// nor a runtime hint, on a speed-1.0 machine; its uncertainty is 1.0.
	DefaultRuntimeSeconds = 60
	// HintUncertainty is the relative uncertainty given to a user's hint.
	HintUncertainty = 0.5
	// DefaultCPUMHz is the CPU of a task with no history and no CPU hint.
	DefaultCPUMHz = 1000
	// MinCPUMHz floors CPU derived from history (an idle-looking task
	// still needs a share of a core).
	MinCPUMHz = 100
	// FallbackCoreMHz is the clock of one core when neither the record nor
	// the reference class gives one.
	FallbackCoreMHz = 2000
	// DefaultMemoryMiB is the memory of a task with no history and no hint.
	DefaultMemoryMiB = 512
	// MemoryQuantile and MemoryHeadroom size memory from history: the
	// MemoryQuantile of observed peaks times MemoryHeadroom, so that
	// under-sizing (an OOM kill) is rare.
	MemoryQuantile = 0.95
	MemoryHeadroom = 1.1
	// OOMHeadroom multiplies the largest peak of an OOM-killed execution
	// (the limit it died at) to give a floor for the memory estimate.
	OOMHeadroom = 1.25
)

// Thresholds of the dominant-kind rule from history (see histKind).
const (
	// CPUBoundCores: busy on more than this many cores means cpu-bound.
	CPUBoundCores = 1.5
	// MemoryBoundRatio and MemoryBoundMinMiB: a median peak this many times
	// the median over all signatures, and at least this large, means
	// memory-bound.
	MemoryBoundRatio  = 4.0
	MemoryBoundMinMiB = 1024
	// IOBoundBytesPerSecond: reading plus writing this fast (bytes per
	// second of runtime) means io-bound.
	IOBoundBytesPerSecond = 100e6
)

// kindIndex maps a workload profile to its position in graph.Kinds.
func kindIndex(k graph.Kind) int {
	for i, v := range graph.Kinds {
		if v == k {
			return i
		}
	}
	return 0
}

// sigModel is everything history says about one signature.
type sigModel struct {
	n int // successful observations
	// fits is the runtime model per workload profile (index into
	// graph.Kinds): the profile picks the speeds that normalise records
	// run on other classes. Profiles with identical normalisation share
	// one fit. nil when no successful record exists.
	fits [5]*RuntimeFit

	kind graph.Kind // dominant kind from history, "" if undecided

	cpu, mem, io, out quantity
	oomFloorMiB       float64
	// maxShared is the largest shared input (bytes) of a successful
	// record, for the probe rule (ProbeTypes).
	maxShared     float64
	gpus          int
	medianMemMiB  float64 // for the cross-signature memory rule
	cores, ioRate float64 // medians, for histKind
}

// quantity is a summary of one observed quantity.
type quantity struct {
	value, uncertainty float64
	n                  int
}

// observed summarises xs with value = f(xs); zero when xs is empty.
func observed(xs []float64, value func([]float64) float64) quantity {
	if len(xs) == 0 {
		return quantity{}
	}
	sorted := append([]float64(nil), xs...)
	v := value(sorted)
	return quantity{value: v, uncertainty: relSpread(xs, median(sorted)), n: len(xs)}
}

// buildModels fits one sigModel per signature present in records.
func buildModels(cat *catalog.Catalog, records []history.Record) map[string]*sigModel {
	out := map[string]*sigModel{}
	coreMHz := nominalCoreMHz(cat)
	for _, g := range history.BySignature(records) {
		out[g.Signature] = buildModel(cat, g.Records, coreMHz)
	}
	decideKinds(out)
	return out
}

// UnknownExecutors counts, per class name, the records whose Executor
// names a class that is not in cat. New leaves such records out of the
// runtime fit: their runtimes cannot be normalised by the class's speed,
// and reading them as the reference class (or as speed 1.0) would skew
// every runtime prediction of their signature. Their memory, CPU and IO
// figures, which do not depend on the class's speed, are still used (an
// OOM kill still raises the memory floor). Callers warn with this.
func UnknownExecutors(cat *catalog.Catalog, records []history.Record) map[string]int {
	var out map[string]int
	for i := range records {
		e := records[i].Executor
		if e == "" || cat.Class(e) != nil {
			continue
		}
		if out == nil {
			out = map[string]int{}
		}
		out[e]++
	}
	return out
}

func buildModel(cat *catalog.Catalog, recs []history.Record, coreMHz float64) *sigModel {
	m := &sigModel{}
	var cpu, mem, io, out, cores, rates []float64
	for i := range recs {
		r := &recs[i]
		if r.OOMKilled && r.MemoryBytes > 0 {
			m.oomFloorMiB = math.Max(m.oomFloorMiB, float64(r.MemoryBytes)/(1<<20)*OOMHeadroom)
		}
		if !r.OK() {
			continue
		}
		m.n++
		m.maxShared = math.Max(m.maxShared, float64(r.SharedInputBytes))
		if c := r.CoresUsed(); c > 0 {
			clock := r.CPUMHz
			if clock <= 0 {
				clock = coreMHz
			}
			cores = append(cores, c)
			cpu = append(cpu, math.Max(MinCPUMHz, c*clock))
		}
		if r.MemoryBytes > 0 {
			mem = append(mem, float64(r.MemoryBytes)/(1<<20))
		}
		if b := r.IOBytes(); b > 0 {
			io = append(io, float64(b))
			if r.RuntimeSeconds > 0 {
				rates = append(rates, float64(b)/r.RuntimeSeconds)
			}
		}
		if b := r.ProducedBytes(); b > 0 {
			out = append(out, float64(b))
		}
		m.gpus = max(m.gpus, r.GPUs)
	}
	m.cpu = observed(cpu, median)
	m.mem = observed(mem, func(xs []float64) float64 { return quantile(xs, MemoryQuantile) * MemoryHeadroom })
	m.medianMemMiB = median(append([]float64(nil), mem...))
	m.io = observed(io, median)
	m.out = observed(out, median)
	m.cores = median(cores)
	m.ioRate = median(rates)
	m.fitRuntimes(cat, recs)
	return m
}

// fitRuntimes fits the runtime model once per distinct normalisation.
// A record's runtime on a speed-1.0 machine is its observed runtime times
// the speed, for the profile, of the class it ran on: Record.Executor, or
// the catalog's reference class when empty (imported traces). Records of
// classes not in the catalog are left out (see UnknownExecutors); an
// empty reference counts as speed 1.0.
func (m *sigModel) fitRuntimes(cat *catalog.Catalog, recs []history.Record) {
	var base []sample
	var raw []float64
	var classes []*catalog.Class
	ref := cat.ReferenceClass()
	for i := range recs {
		r := &recs[i]
		if !r.OK() {
			continue
		}
		cl := ref
		if r.Executor != "" {
			if cl = cat.Class(r.Executor); cl == nil {
				continue
			}
		}
		shared := float64(min(r.SharedInputBytes, r.InputBytes))
		base = append(base, sample{private: float64(r.InputBytes) - shared, shared: shared, run: r.Run})
		raw = append(raw, r.RuntimeSeconds)
		classes = append(classes, cl)
	}
	if len(raw) == 0 {
		return
	}
	var done [][]float64
	for ki, k := range graph.Kinds {
		ys := make([]float64, len(raw))
		for i, rt := range raw {
			ys[i] = rt
			if classes[i] != nil {
				ys[i] = rt * classes[i].SpeedFor(k)
			}
		}
		m.fits[ki] = reuse(m.fits[:ki], done, ys)
		if m.fits[ki] == nil {
			ss := append([]sample(nil), base...)
			for i := range ss {
				ss[i].y = ys[i]
			}
			m.fits[ki] = fitSamples(ss)
		}
		done = append(done, ys)
	}
}

// reuse returns the fit of an earlier profile whose normalised runtimes
// equal ys, or nil.
func reuse(fits []*RuntimeFit, done [][]float64, ys []float64) *RuntimeFit {
	for i, prev := range done {
		same := true
		for j := range ys {
			if prev[j] != ys[j] {
				same = false
				break
			}
		}
		if same {
			return fits[i]
		}
	}
	return nil
}

// nominalCoreMHz is the per-core clock assumed for records without one:
// the reference class's MHz per core, else FallbackCoreMHz.
func nominalCoreMHz(cat *catalog.Catalog) float64 {
	if ref := cat.ReferenceClass(); ref != nil && ref.PerCoreMHz() > 0 {
		return ref.PerCoreMHz()
	}
	return FallbackCoreMHz
}

// decideKinds sets each signature's dominant kind from history. Each rule
// scores its signal against its threshold; the highest score of at least
// 1 wins (ties in the order cpu, memory, io), and observed GPU use beats
// them all:
//
//	gpu:    the signature ran with GPUs
//	cpu:    median cores busy / CPUBoundCores
//	memory: median peak / (MemoryBoundRatio x median of all signatures'
//	        median peaks), counted only above MemoryBoundMinMiB
//	io:     median (read+written)/runtime / IOBoundBytesPerSecond
func decideKinds(models map[string]*sigModel) {
	var meds []float64
	for _, m := range models {
		if m.medianMemMiB > 0 {
			meds = append(meds, m.medianMemMiB)
		}
	}
	typical := median(meds)
	for _, m := range models {
		m.kind = histKind(m, typical)
	}
}

func histKind(m *sigModel, typicalMemMiB float64) graph.Kind {
	if m.gpus > 0 {
		return graph.KindGPU
	}
	best, bestScore := graph.Kind(""), 1.0
	consider := func(k graph.Kind, score float64) {
		if score >= bestScore && (best == "" || score > bestScore) {
			best, bestScore = k, score
		}
	}
	consider(graph.KindCPU, m.cores/CPUBoundCores)
	if typicalMemMiB > 0 && m.medianMemMiB >= MemoryBoundMinMiB {
		consider(graph.KindMemory, m.medianMemMiB/(MemoryBoundRatio*typicalMemMiB))
	}
	consider(graph.KindIO, m.ioRate/IOBoundBytesPerSecond)
	return best
}
