package hclwriter

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/translator/hclreader"
)

// assertMatchesHCLWrite fails unless Encode and the hclwrite oracle give
// the same bytes, or the same error, for g.
func assertMatchesHCLWrite(t *testing.T, g *graph.Graph) {
	t.Helper()
	got, err := Encode(g)
	want, werr := encodeHCLWrite(g)
	if fmt.Sprint(err) != fmt.Sprint(werr) {
		t.Fatalf("Encode error %v, hclwrite writer's %v", err, werr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode differs from the hclwrite writer:\n--- Encode\n%s\n--- hclwrite\n%s", got, want)
	}
}

// TestEncodeMatchesHCLWrite holds Encode byte for byte equal to the
// hclwrite writer on the test graph, the examples, the parser's test
// graphs and synthetic DAGs.
func TestEncodeMatchesHCLWrite(t *testing.T) {
	t.Run("small", func(t *testing.T) { assertMatchesHCLWrite(t, smallGraph(t)) })
	files, _ := filepath.Glob("../../examples/*/graph.hcl")
	more, _ := filepath.Glob("../hclreader/testdata/*.hcl")
	files = append(files, more...)
	if len(files) < 3 {
		t.Fatalf("found %d example graphs", len(files))
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			g, diags := hclreader.Parse(f, src, hclreader.Options{})
			if diags.HasErrors() {
				t.Skipf("needs variables or is invalid: %v", diags)
			}
			assertMatchesHCLWrite(t, g)
		})
	}
	for _, n := range []int{10, 300} {
		t.Run(fmt.Sprintf("synth-%d", n), func(t *testing.T) {
			g, err := synth.Generate(synth.Params{Tasks: n, Alpha: 1, OutDegree: 3, CCR: 0.5, Beta: 1, Seed: uint64(n)})
			if err != nil {
				t.Fatal(err)
			}
			assertMatchesHCLWrite(t, g)
		})
	}
}
