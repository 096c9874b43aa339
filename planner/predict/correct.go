package predict

import (
	"math"

	"github.com/shardwise/shardwise/planner/graph"
)

// In-run learning: while a graph runs, the tasks that complete say how far
// the predictions of their type are off in this run (a larger input than
// history saw, a slower node). A Correction keeps, per task signature and
// executor class, the ratios actual/predicted runtime of the last Window
// completions, and the peak memory they used; Apply turns them into
// corrected predictions for the tasks not yet submitted. The launcher's
// re-planner and the simulator's late binding (planner/plan Binder) use it
// alike.

// Defaults of a Correction.
const (
	// DefaultCorrectionWindow is the number of most recent completions of
	// a (signature, class) whose ratios are kept.
	DefaultCorrectionWindow = 8
	// InRunMemoryHeadroom multiplies the largest peak memory observed in
	// the run for a signature to size its later tasks.
	InRunMemoryHeadroom = 1.2
)

// Correction is the in-run learning state of one run. The zero value is
// not usable; call NewCorrection. It is not safe for concurrent use.
type Correction struct {
	window int
	ratios map[corrKey][]float64
	// bySig pools the ratios of a signature over classes, for classes it
	// has not completed on yet (a runtime ratio is a property of the run's
	// inputs more than of the class).
	bySig map[string][]float64
	peak  map[string]float64 // MiB
	oom   map[string]float64 // MiB, the largest limit an OOM kill hit
}

type corrKey struct{ sig, class string }

// NewCorrection returns an empty Correction keeping the last window
// completions per (signature, class); window <= 0 means
// DefaultCorrectionWindow.
func NewCorrection(window int) *Correction {
	if window <= 0 {
		window = DefaultCorrectionWindow
	}
	return &Correction{window: window, ratios: map[corrKey][]float64{}, bySig: map[string][]float64{},
		peak: map[string]float64{}, oom: map[string]float64{}}
}

// Observe records that a task (or a shard: its tasks' signatures, each
// counted) of signature sig completed on class after actualSeconds, where
// predictedSeconds was predicted for it on that class. Non-positive or
// non-finite figures are ignored.
func (c *Correction) Observe(sig, class string, predictedSeconds, actualSeconds float64) {
	if !(predictedSeconds > 0) || !(actualSeconds >= 0) || math.IsInf(predictedSeconds, 0) || math.IsInf(actualSeconds, 0) {
		return
	}
	r := math.Max(actualSeconds, zeroRuntime*0.1) / predictedSeconds
	k := corrKey{sig, class}
	c.ratios[k] = trail(append(c.ratios[k], r), c.window)
	c.bySig[sig] = trail(append(c.bySig[sig], r), c.window)
}

// ObserveMemory records the peak memory (MiB) a completed task of sig
// used; oomKilled says it was killed at that peak (its limit).
func (c *Correction) ObserveMemory(sig string, peakMiB float64, oomKilled bool) {
	if !(peakMiB > 0) {
		return
	}
	if oomKilled {
		c.oom[sig] = math.Max(c.oom[sig], peakMiB)
		return
	}
	c.peak[sig] = math.Max(c.peak[sig], peakMiB)
}

func trail(xs []float64, n int) []float64 {
	if len(xs) > n {
		return xs[len(xs)-n:]
	}
	return xs
}

// Factor is the runtime correction of sig on class: the median of the
// trailing window's actual/predicted ratios on that class, else pooled
// over the classes sig completed on; 1 with n = 0 when sig has not
// completed yet.
func (c *Correction) Factor(sig, class string) (factor float64, n int) {
	rs := c.ratios[corrKey{sig, class}]
	if len(rs) == 0 {
		rs = c.bySig[sig]
	}
	if len(rs) == 0 {
		return 1, 0
	}
	return median(append([]float64(nil), rs...)), len(rs)
}

// MemoryMiB is the in-run memory size for sig: InRunMemoryHeadroom times
// the largest peak of its completed tasks, at least OOMHeadroom times the
// limit an OOM kill of sig hit; ok is false when the run has seen neither.
func (c *Correction) MemoryMiB(sig string) (mib float64, ok bool) {
	p, o := c.peak[sig], c.oom[sig]
	if p == 0 && o == 0 {
		return 0, false
	}
	return math.Ceil(math.Max(p*InRunMemoryHeadroom, o*OOMHeadroom)), true
}

// Apply corrects the predictions in tb (for g, in g.Tasks order) of every
// task for which pending reports true: on each class its runtime and p90
// are multiplied by Factor(signature, class), and its memory is replaced
// by MemoryMiB(signature) where the run has observed the signature (it
// only ever rises above an OOM floor). A class whose largest instance
// (maxMemoryMiB[c], 0 for unknown) cannot hold the corrected memory
// becomes infeasible for the task. It returns the number of tasks
// changed.
func (c *Correction) Apply(g *graph.Graph, tb *Table, pending func(t int) bool, maxMemoryMiB []float64) int {
	changed := 0
	for t, task := range g.Tasks {
		if !pending(t) {
			continue
		}
		mem, memOK := c.MemoryMiB(task.Signature)
		did := false
		for ci, class := range tb.Classes {
			n := tb.At(t, ci)
			if f, k := c.Factor(task.Signature, class); k > 0 && f != 1 {
				n.Runtime.Value *= f
				n.Runtime.P90 *= f
				did = true
			}
			if memOK && task.Hints.MemoryMiB == 0 && mem != n.MemoryMiB.Value {
				n.MemoryMiB = Estimate{Value: mem, Uncertainty: n.MemoryMiB.Uncertainty, Source: FromHistory, N: n.MemoryMiB.N + 1}
				did = true
				if ci < len(maxMemoryMiB) && maxMemoryMiB[ci] > 0 && mem > maxMemoryMiB[ci] && n.Feasible {
					n.Feasible, n.Why = false, "in-run memory exceeds the class's instances"
				}
			}
		}
		if did {
			changed++
		}
	}
	return changed
}
