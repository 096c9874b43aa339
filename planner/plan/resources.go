package plan

import (
	"math"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/predict"
)

// sourceRank orders sources from most to least trusted; an unknown or
// empty source ranks with "default".
func sourceRank(s predict.Source) int {
	switch s {
	case predict.FromHistory:
		return 0
	case predict.FromHint:
		return 1
	}
	return 2
}

var sourceByRank = [...]predict.Source{predict.FromHistory, predict.FromHint, predict.FromDefault}

// acc combines the estimates of a shard's tasks, each scaled by a factor:
// as a total (runtime, IO: values add, absolute errors add in quadrature,
// assuming independent errors) or as a peak (memory, CPU: the largest value
// with its own uncertainty). Either way the source is the least trusted of
// the parts and Observations the fewest.
type acc struct {
	sum, sq float64
	peak    predict.Estimate
	rank    int
	obs     int
	n       int
}

func (a *acc) add(e predict.Estimate, scale float64) {
	v := e.Value * scale
	a.sum += v
	a.sq += (v * e.Uncertainty) * (v * e.Uncertainty)
	if a.n == 0 || v > a.peak.Value {
		a.peak = predict.Estimate{Value: v, Uncertainty: e.Uncertainty}
	}
	if a.n == 0 || sourceRank(e.Source) > a.rank {
		a.rank = sourceRank(e.Source)
	}
	if a.n == 0 || e.N < a.obs {
		a.obs = e.N
	}
	a.n++
}

func (a *acc) estimate(v, u float64) Estimate {
	out := Estimate{Value: v, Uncertainty: u, Source: SourceOf(sourceByRank[a.rank])}
	if sourceByRank[a.rank] == predict.FromHistory {
		out.Observations = int32(a.obs)
	}
	return out
}

// total is the sum of the parts.
func (a *acc) total() Estimate {
	u := 0.0
	if a.sum > 0 {
		u = math.Sqrt(a.sq) / a.sum
	}
	return a.estimate(a.sum, u)
}

// max is the largest part.
func (a *acc) max() Estimate { return a.estimate(a.peak.Value, a.peak.Uncertainty) }

// resources returns what shard s asks for on class c and its runtime
// estimate in seconds. Fused tasks run one after another, so the shard
// asks for the largest CPU, memory, disk and GPUs of its tasks, and its
// runtime and IO bytes are sums. A split piece gets 1/Count of the task's
// runtime and IO, and of its memory when the task is memory-bound (its
// input is cut to fit memory); its disk covers its share of the input
// otherwise.
func (b *builder) resources(s int, tasks []int32, c int) (Resources, Estimate) {
	var rt, cpu, mem, io, gpus acc
	var r Resources
	piece := b.pieceOf(s)
	scale := 1.0
	if piece != nil {
		scale = 1 / float64(piece.Count)
	}
	for _, t := range tasks {
		n, h := b.tb.Need(int(t), c), &b.g.Tasks[t].Hints
		memScale := 1.0
		if piece != nil && b.kinds[t] == graph.KindMemory {
			memScale = scale
		}
		rt.add(n.Runtime, scale)
		cpu.add(n.CPU, 1)
		mem.add(n.MemoryMiB, memScale)
		io.add(n.IOBytes, scale)
		gpus.add(n.GPUs, 1)
		r.Cores = max(r.Cores, h.Cores)
		r.DiskMiB = max(r.DiskMiB, h.DiskMiB)
		r.GPUs = max(r.GPUs, h.GPUs)
		r.GPUMemoryMiB = max(r.GPUMemoryMiB, h.GPUMemoryMiB)
	}
	r.CPU, r.MemoryMiB, r.IOBytes = cpu.max(), mem.max(), io.total()
	r.GPUs = max(r.GPUs, int(math.Ceil(gpus.max().Value)))
	if piece != nil && b.kinds[tasks[0]] != graph.KindMemory {
		r.DiskMiB = max(r.DiskMiB, (piece.Bytes+(1<<20-1))>>20)
	}
	r.MemoryMaxMiB = b.memoryMax(r.MemoryMiB, c)
	return r, rt.total()
}

// memoryMax is the memory_max in MiB for a shard whose memory estimate is
// mem on class c: on classes that allow oversubscription, the estimate
// plus two standard errors, capped at the instance's memory; 0 (no
// memory_max) elsewhere or when that is not above the estimate.
func (b *builder) memoryMax(mem Estimate, c int) int64 {
	cl := b.cat.Classes[c]
	if !cl.Oversubscribe {
		return 0
	}
	hi := int64(math.Ceil(mem.Value * (1 + 2*mem.Uncertainty)))
	if cl.Shape.MemoryMiB > 0 {
		hi = min(hi, cl.Shape.MemoryMiB)
	}
	if float64(hi) <= mem.Value {
		return 0
	}
	return hi
}
