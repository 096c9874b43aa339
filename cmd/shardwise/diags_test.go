package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTemp writes data to a file name in a new temporary folder.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// randomBytes returns n bytes of seeded noise, like a compressed file.
func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// TestBinaryInputOneLine gives binary data and non-UTF-8 text as a graph,
// a variables file and a catalog: each is reported as such in one
// diagnostic, not as thousands of syntax errors echoing raw bytes (a 300 KB
// binary graph printed 75 MB).
func TestBinaryInputOneLine(t *testing.T) {
	bin := writeTemp(t, "image.png", randomBytes(300<<10))
	latin1 := writeTemp(t, "graph.hcl", []byte("graph \"g\" {\n  # caf\xe9\n}\n"))
	good := filepath.Join("..", "..", "examples", "nightly-etl", "graph.hcl")
	cases := []struct {
		name    string
		args    []string
		summary string
	}{
		{"binary graph", []string{"plan", bin}, bin + ":"},
		{"binary catalog", []string{"plan", "-catalog", bin, good}, bin + ":"},
		{"binary var file", []string{"plan", "-var-file", bin, good}, bin + ":"},
		{"latin-1 graph", []string{"plan", latin1}, latin1 + ":2:8: error: Not UTF-8 text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCLI(c.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%.2000s", code, stderr)
			}
			if len(stderr) > 1000 || !strings.Contains(stderr, c.summary) || strings.Count(stderr, "error:") != 1 {
				t.Errorf("stderr (%d bytes), want one diagnostic starting %q:\n%.2000s", len(stderr), c.summary, stderr)
			}
			if strings.HasSuffix(c.summary, ":") && !strings.Contains(stderr, "error: Binary file") {
				t.Errorf("stderr does not say the file is binary:\n%.2000s", stderr)
			}
		})
	}
}

// TestDiagnosticsCapped prints the first few of many errors, then a count,
// and cuts a long source line to a window around the error.
func TestDiagnosticsCapped(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("graph \"g\" {\n")
	for i := range 200 {
		sb.WriteString("  bogus_" + string(rune('a'+i%26)) + strings.Repeat("x", i) + " = 1\n")
	}
	sb.WriteString("  task \"t\" {\n    command = \"true\"\n  }\n}\n")
	many := writeTemp(t, "many.hcl", []byte(sb.String()))
	_, stderr, code := runCLI("plan", many)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if n := strings.Count(stderr, "error:"); n != maxDiags {
		t.Errorf("%d diagnostics printed, want %d", n, maxDiags)
	}
	if !strings.Contains(stderr, "... and 190 more errors not shown") {
		t.Errorf("no count of the rest:\n%s", stderr)
	}

	long := writeTemp(t, "long.hcl", []byte("graph \"g\" { task \"t\" { command = \"true\" "+strings.Repeat("a = 1 ", 20_000)+"} }\n"))
	_, stderr, _ = runCLI("plan", long)
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, " | ") && len(l) > maxSnippet+20 {
			t.Fatalf("line of %d bytes: %.200s...", len(l), l)
		}
	}
	if !strings.Contains(stderr, "^") {
		t.Errorf("no snippet:\n%s", stderr)
	}
}
