// Package units parses and prints the sizes and durations that graphs and
// catalogs are written in: "40GiB", "512MB", "1.5TiB", "90s", "2h30m".
//
// Sizes: a number followed by B, KB, MB, GB, TB, PB (powers of 1000) or
// KiB, MiB, GiB, TiB, PiB (powers of 1024); a bare number is bytes. Units are
// case-sensitive except that "b" is not accepted for bytes (it would read
// as bits). Durations: Go's time.ParseDuration syntax, plus "d" for days; a
// bare number is seconds.
package units

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	// Longest suffixes first so "MiB" is not read as "B".
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"PiB", 1 << 50},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"PB", 1e15},
	{"B", 1},
}

// ParseSize parses a size such as "40GiB" into bytes. It returns an error
// naming the accepted units for anything else, for negative sizes or sizes
// beyond int64, and for a fractional number of bytes ("64.5" or "64.5B"):
// no amount is 64.5 bytes, and such a number has almost always lost its
// unit. A fraction of a larger unit is rounded to whole bytes ("2.7KiB" is
// 2765 bytes).
func ParseSize(s string) (int64, error) {
	b, _, err := parseSize(s)
	return b, err
}

// parseSize is ParseSize, also reporting whether s named a unit.
func parseSize(s string) (bytes int64, hasUnit bool, err error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, false, fmt.Errorf("empty size")
	}
	num, mult, unit := in, 1.0, ""
	for _, u := range sizeUnits {
		if strings.HasSuffix(in, u.suffix) {
			num, mult, unit = strings.TrimSpace(strings.TrimSuffix(in, u.suffix)), u.mult, u.suffix
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false, fmt.Errorf("invalid size %q: want a number and a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", s)
	}
	if v < 0 {
		return 0, false, fmt.Errorf("invalid size %q: must not be negative", s)
	}
	if mult == 1 && v != math.Trunc(v) {
		if unit == "" {
			return 0, false, fmt.Errorf("invalid size %q: a bare number is bytes, and %s bytes is not a whole number; give a unit, such as \"%sMiB\"", s, num, num)
		}
		return 0, false, fmt.Errorf("invalid size %q: %s bytes is not a whole number of bytes", s, num)
	}
	b := v * mult
	if b > math.MaxInt64 {
		return 0, false, fmt.Errorf("invalid size %q: too large", s)
	}
	return int64(math.Round(b)), unit != "", nil
}

// ParseSizeMiB parses a size and returns it in MiB, rounded up.
func ParseSizeMiB(s string) (int64, error) {
	b, err := ParseSize(s)
	if err != nil {
		return 0, err
	}
	return (b + (1<<20 - 1)) >> 20, nil
}

// ParseResourceMiB parses a memory, disk or GPU memory amount and returns
// it in MiB, rounded up, as Nomad counts resources. Besides ParseSize's
// errors, a bare number (bytes) other than 0 below 1 MiB is an error: in a
// Nomad job "memory = 64" means 64 MiB, so such a number has almost always
// lost its unit, and taking it as bytes would ask for 1 MiB. small reports
// a size other than 0 below 1 MiB written with a unit ("512KiB"): meant,
// but too little for a process's memory, which callers may warn about.
func ParseResourceMiB(s string) (mib int64, small bool, err error) {
	b, hasUnit, err := parseSize(s)
	if err != nil {
		return 0, false, err
	}
	if b > 0 && b < 1<<20 {
		if !hasUnit {
			num := strings.TrimSpace(s)
			return 0, false, fmt.Errorf("invalid size %q: a bare number is bytes, and %s bytes is below 1 MiB; give a unit, such as \"%sMiB\"", s, num, num)
		}
		small = true
	}
	return (b + (1<<20 - 1)) >> 20, small, nil
}

// ParseDuration parses a duration such as "90s", "1h30m" or "2d". A bare
// number is seconds. Negative durations are an error.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if v, err := strconv.ParseFloat(in, 64); err == nil {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("invalid duration %q: must be a non-negative number of seconds", s)
		}
		return nanoseconds(s, v*float64(time.Second))
	}
	if strings.HasSuffix(in, "d") {
		v, err := strconv.ParseFloat(strings.TrimSuffix(in, "d"), 64)
		if err == nil && v >= 0 && !math.IsInf(v, 0) {
			return nanoseconds(s, v*24*float64(time.Hour))
		}
	}
	d, err := time.ParseDuration(in)
	if err != nil {
		if goDuration.MatchString(in) {
			// Well formed, so time.ParseDuration refused it for overflow.
			return 0, fmt.Errorf("invalid duration %q: too large (at most %s)", s, time.Duration(math.MaxInt64))
		}
		return 0, fmt.Errorf("invalid duration %q: want a number and a unit (ms, s, m, h, d)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	return d, nil
}

// goDuration matches time.ParseDuration's syntax without a sign.
var goDuration = regexp.MustCompile(`^(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`)

// nanoseconds is ns as a Duration, or an error when that is beyond
// time.Duration's range (about 292 years): converting such a float wraps to
// a negative number, which callers would read as "not given".
func nanoseconds(s string, ns float64) (time.Duration, error) {
	if ns >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid duration %q: too large (at most %s)", s, time.Duration(math.MaxInt64))
	}
	return time.Duration(ns), nil
}

// FormatBytes prints n bytes with a binary unit, e.g. "1.5GiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + []string{"KiB", "MiB", "GiB", "TiB", "PiB"}[exp]
}

// FormatSeconds prints a duration in seconds compactly, e.g. "1h02m", "95.0s";
// from 1e15 s (30 million years) on, or NaN, as a number: "6e+101s".
func FormatSeconds(s float64) string {
	var buf [32]byte
	return string(AppendSeconds(buf[:0], s))
}

// AppendSeconds appends FormatSeconds(s) to dst, for callers that build
// longer texts (the planner writes several per shard).
func AppendSeconds(dst []byte, s float64) []byte {
	switch {
	case !(s < 1e15) && !(s < 0): // NaN, infinite, or hours beyond int's range
		return append(strconv.AppendFloat(dst, s, 'g', 3, 64), 's')
	case s < 60:
		return append(strconv.AppendFloat(dst, s, 'f', 1, 64), 's')
	case s < 3600:
		return appendTwoParts(dst, int(s)/60, 'm', int(s)%60, 's')
	default:
		return appendTwoParts(dst, int(s)/3600, 'h', (int(s)%3600)/60, 'm')
	}
}

// appendTwoParts appends a, unit a, b as two digits, unit b: "5m07s" (as
// fmt's "%d%c%02d%c").
func appendTwoParts(dst []byte, a int, ua byte, b int, ub byte) []byte {
	dst = append(strconv.AppendInt(dst, int64(a), 10), ua)
	if b < 10 {
		dst = append(dst, '0')
	}
	return append(strconv.AppendInt(dst, int64(b), 10), ub)
}

// Count returns n and noun, plural unless n is 1: "1 job", "3 jobs".
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
