package hclreader

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/translator/hclwriter"
)

// cutEverywhere makes parseConfig cut every file, at every line between
// the graph block's items, for the rest of the test.
func cutEverywhere(tb testing.TB) {
	tb.Helper()
	minSize, size := piecesMin, pieceBytes
	piecesMin, pieceBytes = 0, 1
	tb.Cleanup(func() { piecesMin, pieceBytes = minSize, size })
}

// checkSameParse fails tb unless parseConfig gives what one
// hclsyntax.ParseConfig of the whole of src gives: the same body, ranges
// included, and the same diagnostics. It reports whether src was parsed
// in pieces.
func checkSameParse(tb testing.TB, name string, src []byte) (inPieces bool) {
	tb.Helper()
	want, wantDiags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	got, gotDiags := parseConfig(name, src)
	if !reflect.DeepEqual(gotDiags, wantDiags) {
		tb.Fatalf("%s: diagnostics differ:\ngot  %v\nwant %v", name, gotDiags, wantDiags)
	}
	if !reflect.DeepEqual(got.Body, want.Body) {
		tb.Fatalf("%s: bodies differ", name)
	}
	if string(got.Bytes) != string(src) {
		tb.Fatalf("%s: file bytes differ", name)
	}
	c, ok := findCuts(src, pieceBytes)
	return ok && len(wantDiags) == 0 && parsePieces(name, src, c) != nil
}

// TestParsePiecesSameAsWhole parses every graph file of the repository, a
// synthetic graph and hand-made files of every construct the cut scan
// must see through (strings and heredocs holding braces and task
// headers, comments, interpolations over several lines, comparisons,
// CRLF, items after the graph block) in pieces and whole, and checks
// that both give the same: the pieces are what hclreader decodes.
func TestParsePiecesSameAsWhole(t *testing.T) {
	cutEverywhere(t)
	sources := graphSources(t)
	for name, src := range trickySources {
		sources[name] = []byte(src)
	}
	pieces := 0
	for name, src := range sources {
		if checkSameParse(t, name, src) {
			pieces++
		}
	}
	// Every good file is parsed in pieces; those that cannot be are the
	// ones with errors, and the few shapes listed in wholeOnly.
	for _, name := range []string{"synth.hcl", filepath.Join("testdata", "full.hcl"), "tricky-strings", "tricky-heredoc", "tricky-crlf", "tricky-tail"} {
		c, ok := findCuts(sources[name], 1)
		if !ok || parsePieces(name, sources[name], c) == nil {
			t.Errorf("%s was parsed whole; want pieces", name)
		}
	}
	if pieces < len(sources)/2 {
		t.Errorf("%d of %d files parsed in pieces; want most", pieces, len(sources))
	}
}

// trickySources are graph files whose text would mislead a cut made by
// looking for task headers or braces alone.
var trickySources = map[string]string{
	"tricky-strings": `variable "n" {
  default = 3
}

graph "g" {
  datacenters = ["dc1", "dc{2}"]

  task "a" {
    command = "sh"
    args    = ["-c", "echo '}' \"{\" # not a comment // nor this", "$${not} %%{this}", "${var.n < 4 ? "x}" : "{y"}"]
    env = {
      A = "}"
    }
  }
  /* a comment
  task "fake" {
  }
  */
  task "b" { # task "c" {
    command = "${
      "multi-line interpolation }"
    }"
    depends_on = [
      task.a,
    ]
  }
  // task "d" {
}
`,
	"tricky-heredoc": `graph "g" {
  task "a" {
    command = <<EOT
}
  task "fake" {
    command = "x"
  }
${"}"}
  EOT
  }

  task "b" {
    command = <<-EOF
      {
      %{ if true }yes%{ endif }
    EOF
  }
}
`,
	"tricky-crlf": "graph \"g\" {\r\n  task \"a\" {\r\n    command = \"a\"\r\n  }\r\n\r\n  task \"b\" {\r\n    command = \"b\"\r\n  }\r\n}\r\n",
	"tricky-tail": `# leading comment
graph "g" {
	task "a" {
		command = "a"
	}
	priority = 50
	task "é" {
		command = "é"
	}
	}  
variable "late" {
  default = "x"
}
after = 1
`,
	"tricky-one-line-graph":   `graph "g" { task "a" { command = "a" } }` + "\n",
	"tricky-close-after":      "graph \"g\" {\n  task \"a\" {\n    command = \"a\"\n  }\n} extra\n",
	"tricky-dup-attr":         "graph \"g\" {\n  priority = 1\n  task \"a\" {\n    command = \"a\"\n  }\n  priority = 2\n}\n",
	"tricky-unclosed-heredoc": "graph \"g\" {\n  task \"a\" {\n    command = <<EOT\n  }\n}\n",
	"tricky-unclosed-comment": "graph \"g\" {\n  task \"a\" {\n    command = \"a\"\n  }\n  /* task \"b\" {\n  }\n}\n",
	"tricky-bad-split":        "graph \"g\" {\n  task \"a\" {\n    command = \"a\" +\n \"b\"\n  }\n}\n",
	"tricky-no-newline":       "graph \"g\" {\n  task \"a\" {\n    command = \"a\"\n  }\n}",
	"tricky-empty":            "graph \"g\" {\n}\n",
}

