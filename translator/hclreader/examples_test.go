package hclreader

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/graph"
)

// TestExamples parses every examples/*/graph.hcl with the default catalog's
// classes and checks that, between them, they use every workload kind.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*", "graph.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("found %d examples, want at least 3", len(files))
	}
	kinds := map[graph.Kind]bool{}
	for _, f := range files {
		g, diags := ParseFile(f, Options{Executors: executors})
		if len(diags) != 0 {
			t.Errorf("%s:\n%s", f, dump(diags))
			continue
		}
		if _, err := g.TopoOrder(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		for _, task := range g.Tasks {
			kinds[task.Hints.Kind] = true
		}
	}
	for _, k := range graph.Kinds {
		if !kinds[k] {
			t.Errorf("no example uses kind %q", k)
		}
	}
}

// TestSpecExample parses the example at the top of the language spec, so
// that the spec never shows a graph the reader rejects.
func TestSpecExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "graph-language.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```hcl\n")
	src, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatal("no ```hcl block in docs/graph-language.md")
	}
	g, diags := Parse("graph-language.md", []byte(src), Options{Executors: executors})
	if len(diags) != 0 {
		t.Fatalf("spec example:\n%s", dump(diags))
	}
	if len(g.Tasks) != 2 || len(g.Edges) != 2 || g.Task("train").Split.InputBytes != 400<<30 {
		t.Errorf("spec example read as %d tasks, %d edges", len(g.Tasks), len(g.Edges))
	}
}
