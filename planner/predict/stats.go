package predict

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Quantile returns the q-quantile (0 <= q <= 1) of xs by linear
// interpolation between order statistics (Hyndman and Fan 1996, type 7,
// the default of R and NumPy), and true. It sorts xs in place. For an
// empty slice it returns NaN and false: the caller says what no data
// means (0 for the predictor, "-" in reports). The one quantile of the
// repository: the predictor, the evaluation and the feedback report use it.
func Quantile(xs []float64, q float64) (float64, bool) {
	if len(xs) == 0 {
		return math.NaN(), false
	}
	sort.Float64s(xs)
	h := q * float64(len(xs)-1)
	lo := int(math.Floor(h))
	if lo >= len(xs)-1 {
		return xs[len(xs)-1], true
	}
	return xs[lo] + (h-float64(lo))*(xs[lo+1]-xs[lo]), true
}

// quantile is Quantile with 0 for an empty slice: no observations, no
// evidence.
func quantile(xs []float64, q float64) float64 {
	if v, ok := Quantile(xs, q); ok {
		return v
	}
	return 0
}

// median returns the median of xs (sorting xs in place), 0 if empty.
func median(xs []float64) float64 { return quantile(xs, 0.5) }

// minUncertainty is the smallest relative uncertainty any history estimate
// reports: observations repeat to a few percent at best.
const minUncertainty = 0.05

// inflate turns a relative residual standard error rel, estimated from n
// observations with p fitted parameters, into the relative uncertainty of
// one new prediction:
//
//	u = rel * sqrt(1 + p/n) * t(0.8413; n-p)
//
// sqrt(1 + p/n) adds the error of the fitted parameters to the noise of a
// new observation (the prediction interval of least squares), and the
// Student-t quantile at the one-sigma level of the normal (0.8413) widens
// it when few degrees of freedom remain. With n <= p the spread cannot be
// estimated and u is 1.0 (±100%). The result is at least minUncertainty.
func inflate(rel float64, n, p int) float64 {
	df := n - p
	if df <= 0 || math.IsNaN(rel) || math.IsInf(rel, 0) {
		return 1
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(0.8413447460685429)
	return math.Max(minUncertainty, rel*math.Sqrt(1+float64(p)/float64(n))*t)
}

// relSpread returns the inflated relative standard deviation of xs around
// centre (see inflate, with one parameter): how far a new observation is
// likely to fall from centre, relative to it.
func relSpread(xs []float64, centre float64) float64 {
	if centre <= 0 || len(xs) == 0 {
		return 1
	}
	var ss float64
	for _, x := range xs {
		ss += (x - centre) * (x - centre)
	}
	if len(xs) < 2 {
		return 1
	}
	return inflate(math.Sqrt(ss/float64(len(xs)-1))/centre, len(xs), 1)
}
