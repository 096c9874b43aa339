package plan

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// sanitizeRef is Sanitize as first written (strings.ToLower, then a
// strings.Builder), the reference for the allocation-free version.
func sanitizeRef(s string, n int) string {
	var sb strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && sb.Len() > 0 {
				sb.WriteByte('-')
			}
			sb.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	out := sb.String()
	if len(out) > n {
		out = strings.TrimRight(out[:n], "-")
	}
	if out == "" {
		return "x"
	}
	return out
}

func TestSanitizeMatchesReference(t *testing.T) {
	alphabet := []rune("aZz09-_. /KİßΣσ\u212a\xff")
	r := rand.New(rand.NewPCG(1, 2))
	cases := []string{"", "-", "--a--", "Align_Reads.2", "\xff\xfe", "ÄBC", "a\u212ab"}
	for i := 0; i < 20000; i++ {
		var sb strings.Builder
		for k := r.IntN(40); k > 0; k-- {
			sb.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		cases = append(cases, sb.String())
	}
	for _, s := range cases {
		for _, n := range []int{1, 3, 8, 32, 1 << 20} {
			if got, want := Sanitize(s, n), sanitizeRef(s, n); got != want {
				t.Fatalf("Sanitize(%q, %d) = %q, want %q", s, n, got, want)
			}
		}
	}
	if got := shardID(7, 4, "Align Reads"); got != "s0007-align-reads" {
		t.Errorf("shardID = %q", got)
	}
}
