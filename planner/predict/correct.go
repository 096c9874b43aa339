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
//
// A type's own completions come too late for most of its tasks: siblings
// released together are submitted before any of them completes. What the
// run's other types say is known by then (a run on slower machines or
// larger inputs is off for most of its types), so a type that has not
// completed yet is corrected by a run-wide factor learned across types
// (RunFactor), shrunk toward 1 so that one or two types move it little.
// The run-wide factor is evidence about the run, not about the type, so
// it may raise a type's p90 but never lowers it below history's
// (Factors).

// Defaults of a Correction.
const (
	// DefaultCorrectionWindow is the number of most recent completions of
	// a (signature, class) whose ratios are kept.
	DefaultCorrectionWindow = 8
	// InRunMemoryHeadroom multiplies the largest peak memory observed in
	// the run for a signature to size its later tasks.
	InRunMemoryHeadroom = 1.2
	// RunPriorTypes is the weight of the run-wide factor's prior (no
	// correction, factor 1), counted in task types: with k (effective)
	// types completed the run-wide log factor is their weighted mean log
	// factor times k / (k + RunPriorTypes) (RunFactor). Set beforehand,
	// not fitted to the traces (docs/evaluation.md gives 1 and 4 too).
	RunPriorTypes = 2
	// ClassPriorCompletions is the weight, counted in completions, of a
	// signature's ratios pooled over classes in its factor on one class
	// (Factor): with n completions on the class, the log factor is
	// (n ln f_class + ClassPriorCompletions ln f_pooled) /
	// (n + ClassPriorCompletions). Set beforehand like RunPriorTypes,
	// not fitted to the traces (docs/evaluation.md gives 1, 4 and 8 too).
	ClassPriorCompletions = 2
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
	// work holds, in step with bySig, the predicted seconds of each
	// ratio: a type's weight in the run-wide factor.
	work map[string][]float64
	// sigs are the signatures with ratios, in the order first observed
	// (a fixed order for the run-wide sum).
	sigs []string
	// run caches RunFactor; runOK is false after an Observe.
	run   float64
	runN  int
	runOK bool
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
		work: map[string][]float64{}, peak: map[string]float64{}, oom: map[string]float64{}}
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
	if _, ok := c.bySig[sig]; !ok {
		c.sigs = append(c.sigs, sig)
	}
	c.bySig[sig] = trail(append(c.bySig[sig], r), c.window)
	c.work[sig] = trail(append(c.work[sig], predictedSeconds), c.window)
	c.runOK = false
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

// Factor is the runtime correction of sig on class, with n the ratios of
// that class's trailing window it rests on. The median of the window's
// actual/predicted ratios on that class is pooled with the median of
// the signature's trailing window over every class (partial pooling: the
// pooled median counts as ClassPriorCompletions completions on the
// class), so that one or two completions on a class move its factor
// only part of the way from what the signature does elsewhere in the
// run: early completions are few and are not the typical ones (the
// first tasks of a run ran under other load than the later ones). When
// sig has not completed on class it is the pooled median, with n the
// pooled ratios; when sig has not completed at all, RunFactor (1 before
// anything completed) with n = 0.
func (c *Correction) Factor(sig, class string) (factor float64, n int) {
	pooled := c.bySig[sig]
	if len(pooled) == 0 {
		f, _ := c.RunFactor()
		return f, 0
	}
	fp := median(append([]float64(nil), pooled...))
	rs := c.ratios[corrKey{sig, class}]
	if len(rs) == 0 {
		return fp, len(pooled)
	}
	fc := median(append([]float64(nil), rs...))
	if fc == fp {
		return fc, len(rs) // exactly, without a round trip through logs
	}
	k := float64(len(rs))
	return math.Exp((k*math.Log(fc) + ClassPriorCompletions*math.Log(fp)) / (k + ClassPriorCompletions)), len(rs)
}

// RunFactor is the run-wide runtime correction, for the types that have
// not completed yet. Each completed type t votes its own factor f_t
// (the median of its trailing window, pooled over classes), weighted by
// w_t, the predicted seconds of the completions in that window (a type of
// sub-second tasks says little about the run's scale, whatever its
// ratio; a type of many tasks votes once, at most Window completions'
// worth). The mean is shrunk toward 1 by a prior worth RunPriorTypes
// types, against the effective number of types behind the weighted mean
// (Kish's, (sum_t w_t)^2 / sum_t w_t^2: k for k equal weights, about 2
// for two heavy types and a negligible one):
//
//	factor = exp( sum_t w_t ln f_t / sum_t w_t * k / (k + RunPriorTypes) ),  k effective types
//
// It is 1 with types = 0 before any task completed; types counts every
// completed type.
func (c *Correction) RunFactor() (factor float64, types int) {
	if !c.runOK {
		var sum, wsum, w2sum float64
		for _, sig := range c.sigs {
			var w float64
			for _, p := range c.work[sig] {
				w += p
			}
			sum += w * math.Log(median(append([]float64(nil), c.bySig[sig]...)))
			wsum += w
			w2sum += w * w
		}
		c.run, c.runN = 1, len(c.sigs)
		if c.runN > 0 && wsum > 0 {
			k := wsum * wsum / w2sum
			c.run = math.Exp(sum / wsum * k / (k + RunPriorTypes))
		}
		c.runOK = true
	}
	return c.run, c.runN
}

// Factors are the multipliers of sig's p50 and p90 runtime on class:
// both Factor(sig, class) where sig has completed in this run (n > 0);
// otherwise the run-wide factor, which the p90 takes only when it is
// above 1 (another type's speed-up is no reason to trust a type's
// pessimistic bound less).
func (c *Correction) Factors(sig, class string) (p50, p90 float64, n int) {
	f, n := c.Factor(sig, class)
	if n == 0 && f < 1 {
		return f, 1, 0
	}
	return f, f, n
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
// are multiplied by Factors(signature, class) (the run-wide factor for a
// type that has not completed yet), and its memory is replaced
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
			if f50, f90, _ := c.Factors(task.Signature, class); f50 != 1 || f90 != 1 {
				n.Runtime.Value *= f50
				n.Runtime.P90 *= f90
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
