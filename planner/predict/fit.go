package predict

import (
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// RuntimeFit is the runtime model of one signature on a speed-1.0 machine
// for one workload profile, fitted from history (see fitRuntime).
//
// The size model follows Ernest (Venkataraman et al., NSDI 2016), which
// fits runtime as a non-negative combination of terms each describing one
// way work grows. Shardwise's scale variables are the task's private input
// bytes x (read by this task only: its share of the work) and its shared
// input bytes s (read by several tasks of the run: a reference database
// or index, whose size sets the cost of every task that searches it):
//
//	runtime(x, s) = c0 + c1*x + c2*ln(x+1) + c3*s      c >= 0
//
// c0 is fixed cost (start-up), c1 work linear in the data (a scan), c2
// work that grows ever more slowly with it (tree builds, caches warming)
// and c3 work per byte of the shared input. Non-negativity keeps the model
// monotone, so it extrapolates sanely beyond the sizes observed. A term
// whose feature does not span a real range in the training data (largest
// over smallest below MinInputSpan) is left out: it would be fitted to
// noise.
type RuntimeFit struct {
	// Coef holds c0 (seconds), c1 (seconds per private byte), c2 (seconds
	// per unit of ln private bytes) and c3 (seconds per shared byte).
	Coef [4]float64
	// Hedge, when set, is a second size model, on the shared input alone,
	// and Coef the one on the private input alone: both inputs spanned a
	// range in training, but the training runs could not tell which of
	// them the runtime follows (confounded), so the prediction is the
	// geometric mean of the two.
	Hedge *[4]float64
	// Regression is true when the size model is used; false means every
	// prediction is Median (the inputs did not span MinInputSpan, or the
	// size model explained the runtimes no better than Median).
	Regression bool
	// Median is the robust location of the observed runtimes in seconds:
	// the median of the per-run medians when the observations come from
	// several runs (so that one large run does not outvote the others),
	// else the median.
	Median float64
	// N is the number of observations fitted.
	N int
	// Uncertainty is the relative standard error of the chosen model for a
	// new task (inflated for few observations; see inflate).
	Uncertainty float64
	// MedianUncertainty is that of the median model, which is also used
	// for tasks whose input size is unknown.
	MedianUncertainty float64
	// P90Ratio is the 90th percentile of observed over predicted runtime
	// on the fitted observations (at least 1): a task's p90 runtime is
	// P90Ratio times its p50 prediction. With fewer than MinQuantileObs
	// observations it is 1 + 1.2816 x the uncertainty (the normal's p90).
	P90Ratio float64
}

// MinInputSpan is how much the training inputs must span (largest over
// smallest) before the size model may use them.
const MinInputSpan = 1.5

// MinQuantileObs is the number of observations from which P90Ratio is
// read from them rather than from the uncertainty.
const MinQuantileObs = 5

// z90 is the standard normal's 90th percentile.
const z90 = 1.2815515655446004

// Predict returns the runtime in seconds for a task of privateBytes of
// private and sharedBytes of shared input, and its relative uncertainty.
// An unknown size (both <= 0) gives the median.
func (f *RuntimeFit) Predict(privateBytes, sharedBytes float64) (seconds, uncertainty float64) {
	if !f.Regression || (privateBytes <= 0 && sharedBytes <= 0) {
		return f.Median, f.MedianUncertainty
	}
	return f.model(sample{private: privateBytes, shared: sharedBytes}), f.Uncertainty
}

// model evaluates the size model at s.
func (f *RuntimeFit) model(s sample) float64 {
	v := sizeModel(f.Coef, s)
	if f.Hedge != nil {
		v = math.Sqrt(math.Max(v, minModelSeconds) * math.Max(sizeModel(*f.Hedge, s), minModelSeconds))
	}
	return v
}

// minModelSeconds floors each side of a hedged model's geometric mean.
const minModelSeconds = 1e-3

// sizeModel is c0 + c1*x + c2*ln(x+1) + c3*s at s.
func sizeModel(c [4]float64, s sample) float64 {
	return c[0] + c[1]*s.private + c[2]*math.Log1p(s.private) + c[3]*s.shared
}

// zeroRuntime replaces a recorded runtime of exactly 0 s: traces with
// 1-second resolution (Nextflow) write 0 for anything shorter, so such a
// task took between 0 and 1 s; half a second is the unbiased guess.
const zeroRuntime = 0.5

// sample is one observation for fitRuntime.
type sample struct {
	private, shared float64 // input bytes
	run             string  // the run it came from ("" unknown)
	y               float64 // seconds on a speed-1.0 machine
}

// fitRuntime fits runtimes ys (seconds, on a speed-1.0 machine) against
// private input sizes xs (bytes), with no shared input and one run; see
// fitSamples.
func fitRuntime(xs, ys []float64) *RuntimeFit {
	ss := make([]sample, len(ys))
	for i := range ys {
		ss[i] = sample{private: xs[i], y: ys[i]}
	}
	return fitSamples(ss)
}

// fitSamples fits the runtime model to ss (at least one).
//
// It always computes the median model: the median of per-run medians (the
// median when one run), whose uncertainty is the relative standard
// deviation around it (relSpread). When at least three observations exist
// and some feature spans MinInputSpan, it also solves the size model by
// NNLS on the spanning features' columns (scaled to a maximum of 1 for
// conditioning), and keeps it if its median absolute percentage error on
// the observations is below the median model's (see mdape). Its
// uncertainty is then the relative residual standard error
// sqrt(RSS/(n-p))/mean(y), p the number of positive coefficients,
// inflated for few observations (inflate). P90Ratio comes from the chosen
// model's residual ratios.
func fitSamples(ss []sample) *RuntimeFit {
	n := len(ss)
	y := make([]float64, n)
	for i := range ss {
		if ss[i].y <= 0 {
			ss[i].y = zeroRuntime
		}
		y[i] = ss[i].y
	}
	med := runMedian(ss)
	fit := &RuntimeFit{Median: med, N: n, MedianUncertainty: relSpread(y, med)}
	fit.Uncertainty = fit.MedianUncertainty
	preds := constant(n, med)
	useX, useS := spans(ss, func(s sample) float64 { return s.private }), spans(ss, func(s sample) float64 { return s.shared })
	if n >= 3 && (useX || useS) {
		w := runWeights(ss)
		if cand, p, ok := sizeFit(ss, w, useX, useS); ok && cand.scales() {
			model := make([]float64, n)
			for i, s := range ss {
				model[i] = cand.model(s)
			}
			if mdape(model, y, w) < mdape(preds, y, w) {
				fit.Coef, fit.Hedge, fit.Regression = cand.Coef, cand.Hedge, true
				fit.Uncertainty = inflate(relResidual(model, y, p), n, p)
				preds = model
			}
		}
	}
	fit.P90Ratio = p90Ratio(preds, y, fit.Uncertainty)
	return fit
}

// scales reports whether the size model grows with some input: a fit
// whose input coefficients are all zero is a constant, the weighted mean,
// which is no size model and no better a location than the median of the
// per-run medians.
func (f *RuntimeFit) scales() bool {
	for _, c := range [][4]float64{f.Coef, hedgeOrZero(f.Hedge)} {
		if c[1] > 0 || c[2] > 0 || c[3] > 0 {
			return true
		}
	}
	return false
}

func hedgeOrZero(h *[4]float64) [4]float64 {
	if h == nil {
		return [4]float64{}
	}
	return *h
}

// sizeFit solves the size model on the spanning features (useX, useS),
// or, where both span but the runs confound them (confounded), one model
// on each, hedged (RuntimeFit.Hedge). It returns the coefficients (in a
// RuntimeFit's Coef and Hedge), the number of positive coefficients of
// the larger model, and false when a solve fails.
func sizeFit(ss []sample, w []float64, useX, useS bool) (RuntimeFit, int, bool) {
	if useX && useS && confounded(ss) {
		cx, _, px, okx := solveSizeModel(ss, w, true, false)
		cs, _, ps, oks := solveSizeModel(ss, w, false, true)
		if okx && oks {
			return RuntimeFit{Coef: cx, Hedge: &cs}, max(px, ps), true
		}
	}
	c, _, p, ok := solveSizeModel(ss, w, useX, useS)
	return RuntimeFit{Coef: c}, p, ok
}

// confounded reports whether the runs of ss cannot tell the private input
// from the shared one: over the runs' median (private, shared) points,
// the private and shared inputs change together, on one line. Two
// distinct points are always on one; a single run's tasks, whose shared
// input is one file, cannot separate them either.
func confounded(ss []sample) bool {
	xs, ss2 := map[string][]float64{}, map[string][]float64{}
	var runs []string
	for _, s := range ss {
		if _, ok := xs[s.run]; !ok {
			runs = append(runs, s.run)
		}
		xs[s.run] = append(xs[s.run], s.private)
		ss2[s.run] = append(ss2[s.run], s.shared)
	}
	type pt struct{ x, s float64 }
	var pts []pt
	var mx, ms float64
	for _, r := range runs {
		p := pt{median(xs[r]), median(ss2[r])}
		if !slices.Contains(pts, p) {
			pts = append(pts, p)
			mx, ms = math.Max(mx, p.x), math.Max(ms, p.s)
		}
	}
	if len(pts) <= 2 || mx == 0 || ms == 0 {
		return true
	}
	// Collinear when every cross product with the first two points is
	// near zero, in coordinates scaled to their largest value.
	ax, as := (pts[1].x-pts[0].x)/mx, (pts[1].s-pts[0].s)/ms
	for _, p := range pts[2:] {
		if bx, bs := (p.x-pts[0].x)/mx, (p.s-pts[0].s)/ms; math.Abs(ax*bs-as*bx) > 1e-3 {
			return false
		}
	}
	return true
}

// relResidual is the relative residual standard error of model against
// y with p fitted coefficients: sqrt(RSS/(n-p)) / mean(y).
func relResidual(model, y []float64, p int) float64 {
	var rss, sum float64
	for i := range y {
		r := y[i] - model[i]
		rss += r * r
		sum += y[i]
	}
	n := len(y)
	if n-p <= 0 || sum <= 0 {
		return 1
	}
	return math.Sqrt(rss/float64(n-p)) / (sum / float64(n))
}

func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// runMedian is the median of the per-run medians of ss's runtimes.
func runMedian(ss []sample) float64 {
	byRun := map[string][]float64{}
	var order []string
	for _, s := range ss {
		if _, ok := byRun[s.run]; !ok {
			order = append(order, s.run)
		}
		byRun[s.run] = append(byRun[s.run], s.y)
	}
	meds := make([]float64, 0, len(order))
	for _, r := range order {
		meds = append(meds, median(byRun[r]))
	}
	return median(meds)
}

// spans reports whether the positive values of feature f over ss span
// MinInputSpan (largest over smallest).
func spans(ss []sample, f func(sample) float64) bool {
	lo, hi := math.Inf(1), 0.0
	for _, s := range ss {
		if v := f(s); v > 0 {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	return hi > 0 && hi >= MinInputSpan*lo
}

// p90Ratio is the 90th percentile of y/pred (at least 1), or
// 1 + z90 x uncertainty with fewer than MinQuantileObs observations.
func p90Ratio(pred, y []float64, uncertainty float64) float64 {
	if len(y) < MinQuantileObs {
		return 1 + z90*uncertainty
	}
	rs := make([]float64, 0, len(y))
	for i := range y {
		if pred[i] > 0 {
			rs = append(rs, y[i]/pred[i])
		}
	}
	return math.Max(1, quantile(rs, 0.9))
}

// runWeights returns each observation's weight in the size model's fit
// and in its choice against the median: 1/(observations of its run) times
// the mean observations per run, so that every run counts as much as any
// other. A scale feature such as the shared input varies only between
// runs, and a run of 420 tasks would otherwise outvote one of 9 on it (as
// the median of per-run medians already avoids for the location). Within
// one run (or without run names) every weight is 1.
func runWeights(ss []sample) []float64 {
	per := map[string]float64{}
	for _, s := range ss {
		per[s.run]++
	}
	w := make([]float64, len(ss))
	for i, s := range ss {
		w[i] = float64(len(ss)) / float64(len(per)) / per[s.run]
	}
	return w
}

// mdape returns the median absolute percentage error, as a fraction, of
// predictions pred against observations y, observation i weighing w[i]
// (the weighted median; the median when the weights are equal). It is the criterion that picks between the size
// model and the median: robust to the long right tail real runtimes have,
// where a least-squares residual is not.
func mdape(pred, y, w []float64) float64 {
	type ape struct{ v, w float64 }
	es := make([]ape, len(y))
	var total float64
	for i, v := range y {
		es[i] = ape{math.Abs(pred[i]-v) / v, w[i]}
		total += w[i]
	}
	sort.Slice(es, func(a, b int) bool { return es[a].v < es[b].v })
	var acc float64
	for i, e := range es {
		acc += e.w
		if acc == total/2 && i+1 < len(es) {
			return (e.v + es[i+1].v) / 2 // between the middle two, as median
		}
		if acc > total/2 {
			return e.v
		}
	}
	return math.NaN()
}

// solveSizeModel returns the NNLS coefficients of the size model over the
// columns 1, x and ln(x+1) (with useX) and s (with useS), each
// observation's squared residual weighing w[i] (runWeights), the relative
// residual standard error, and the number of positive coefficients; ok is
// false when the solve fails or leaves no degrees of freedom.
func solveSizeModel(ss []sample, w []float64, useX, useS bool) (coef [4]float64, rel float64, p int, ok bool) {
	n := len(ss)
	cols := []int{0}
	if useX {
		cols = append(cols, 1, 2)
	}
	if useS {
		cols = append(cols, 3)
	}
	feature := func(s sample, j int) float64 {
		switch j {
		case 1:
			return s.private
		case 2:
			return math.Log1p(s.private)
		case 3:
			return s.shared
		}
		return 1
	}
	a := mat.NewDense(n, len(cols), nil)
	scale := make([]float64, len(cols))
	for i, s := range ss {
		for k, j := range cols {
			v := feature(s, j)
			a.Set(i, k, v)
			scale[k] = math.Max(scale[k], math.Abs(v))
		}
	}
	y := make([]float64, n)
	for k := range cols {
		if scale[k] == 0 {
			scale[k] = 1
		}
		for i := 0; i < n; i++ {
			a.Set(i, k, a.At(i, k)/scale[k]*math.Sqrt(w[i]))
		}
	}
	for i, s := range ss {
		y[i] = s.y * math.Sqrt(w[i])
	}
	sol, err := NNLS(a, mat.NewVecDense(n, y))
	if err != nil {
		return coef, 0, 0, false
	}
	for k, j := range cols {
		coef[j] = sol.AtVec(k) / scale[k]
		if coef[j] > 0 {
			p++
		}
	}
	var rss, sum float64
	for _, s := range ss {
		r := s.y - (coef[0] + coef[1]*s.private + coef[2]*math.Log1p(s.private) + coef[3]*s.shared)
		rss += r * r
		sum += s.y
	}
	if p == 0 || n-p <= 0 || sum <= 0 {
		return coef, 0, 0, false
	}
	return coef, math.Sqrt(rss/float64(n-p)) / (sum / float64(n)), p, true
}
