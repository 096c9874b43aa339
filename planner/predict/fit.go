package predict

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// RuntimeFit is the runtime model of one signature on a speed-1.0 machine
// for one workload profile, fitted from history (see fitRuntime).
//
// The size model follows Ernest (Venkataraman et al., NSDI 2016), which
// fits runtime as a non-negative combination of terms each describing one
// way work grows; Shardwise's single scale variable is the task's input
// size in bytes, x, so the terms are
//
//	runtime(x) = c0 + c1*x + c2*ln(x+1)        c0, c1, c2 >= 0
//
// c0 is fixed cost (start-up, loading an index), c1 work linear in the
// data (a scan) and c2 work that grows ever more slowly with it (tree
// builds, caches warming). Non-negativity keeps the model monotone in x,
// so it extrapolates sanely beyond the sizes observed.
type RuntimeFit struct {
	// Coef holds c0 (seconds), c1 (seconds per byte) and c2 (seconds per
	// unit of ln bytes).
	Coef [3]float64
	// Regression is true when the size model is used; false means every
	// prediction is Median (the inputs did not vary, or the size model
	// explained the runtimes no better than their median).
	Regression bool
	// Median is the median observed runtime in seconds.
	Median float64
	// N is the number of observations fitted.
	N int
	// Uncertainty is the relative standard error of the chosen model for a
	// new task (inflated for few observations; see inflate).
	Uncertainty float64
	// MedianUncertainty is that of the median model, which is also used
	// for tasks whose input size is unknown.
	MedianUncertainty float64
}

// Predict returns the runtime in seconds for inputBytes of input, and its
// relative uncertainty. An unknown size (inputBytes <= 0) gives the median.
func (f *RuntimeFit) Predict(inputBytes float64) (seconds, uncertainty float64) {
	if !f.Regression || inputBytes <= 0 {
		return f.Median, f.MedianUncertainty
	}
	return f.Coef[0] + f.Coef[1]*inputBytes + f.Coef[2]*math.Log1p(inputBytes), f.Uncertainty
}

// zeroRuntime replaces a recorded runtime of exactly 0 s: traces with
// 1-second resolution (Nextflow) write 0 for anything shorter, so such a
// task took between 0 and 1 s; half a second is the unbiased guess.
const zeroRuntime = 0.5

// fitRuntime fits runtimes ys (seconds, on a speed-1.0 machine) against
// input sizes xs (bytes); len(xs) must equal len(ys) > 0.
//
// It always computes the median model, whose uncertainty is the relative
// standard deviation around the median (relSpread). When at least three
// observations have inputs that differ, it also solves the size model by
// NNLS on the design matrix [1, x, ln(x+1)] (columns scaled to a maximum
// of 1 for conditioning), and keeps it if its median absolute percentage
// error on the observations is below the median model's (see mdape). Its
// uncertainty is then the relative residual standard error
// sqrt(RSS/(n-p))/mean(y), p the number of positive coefficients,
// inflated for few observations (inflate).
func fitRuntime(xs, ys []float64) *RuntimeFit {
	n := len(ys)
	y := make([]float64, n)
	for i, v := range ys {
		if v <= 0 {
			v = zeroRuntime
		}
		y[i] = v
	}
	sorted := append([]float64(nil), y...)
	med := median(sorted)
	fit := &RuntimeFit{Median: med, N: n, MedianUncertainty: relSpread(y, med)}
	fit.Uncertainty = fit.MedianUncertainty
	if n < 3 || !varies(xs) {
		return fit
	}
	coef, rel, p, ok := solveSizeModel(xs, y)
	if !ok {
		return fit
	}
	if mdape(xs, y, coef) < mdape(nil, y, [3]float64{med}) {
		fit.Coef, fit.Regression, fit.Uncertainty = coef, true, inflate(rel, n, p)
	}
	return fit
}

// mdape returns the median absolute percentage error, as a fraction, of
// the size model coef on observations (xs, y); nil xs evaluates the
// constant coef[0]. It is the criterion that picks between the size model
// and the median: robust to the long right tail real runtimes have, where
// a least-squares residual is not.
func mdape(xs, y []float64, coef [3]float64) float64 {
	errs := make([]float64, len(y))
	for i, v := range y {
		pred := coef[0]
		if xs != nil {
			pred += coef[1]*xs[i] + coef[2]*math.Log1p(xs[i])
		}
		errs[i] = math.Abs(pred-v) / v
	}
	return median(errs)
}

// varies reports whether xs holds at least two distinct values.
func varies(xs []float64) bool {
	for _, x := range xs[1:] {
		if x != xs[0] {
			return true
		}
	}
	return false
}

// solveSizeModel returns the NNLS coefficients of the size model, the
// relative residual standard error, and the number of positive
// coefficients; ok is false when the solve fails or leaves no degrees of
// freedom.
func solveSizeModel(xs, y []float64) (coef [3]float64, rel float64, p int, ok bool) {
	n := len(y)
	a := mat.NewDense(n, 3, nil)
	var scale [3]float64
	for i, x := range xs {
		row := [3]float64{1, x, math.Log1p(x)}
		for j, v := range row {
			a.Set(i, j, v)
			scale[j] = math.Max(scale[j], math.Abs(v))
		}
	}
	for j := range scale {
		if scale[j] == 0 {
			scale[j] = 1
		}
		for i := 0; i < n; i++ {
			a.Set(i, j, a.At(i, j)/scale[j])
		}
	}
	sol, err := NNLS(a, mat.NewVecDense(n, y))
	if err != nil {
		return coef, 0, 0, false
	}
	var rss, sum float64
	for j := range coef {
		coef[j] = sol.AtVec(j) / scale[j]
		if coef[j] > 0 {
			p++
		}
	}
	for i, x := range xs {
		r := y[i] - (coef[0] + coef[1]*x + coef[2]*math.Log1p(x))
		rss += r * r
		sum += y[i]
	}
	if p == 0 || n-p <= 0 || sum <= 0 {
		return coef, 0, 0, false
	}
	return coef, math.Sqrt(rss/float64(n-p)) / (sum / float64(n)), p, true
}
