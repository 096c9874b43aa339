package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadSideInputs covers the inputs around the graph: catalog, variables,
// history and flags. Each must fail with a clear message naming the file,
// the right exit status, and nothing written.
func TestBadSideInputs(t *testing.T) {
	example := filepath.Join(repoRoot, "examples", "nightly-etl", "graph.hcl")
	tmp := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badCatalog := write("catalog.hcl", "executor \"cpu-heavy\" {\n  instances = 0\n}\n")
	badTarget := write("target.hcl", "executor \"cpu-heavy\" {\n  constraint {\n    attribute = \"${arch}\"\n    value     = \"amd64\"\n  }\n}\n")
	badVarFile := write("vars.hcl", "no_such_variable = 3\n")
	badHistory := write("history.jsonl", "{\"task\":\"a\",\"signature\":\"a\",\"runtime_seconds\":1}\nnot json\n")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"catalog", []string{"-catalog", badCatalog}, 1, "catalog.hcl:2:"},
		{"constraint target", []string{"-catalog", badTarget}, 1, "target.hcl:3:17: error: Invalid constraint attribute"},
		{"var-file", []string{"-var-file", badVarFile}, 1, "vars.hcl:1:1"},
		{"undeclared -var", []string{"-var", "nope=1"}, 1, "undeclared variable"},
		{"malformed -var", []string{"-var", "novalue"}, 2, "NAME=VALUE"},
		{"history", []string{"-history", badHistory}, 1, "history.jsonl:2"},
		{"missing history", []string{"-history", filepath.Join(tmp, "none.jsonl")}, 1, "none.jsonl"},
		{"format", []string{"-format", "yaml"}, 2, "-format"},
		{"driver", []string{"-driver", "docker"}, 2, "-driver"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "jobs")
			args := append([]string{"plan", "-out", out}, c.args...)
			stdout, stderr, code := shardwise(t, append(args, example)...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, c.code, stdout, stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr lacks %q:\n%s", c.want, stderr)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Errorf("stack trace on bad input:\n%s", stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s written despite the error", out)
			}
		})
	}
}

// TestMissingGraphFile reports the path and exits 1.
func TestMissingGraphFile(t *testing.T) {
	_, stderr, code := shardwise(t, "plan", filepath.Join(t.TempDir(), "nope.hcl"))
	if code != 1 || !strings.Contains(stderr, "nope.hcl") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
