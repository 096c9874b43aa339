package units

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		bad  bool
	}{
		{"40GiB", 40 << 30, false},
		{"512MB", 512e6, false},
		{"1.5KiB", 1536, false},
		{"100", 100, false},
		{"7 B", 7, false},
		{"", 0, true},
		{"12 parsecs", 0, true},
		{"-1GiB", 0, true},
		{"10gb", 0, true},
		{"99999999PiB", 0, true},
	}
	for _, c := range cases {
		got, err := ParseSize(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("ParseSize(%q) = %d, want error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"90s", 90 * time.Second, false},
		{"1h30m", 90 * time.Minute, false},
		{"2d", 48 * time.Hour, false},
		{"2.5", 2500 * time.Millisecond, false},
		{"-5s", 0, true},
		{"soon", 0, true},
	}
	for _, c := range cases {
		got, err := ParseDuration(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("ParseDuration(%q) = %v, want error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestFormat(t *testing.T) {
	if got := FormatBytes(3 << 30); got != "3.0GiB" {
		t.Errorf("FormatBytes = %q", got)
	}
	if got := FormatSeconds(3725); got != "1h02m" {
		t.Errorf("FormatSeconds = %q", got)
	}
	for s, want := range map[float64]string{
		0: "0.0s", 59.94: "59.9s", 60: "1m00s", 125.9: "2m05s", 3599.9: "59m59s",
		3600: "1h00m", 36000 + 600: "10h10m", 400000: "111h06m",
	} {
		if got := FormatSeconds(s); got != want {
			t.Errorf("FormatSeconds(%g) = %q, want %q", s, got, want)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 jobs", 1: "1 job", 2: "2 jobs"} {
		if got := Count(n, "job"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestParseSizeFractionalBytes checks that a fraction of a byte is an
// error naming the unit assumed, while a fraction of a larger unit is
// rounded to whole bytes.
func TestParseSizeFractionalBytes(t *testing.T) {
	for in, want := range map[string]string{
		"64.5":  `invalid size "64.5": a bare number is bytes, and 64.5 bytes is not a whole number; give a unit, such as "64.5MiB"`,
		"0.5B":  `invalid size "0.5B": 0.5 bytes is not a whole number of bytes`,
		"1e-3":  `invalid size "1e-3": a bare number is bytes, and 1e-3 bytes is not a whole number; give a unit, such as "1e-3MiB"`,
		"10.0B": "",
	} {
		_, err := ParseSize(in)
		if got := fmt.Sprint(err); (want == "" && err != nil) || (want != "" && got != want) {
			t.Errorf("ParseSize(%q): %v, want %q", in, err, want)
		}
	}
	if b, err := ParseSize("2.7KiB"); err != nil || b != 2765 {
		t.Errorf("ParseSize(2.7KiB) = %d, %v; want 2765", b, err)
	}
}

// TestParseResourceMiB checks the resource rule: a bare number below
// 1 MiB is an error, one with a unit is flagged small, and 0 is neither.
func TestParseResourceMiB(t *testing.T) {
	cases := []struct {
		in    string
		mib   int64
		small bool
		err   string
	}{
		{"64", 0, false, `invalid size "64": a bare number is bytes, and 64 bytes is below 1 MiB; give a unit, such as "64MiB"`},
		{"64.5", 0, false, `invalid size "64.5": a bare number is bytes, and 64.5 bytes is not a whole number; give a unit, such as "64.5MiB"`},
		{"512KiB", 1, true, ""},
		{"1000B", 1, true, ""},
		{"0", 0, false, ""},
		{"1048576", 1, false, ""},
		{"4GiB", 4096, false, ""},
	}
	for _, c := range cases {
		mib, small, err := ParseResourceMiB(c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("ParseResourceMiB(%q): %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || mib != c.mib || small != c.small {
			t.Errorf("ParseResourceMiB(%q) = %d, %v, %v; want %d, %v", c.in, mib, small, err, c.mib, c.small)
		}
	}
}

// A duration beyond time.Duration's range (about 292 years) must be an
// error, not a wrapped-around negative number that callers read as "not
// given": "106752d" once silently became the default runtime.
func TestParseDurationTooLarge(t *testing.T) {
	for _, in := range []string{"106752d", "1e12", "9999999999999999999s", "3000000h"} {
		got, err := ParseDuration(in)
		if err == nil {
			t.Errorf("ParseDuration(%q) = %v, want a too-large error", in, got)
			continue
		}
		if !strings.Contains(err.Error(), "too large") {
			t.Errorf("ParseDuration(%q) error %q does not say it is too large", in, err)
		}
	}
	// Malformed is not too large.
	for _, in := range []string{"s", ".s", "h", "ms", "1x", "5 m"} {
		if _, err := ParseDuration(in); err == nil || strings.Contains(err.Error(), "too large") {
			t.Errorf("ParseDuration(%q) error %v, want a malformed-duration error", in, err)
		}
	}
	if got, err := ParseDuration("106751d"); err != nil || got <= 0 {
		t.Errorf("ParseDuration(106751d) = %v, %v; want the largest whole-day duration", got, err)
	}
}

// TestFormatSecondsHuge: a time beyond int's range (a catalog speed of
// 1e-100 makes one) prints as a number of seconds, not as a wrapped
// "-2562047788015215h0-30m".
func TestFormatSecondsHuge(t *testing.T) {
	for s, want := range map[float64]string{
		6e101: "6e+101s", 1e300: "1e+300s", math.Inf(1): "+Infs",
		9.2e14: "255555555555h33m", // below the bound: hours and minutes as before
	} {
		if got := FormatSeconds(s); got != want {
			t.Errorf("FormatSeconds(%g) = %q, want %q", s, got, want)
		}
	}
}
