package units

import (
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
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 jobs", 1: "1 job", 2: "2 jobs"} {
		if got := Count(n, "job"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}
