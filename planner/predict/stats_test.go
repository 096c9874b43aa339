package predict

import (
	"math"
	"testing"
)

// TestQuantile: type 7 (R's and NumPy's default) on a known sample, the
// ends, and the defined empty-slice result.
func TestQuantile(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{3, 1, 2, 4}, 0.5, 2.5},
		{[]float64{3, 1, 2, 4}, 0.9, 3.7},
		{[]float64{3, 1, 2, 4}, 0, 1},
		{[]float64{3, 1, 2, 4}, 1, 4},
		{[]float64{7}, 0.9, 7},
	} {
		if got, ok := Quantile(append([]float64(nil), c.xs...), c.q); !ok || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile(%v, %g) = %g, %v; want %g", c.xs, c.q, got, ok, c.want)
		}
	}
	if got, ok := Quantile(nil, 0.5); ok || !math.IsNaN(got) {
		t.Errorf("Quantile(empty) = %g, %v; want NaN, false", got, ok)
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("quantile(empty) = %g, want 0", got)
	}
}
