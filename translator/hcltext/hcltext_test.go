package hcltext

import (
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// FuzzQuote checks Quote against hclwrite's own string escaping.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "plain", `it's "quoted" $HOME`, "${x}", "%{", "$${", "a\nb", "\x00", "\xff", "e\u0301", "\U0001F600", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := string(hclwrite.TokensForValue(cty.StringVal(s)).Bytes())
		if got := Quote(s); got != want {
			t.Errorf("Quote(%q) = %s, hclwrite writes %s", s, got, want)
		}
	})
}

// TestValidIdentifier holds the ASCII fast path equal to hclsyntax on
// every ASCII string of up to two characters and a few longer ones.
func TestValidIdentifier(t *testing.T) {
	cases := []string{"", "lib.path", "a-b", "-a", "_", "_1", "1a", "A_b-9", "ключ", "a b", "naïve"}
	for a := 0; a < 128; a++ {
		cases = append(cases, string(rune(a)))
		for b := 0; b < 128; b++ {
			cases = append(cases, string([]rune{rune(a), rune(b)}))
		}
	}
	for _, s := range cases {
		if got, want := ValidIdentifier(s), hclsyntax.ValidIdentifier(s); got != want {
			t.Errorf("ValidIdentifier(%q) = %v, hclsyntax says %v", s, got, want)
		}
	}
}