// FuzzParsePieces checks on any input that parseConfig, cutting at every
// line it can, gives what one whole-file hclsyntax.ParseConfig gives.
func FuzzParsePieces(f *testing.F) {
	for _, src := range trickySources {
		f.Add([]byte(src))
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "*", "graph.hcl"))
	for _, name := range files {
		if src, err := os.ReadFile(name); err == nil {
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cutEverywhere(t)
		if strings.Count(string(src), "\n") > 2000 {
			return
		}
		checkSameParse(t, "fuzz.hcl", src)
	})
}

// TestParseInPiecesSameGraph reads every graph file of the repository
// and a synthetic graph whole and in pieces (tasks decoded on all cores
// either way) and checks that both give the same graph and the same
// diagnostics, in the same order: errors too.
func TestParseInPiecesSameGraph(t *testing.T) {
	sources := graphSources(t)
	for name, src := range sources {
		// Var files hold no graph; hcl reports their arguments in map
		// order, which varies from one parse to the next.
		if !bytes.Contains(src, []byte("graph")) {
			delete(sources, name)
		}
	}
	opts := Options{Executors: executors}
	for name, src := range sources {
		whole, wholeDiags := Parse(name, src, opts)
		func() {
			cutEverywhere(t)
			got, diags := Parse(name, src, opts)
			if !reflect.DeepEqual(diags, wholeDiags) {
				t.Errorf("%s: diagnostics differ in pieces:\n%s\nwhole:\n%s", name, dump(diags), dump(wholeDiags))
			}
			if !reflect.DeepEqual(got, whole) {
				t.Errorf("%s: graphs differ in pieces", name)
			}
		}()
	}
}

// TestParseInPiecesOneCore parses every graph file cut in pieces on one
// core (GOMAXPROCS 1, as on a one-CPU machine or container), where the
// pieces come to each worker as one range, and checks the graph, the
// diagnostics and the joined syntax tree against a whole-file read.
// Before, only the first piece was read there: 12 of 10,000 tasks.
func TestParseInPiecesOneCore(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	opts := Options{Executors: executors}
	for name, src := range graphSources(t) {
		if !bytes.Contains(src, []byte("graph")) {
			continue // var files: see TestParseInPiecesSameGraph
		}
		whole, wholeDiags := Parse(name, src, opts)
		func() {
			cutEverywhere(t)
			checkSameParse(t, name, src)
			got, diags := Parse(name, src, opts)
			if !reflect.DeepEqual(diags, wholeDiags) {
				t.Errorf("%s: diagnostics differ in pieces:\n%s\nwhole:\n%s", name, dump(diags), dump(wholeDiags))
			}
			if !reflect.DeepEqual(got, whole) {
				t.Errorf("%s: graphs differ in pieces on one core", name)
			}
		}()
	}
}

// graphSources returns the repository's graph files (examples, this
// package's testdata) and a synthetic 300-task graph, by name.
func graphSources(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*", "graph.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join("testdata", "*", "*.hcl"))
	files = append(append(files, filepath.Join("testdata", "full.hcl")), more...)
	sources := map[string][]byte{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources[f] = src
	}
	g, err := synth.Generate(synth.Params{Tasks: 300, Alpha: 1, OutDegree: 3, CCR: 0.5, Beta: 1, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if sources["synth.hcl"], err = hclwriter.Encode(g); err != nil {
		t.Fatal(err)
	}
	return sources
}
