package textfile

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		name, src, summary string
		line, col          int
	}{
		{"text", "graph \"g\" {\n  # café\n}\n", "", 0, 0},
		{"empty", "", "", 0, 0},
		{"nul", "graph \"g\" {\n  a\x00b\n}", "Binary file", 2, 4},
		{"png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "Binary file", 3, 1},
		{"latin1", "# caf\xe9\n", "Not UTF-8 text", 1, 6},
		{"truncated rune", "x\n\xe2\x82", "Not UTF-8 text", 2, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Check("f.hcl", "graph file", []byte(c.src))
			if c.summary == "" {
				if d != nil {
					t.Fatalf("text rejected: %s: %s", d.Summary, d.Detail)
				}
				return
			}
			if d == nil {
				t.Fatal("accepted")
			}
			if d.Summary != c.summary || d.Subject == nil || d.Subject.Start.Line != c.line || d.Subject.Start.Column != c.col {
				t.Errorf("got %s at %v, want %s at %d:%d", d.Summary, d.Subject, c.summary, c.line, c.col)
			}
			if strings.Contains(d.Detail, "\x00") || !strings.Contains(d.Detail, "graph file") {
				t.Errorf("detail %q", d.Detail)
			}
		})
	}
}
