package sdk

import (
	"math"
	"slices"
	"testing"
)

func TestParseTaskTimes(t *testing.T) {
	near := func(a, b []float64) bool {
		return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Abs(x-y) < 1e-6 })
	}
	good := map[string][]float64{
		"0 1733356800.250000000\n1 1733356803.500000000\n2 1733356805.500000000\n": {3.25, 2},
		"\n0 100.0\n\n1 100.0\n2 101.5\n":                                          {0, 1.5},
	}
	for data, want := range good {
		got, err := ParseTaskTimes([]byte(data), 2)
		if err != nil || !near(got, want) {
			t.Errorf("ParseTaskTimes(%q) = %v, %v; want %v", data, got, err, want)
		}
	}
	bad := []string{
		"",                           // never written
		"0 100\n1 103\n",             // stopped after the first task
		"0 100\n2 103\n1 104\n",      // out of order
		"0 100\n1 103\n2 102\n",      // clock stepped back
		"garbled\n2 105\n",           // overwritten by a task
		"0 100\n1 x\n2 105\n",        // no time
		"0 100\n1 -3\n2 105\n",       // negative
		"0 100\n1 103\n2 104\n3 5\n", // a boundary too many
		"0\n1 103\n2 104\n",          // no time at all
		// date without %N: whole seconds time a task of 0.9 s as 0 or
		// 1 s, too coarse to learn from.
		"0 1733356800.%N\n1 1733356803.N\n2 1733356805\n",
		"0 100.5\n1 103\n2 104.5\n",
	}
	for _, data := range bad {
		if got, err := ParseTaskTimes([]byte(data), 2); err == nil {
			t.Errorf("ParseTaskTimes(%q) = %v, want an error", data, got)
		}
	}
	if _, err := ParseTaskTimes([]byte("0 1\n"), 0); err == nil {
		t.Error("ParseTaskTimes for 0 tasks: no error")
	}
	for n, want := range map[int]bool{0: false, 1: false, 2: true, MaxTimedTasks: true, MaxTimedTasks + 1: false} {
		if TimesTasks(n) != want {
			t.Errorf("TimesTasks(%d) = %v, want %v", n, !want, want)
		}
	}
}
