package evaluate

import (
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/shardwise/shardwise/planner/predict"
)

// ernest fits y = c0 + c1·x + c2·ln(x+1) with c >= 0 to (xs, ys) by
// predict.NNLS, the columns scaled to a largest magnitude of 1 for
// conditioning, and returns the fit evaluated at x. It falls back to the
// mean of ys when the solve fails. len(xs) must equal len(ys) > 0.
func ernest(xs, ys []float64, x float64) float64 {
	n := len(ys)
	a := mat.NewDense(n, 3, nil)
	var scale [3]float64
	for i, v := range xs {
		row := ernestRow(v)
		for j := range row {
			a.Set(i, j, row[j])
			scale[j] = math.Max(scale[j], math.Abs(row[j]))
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
	sol, err := predict.NNLS(a, mat.NewVecDense(n, append([]float64(nil), ys...)))
	if err != nil {
		var sum float64
		for _, y := range ys {
			sum += y
		}
		return sum / float64(n)
	}
	row := ernestRow(x)
	var y float64
	for j := range row {
		y += sol.AtVec(j) / scale[j] * row[j]
	}
	return y
}

// ernestRow is the model's terms at input size x bytes: 1, x, ln(x+1).
func ernestRow(x float64) [3]float64 { return [3]float64{1, x, math.Log1p(x)} }
