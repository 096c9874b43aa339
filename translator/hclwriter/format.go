package hclwriter

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shardwise/shardwise/planner/units"
)

// A fraction before a unit is written only with at most maxSizeDecimals
// decimals and maxSizeDigits significant digits ("1.375GiB" yes,
// "4150.08KB" no): past that, plain bytes read better.
const (
	maxSizeDecimals = 3
	maxSizeDigits   = 4
)

// sizeUnits are the units FormatSize tries, binary first so that a tie in
// length prefers them.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"PiB", 1 << 50}, {"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"PB", 1e15}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
}

// FormatSize prints n bytes as a size string that units.ParseSize reads back
// as exactly n: the shortest of plain bytes ("2499B") and the exact
// number-and-unit forms whose number is whole or a short fraction (at most 3
// decimals and 4 significant digits: "40GiB", "1.5GB", "1.5GiB"). Ties go
// to units, binary first ("1KiB" over "1024B"). It returns an error for
// negative sizes and for sizes no string round-trips (some above 2^53 bytes,
// where ParseSize's float64 arithmetic loses bytes).
func FormatSize(n int64) (string, error) {
	if n < 0 {
		return "", fmt.Errorf("size %d bytes: must not be negative", n)
	}
	best := ""
	for _, u := range sizeUnits {
		if n < u.mult {
			continue
		}
		num := strconv.FormatFloat(float64(n)/float64(u.mult), 'f', -1, 64)
		if !shortNumber(num) {
			continue
		}
		s := num + u.suffix
		if roundTrips(s, n) && (best == "" || len(s) < len(best)) {
			best = s
		}
	}
	if s := strconv.FormatInt(n, 10) + "B"; roundTrips(s, n) && (best == "" || len(s) < len(best)) {
		best = s
	}
	if best == "" {
		return "", fmt.Errorf("size %d bytes: cannot be written exactly (above 2^53 bytes)", n)
	}
	return best, nil
}

// shortNumber reports whether num (a non-negative decimal) is whole or a
// fraction within maxSizeDecimals and maxSizeDigits.
func shortNumber(num string) bool {
	i := strings.IndexByte(num, '.')
	if i < 0 {
		return true
	}
	digits := strings.TrimLeft(strings.Replace(num, ".", "", 1), "0")
	return len(num)-i-1 <= maxSizeDecimals && len(digits) <= maxSizeDigits
}

func roundTrips(s string, n int64) bool {
	got, err := units.ParseSize(s)
	return err == nil && got == n
}

// FormatDuration prints d in Go's duration syntax ("15.712s", "1h2m0.5s"),
// which units.ParseDuration reads back to the same nanosecond count. It
// returns an error for negative durations, which the graph language rejects.
func FormatDuration(d time.Duration) (string, error) {
	if d < 0 {
		return "", fmt.Errorf("duration %s: must not be negative", d)
	}
	return d.String(), nil
}
