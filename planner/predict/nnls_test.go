package predict

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestNNLSHandComputed(t *testing.T) {
	tests := []struct {
		name string
		a    [][]float64
		b    []float64
		want []float64
	}{
		// Identity: the negative component is clipped to 0.
		{"identity", [][]float64{{1, 0}, {0, 1}}, []float64{1, -1}, []float64{1, 0}},
		// Exact line y = 1 + 2x through (1,3), (2,5), (3,7).
		{"exact line", [][]float64{{1, 1}, {1, 2}, {1, 3}}, []float64{3, 5, 7}, []float64{1, 2}},
		// Unconstrained optimum is positive: (A^T A)^-1 A^T b = (4/3, 1/3).
		{"interior", [][]float64{{1, 0}, {0, 1}, {1, 1}}, []float64{2, 1, 1}, []float64{4.0 / 3, 1.0 / 3}},
		// Unconstrained optimum (2, -1) is infeasible; with x2 = 0,
		// minimising (x1-2)^2 + (x1-1)^2 gives x1 = 1.5.
		{"constrained", [][]float64{{1, 0}, {0, 1}, {1, 1}}, []float64{2, -1, 1}, []float64{1.5, 0}},
		// MATLAB's lsqnonneg documentation example: x = (0, 0.6929).
		{"lsqnonneg doc", [][]float64{{0.0372, 0.2869}, {0.6861, 0.7071}, {0.6233, 0.6245}, {0.6344, 0.6170}},
			[]float64{0.8587, 0.1781, 0.0747, 0.8405}, []float64{0, 0.6929}},
		// All-negative correlation: x = 0.
		{"zero", [][]float64{{1, 1}, {1, 1}}, []float64{-1, -2}, []float64{0, 0}},
		// Duplicate column: the solution puts weight on one copy only.
		{"dependent", [][]float64{{1, 1, 0}, {2, 2, 0}, {0, 0, 1}}, []float64{1, 2, 3}, []float64{1, 0, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := NNLS(dense(tt.a), mat.NewVecDense(len(tt.b), tt.b))
			if err != nil {
				t.Fatal(err)
			}
			for j, w := range tt.want {
				if math.Abs(x.AtVec(j)-w) > 1e-4 {
					t.Fatalf("x = %v, want %v", mat.Formatted(x.T()), tt.want)
				}
			}
		})
	}
}

// TestNNLSMatchesEnumeration compares NNLS with the exhaustive solution:
// the best of the unconstrained least squares solutions on every subset of
// columns that are non-negative.
func TestNNLSMatchesEnumeration(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		m, n := 3+rng.IntN(6), 1+rng.IntN(3)
		a := mat.NewDense(m, n, nil)
		b := mat.NewVecDense(m, nil)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				a.Set(i, j, rng.NormFloat64())
			}
			b.SetVec(i, rng.NormFloat64())
		}
		x, err := NNLS(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := residual(a, b, x), bestSubset(a, b); got > want+1e-9 {
			t.Fatalf("trial %d: residual %g, enumeration %g", trial, got, want)
		}
		for j := 0; j < n; j++ {
			if x.AtVec(j) < 0 {
				t.Fatalf("negative coefficient %v", x.AtVec(j))
			}
		}
	}
}

func TestNNLSPanicsOnShape(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	NNLS(mat.NewDense(2, 1, nil), mat.NewVecDense(3, nil))
}

func dense(rows [][]float64) *mat.Dense {
	a := mat.NewDense(len(rows), len(rows[0]), nil)
	for i, r := range rows {
		a.SetRow(i, r)
	}
	return a
}

func residual(a *mat.Dense, b, x *mat.VecDense) float64 {
	var r mat.VecDense
	r.MulVec(a, x)
	r.SubVec(b, &r)
	return mat.Norm(&r, 2)
}

func bestSubset(a *mat.Dense, b *mat.VecDense) float64 {
	m, n := a.Dims()
	best := mat.Norm(b, 2)
	for mask := 1; mask < 1<<n; mask++ {
		var cols []int
		for j := 0; j < n; j++ {
			if mask&(1<<j) != 0 {
				cols = append(cols, j)
			}
		}
		sub := mat.NewDense(m, len(cols), nil)
		for i := 0; i < m; i++ {
			for c, j := range cols {
				sub.Set(i, c, a.At(i, j))
			}
		}
		var z mat.VecDense
		if err := z.SolveVec(sub, b); err != nil {
			continue
		}
		x := mat.NewVecDense(n, nil)
		ok := true
		for c, j := range cols {
			if z.AtVec(c) < 0 {
				ok = false
			}
			x.SetVec(j, z.AtVec(c))
		}
		if ok {
			best = math.Min(best, residual(a, b, x))
		}
	}
	return best
}
