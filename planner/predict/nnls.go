package predict

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// NNLS solves the non-negative least squares problem
//
//	minimise ||A x - b||_2  subject to  x >= 0
//
// by the active-set algorithm of Lawson and Hanson (C. L. Lawson and
// R. J. Hanson, Solving Least Squares Problems, Prentice-Hall 1974,
// chapter 23, algorithm NNLS), the solver Ernest uses to fit its
// performance models (S. Venkataraman et al., "Ernest: Efficient
// Performance Prediction for Large-Scale Advanced Analytics", NSDI 2016).
//
// a is m x n and b has length m; the result has length n. Columns of a
// that are (numerically) linear combinations of columns already in the
// passive set are left at 0. NNLS panics if b's length is not m, and
// returns an error if a has no columns or the iteration limit (3n outer
// steps, as in Lawson and Hanson) is reached. Columns of very different
// magnitude should be scaled by the caller for accuracy; scaling column j
// by s > 0 scales x_j by 1/s and keeps x >= 0.
func NNLS(a mat.Matrix, b mat.Vector) (*mat.VecDense, error) {
	m, n := a.Dims()
	if b.Len() != m {
		panic(fmt.Sprintf("predict: NNLS: b has length %d, want %d (rows of A)", b.Len(), m))
	}
	if n == 0 {
		return nil, errors.New("nnls: A has no columns")
	}
	s := &nnlsState{a: a, b: b, m: m, n: n, x: mat.NewVecDense(n, nil),
		passive: make([]bool, n), excluded: make([]bool, n)}
	s.tol = 10 * (math.Nextafter(1, 2) - 1) * mat.Norm(a, 1) * float64(max(m, n))
	for iter := 0; iter < 3*n; iter++ {
		j := s.bestInactive()
		if j < 0 {
			return s.x, nil
		}
		s.passive[j] = true
		if !s.innerLoop(j) {
			s.passive[j], s.excluded[j] = false, true
		}
	}
	if s.bestInactive() < 0 {
		return s.x, nil
	}
	return s.x, fmt.Errorf("nnls: no convergence after %d iterations", 3*n)
}

// nnlsState is the working storage of one NNLS solve.
type nnlsState struct {
	a        mat.Matrix
	b        mat.Vector
	m, n     int
	x        *mat.VecDense
	passive  []bool // the passive set P: coefficients free to be positive
	excluded []bool // columns dependent on P, never tried again
	tol      float64
}

// bestInactive returns the column outside P with the largest positive
// gradient w = A^T (b - A x), or -1 when every such w_j <= tol (the
// Karush-Kuhn-Tucker conditions hold and x is optimal).
func (s *nnlsState) bestInactive() int {
	var r mat.VecDense
	r.MulVec(s.a, s.x)
	r.SubVec(s.b, &r)
	var w mat.VecDense
	w.MulVec(s.a.T(), &r)
	best, bestW := -1, s.tol
	for j := 0; j < s.n; j++ {
		if !s.passive[j] && !s.excluded[j] && w.AtVec(j) > bestW {
			best, bestW = j, w.AtVec(j)
		}
	}
	return best
}

// innerLoop solves the unconstrained problem on P and steps back toward
// the feasible region until the solution is positive on P (Lawson and
// Hanson, steps 6-11). It reports false when the new column j makes A_P
// singular, or the solve would not raise x_j above 0 (in exact arithmetic
// this cannot happen; numerically it marks a dependent column).
func (s *nnlsState) innerLoop(j int) bool {
	for guard := 0; guard <= s.n; guard++ {
		z, ok := s.solvePassive()
		if !ok || (guard == 0 && z[j] <= 0) {
			return false
		}
		alpha, done := s.stepLength(z)
		for k := 0; k < s.n; k++ {
			if !s.passive[k] {
				continue
			}
			xk := s.x.AtVec(k) + alpha*(z[k]-s.x.AtVec(k))
			if !done && xk <= s.tol {
				s.passive[k], xk = false, 0
			}
			s.x.SetVec(k, xk)
		}
		if done {
			return true
		}
	}
	return true
}

// stepLength returns the largest alpha in (0, 1] that keeps x + alpha
// (z - x) >= 0 on P, and whether z itself is feasible (alpha = 1).
func (s *nnlsState) stepLength(z []float64) (float64, bool) {
	alpha := math.Inf(1)
	for k := 0; k < s.n; k++ {
		if s.passive[k] && z[k] <= 0 {
			xk := s.x.AtVec(k)
			alpha = math.Min(alpha, xk/(xk-z[k]))
		}
	}
	if math.IsInf(alpha, 1) {
		return 1, true
	}
	return alpha, false
}

// solvePassive solves min ||A_P z_P - b|| by QR and returns z with zeros
// outside P; ok is false when A_P is rank deficient.
func (s *nnlsState) solvePassive() ([]float64, bool) {
	var cols []int
	for k, p := range s.passive {
		if p {
			cols = append(cols, k)
		}
	}
	if len(cols) > s.m {
		return nil, false
	}
	ap := mat.NewDense(s.m, len(cols), nil)
	for i := 0; i < s.m; i++ {
		for c, k := range cols {
			ap.Set(i, c, s.a.At(i, k))
		}
	}
	var qr mat.QR
	qr.Factorize(ap)
	var zp mat.VecDense
	if err := qr.SolveVecTo(&zp, false, s.b); err != nil {
		return nil, false
	}
	z := make([]float64, s.n)
	for c, k := range cols {
		if math.IsNaN(zp.AtVec(c)) || math.IsInf(zp.AtVec(c), 0) {
			return nil, false
		}
		z[k] = zp.AtVec(c)
	}
	return z, true
}
