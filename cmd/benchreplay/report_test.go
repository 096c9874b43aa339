package main

import (
	"slices"
	"testing"
)

// The p90 column is the nearest-rank quantile (as before gonum computed
// it): the smallest value with at least 90% of the values at or below it;
// the input keeps its order.
func TestNearestRank(t *testing.T) {
	xs := []float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}
	orig := slices.Clone(xs)
	for _, tt := range []struct{ q, want float64 }{{0.1, 1}, {0.5, 5}, {0.9, 9}, {0.91, 10}, {1, 10}} {
		if got := nearestRank(xs, tt.q); got != tt.want {
			t.Errorf("nearestRank(1..10, %g) = %g, want %g", tt.q, got, tt.want)
		}
	}
	if got := nearestRank([]float64{3}, 0.9); got != 3 {
		t.Errorf("nearestRank([3], 0.9) = %g, want 3", got)
	}
	if !slices.Equal(xs, orig) {
		t.Errorf("input reordered: %v", xs)
	}
}
