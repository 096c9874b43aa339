package evaluate

import (
	"math"
	"testing"
)

// mean is gonum's stat.Mean: no values give NaN (a goal with nothing
// measured is not met), not 0.
func TestMeanOfNothingIsNaN(t *testing.T) {
	if got := mean([]float64{1, 2, 4.5}); got != 2.5 {
		t.Errorf("mean(1, 2, 4.5) = %g, want 2.5", got)
	}
	if got := mean(nil); !math.IsNaN(got) {
		t.Errorf("mean(nil) = %g, want NaN", got)
	}
}
