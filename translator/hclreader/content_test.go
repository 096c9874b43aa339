package hclreader

import (
	"cmp"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/translator/hclwriter"
	"github.com/shardwise/shardwise/translator/wfcommons"
)

// offSchema are graph files whose bodies do not match their schemas, each
// a diagnostic of hcl's Body.Content, which the reader must still give.
var offSchema = map[string]string{
	"unsupported-argument":  "graph \"g\" {\n  task \"a\" {\n    command = \"a\"\n    comand = \"b\"\n  }\n}\n",
	"unsupported-arguments": "graph \"g\" {\n  task \"a\" {\n    command = \"a\"\n    x = 1\n    hints = {}\n    output = 2\n  }\n}\n",
	"unsupported-block":     "graph \"g\" {\n  task \"a\" {\n    command = \"a\"\n    hint {\n    }\n  }\n}\n",
	"block-for-argument":    "graph \"g\" {\n  task \"a\" {\n    command {\n    }\n  }\n}\n",
	"missing-command":       "graph \"g\" {\n  task \"a\" {\n    args = [\"x\"]\n  }\n}\n",
	"missing-from":          "graph \"g\" {\n  task \"a\" {\n    command = \"a\"\n  }\n  task \"b\" {\n    command = \"b\"\n    input {\n      path = \"x\"\n    }\n  }\n}\n",
	"missing-source":        "graph \"g\" {\n  task \"a\" {\n    command = \"a\"\n    artifact {\n      destination = \"x\"\n    }\n  }\n}\n",
	"missing-label":         "graph \"g\" {\n  task \"a\" {\n    command = \"a\"\n    output {\n    }\n  }\n}\n",
	"extra-label":           "graph \"g\" {\n  task \"a\" {\n    command = \"a\"\n    hints \"x\" {\n    }\n  }\n}\n",
	"extra-labels":          "graph \"g\" {\n  task \"a\" \"b\" {\n    command = \"a\"\n  }\n}\n",
	"task-no-label":         "graph \"g\" {\n  task {\n    command = \"a\"\n  }\n}\n",
	"graph-argument":        "graph \"g\" {\n  region = \"r\"\n  regions = [\"x\"]\n  task \"a\" {\n    command = \"a\"\n  }\n}\n",
	"split-unknown":         "graph \"g\" {\n  task \"a\" {\n    command = \"a\"\n    split {\n      items = 4\n      shards = 2\n    }\n  }\n}\n",
	"hints-unknown":         "graph \"g\" {\n  task \"a\" {\n    command = \"a\"\n    hints {\n      mem = \"1GiB\"\n    }\n  }\n}\n",
	"output-unknown":        "graph \"g\" {\n  task \"a\" {\n    command = \"a\"\n    output \"o\" {\n      bytes = 1\n    }\n  }\n}\n",
}

// parseBoth parses src with bodies read in place where they match their
// schemas and literal strings read directly and, again, with every body
// read through Body.Content and every value through Expression.Value, and
// fails t unless both give the same graph and the same diagnostics.
// Diagnostics are compared in a sorted order: Body.Content reports
// unsupported arguments in map order, which varies between calls.
func parseBoth(t *testing.T, name string, src []byte) (*graph.Graph, hcl.Diagnostics) {
	t.Helper()
	opts := Options{Executors: executors}
	got, gotDiags := Parse(name, src, opts)
	fastDecode = false
	want, wantDiags := Parse(name, src, opts)
	fastDecode = true
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: graphs differ between reading bodies in place and through Body.Content", name)
	}
	sortDiags(gotDiags)
	sortDiags(wantDiags)
	if !reflect.DeepEqual(plainDiags(gotDiags), plainDiags(wantDiags)) {
		t.Fatalf("%s: diagnostics differ:\nin place:\n%s\nBody.Content:\n%s", name, dump(gotDiags), dump(wantDiags))
	}
	return got, gotDiags
}

// plainDiags is diags without what tells two parses apart even when
// they agree: a diagnostic's evaluation context holds functions, which
// reflect.DeepEqual never finds equal, and its expression a syntax tree.
func plainDiags(diags hcl.Diagnostics) hcl.Diagnostics {
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		c := *d
		c.Expression, c.EvalContext = nil, nil
		out[i] = &c
	}
	return out
}

func sortDiags(diags hcl.Diagnostics) {
	slices.SortStableFunc(diags, func(a, b *hcl.Diagnostic) int {
		var ab, bb int
		if a.Subject != nil {
			ab = a.Subject.Start.Byte
		}
		if b.Subject != nil {
			bb = b.Subject.Start.Byte
		}
		return cmp.Or(cmp.Compare(ab, bb), strings.Compare(a.Summary, b.Summary), strings.Compare(a.Detail, b.Detail))
	})
}

// TestContentSameAsBodyContent checks that reading bodies in place (and
// literal strings directly) gives the graph and the diagnostics that hcl's
// Body.Content (and Expression.Value) give, on every
// graph file of the repository (examples, testdata, the bad fixtures), a
// synthetic and an imported-style graph, whole and in pieces, and on
// bodies off their schemas, which must keep Body.Content's diagnostics.
func TestContentSameAsBodyContent(t *testing.T) {
	sources := graphSources(t)
	sources["imported"] = []byte(importedStyle)
	bad, _ := filepath.Glob(filepath.Join("testdata", "bad", "*.hcl"))
	for _, f := range bad {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources[f] = src
	}
	for name, src := range trickySources {
		sources[name] = []byte(src)
	}
	for name, src := range sources {
		parseBoth(t, name, src)
		func() {
			cutEverywhere(t)
			parseBoth(t, name+" in pieces", src)
		}()
	}
	for name, src := range offSchema {
		g, diags := parseBoth(t, name, []byte(src))
		if g != nil || !diags.HasErrors() {
			t.Errorf("%s: read without an error; want Body.Content's", name)
		}
	}
}

// TestContentInPlaceForGeneratedGraphs checks that every body of the
// graphs Shardwise writes (a synthetic graph, and WfCommons traces as
// `shardwise import` writes them) is read in place, so that the path large
// generated files take is the one without Body.Content.
func TestContentInPlaceForGeneratedGraphs(t *testing.T) {
	sources := map[string][]byte{"synth": graphSources(t)["synth.hcl"]}
	traces, _ := filepath.Glob(filepath.Join("..", "wfcommons", "testdata", "tiny-*.json"))
	if len(traces) == 0 {
		t.Fatal("no WfCommons traces in ../wfcommons/testdata")
	}
	for _, path := range traces {
		res, err := wfcommons.Import(path)
		if err != nil {
			t.Fatal(err)
		}
		if sources[path], err = hclwriter.Encode(res.Graph); err != nil {
			t.Fatal(err)
		}
	}
	schemas := map[string]*hcl.BodySchema{"graph": graphSchema, "task": taskSchema, "artifact": artifactSchema,
		"output": outputSchema, "input": inputSchema, "hints": hintsSchema, "split": splitSchema}
	for name, src := range sources {
		f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		bodies := 0
		var walk func(b *hclsyntax.Block)
		walk = func(b *hclsyntax.Block) {
			bodies++
			if !matches(b.Body, schemas[b.Type]) {
				t.Fatalf("%s: the %s block at %s is left to Body.Content", name, b.Type, b.DefRange())
			}
			for _, inner := range b.Body.Blocks {
				walk(inner)
			}
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			walk(b)
		}
		if name == "synth" && bodies < 1000 {
			t.Errorf("%s: %d bodies; want a graph of many tasks", name, bodies)
		}
	}
}

// addSeeds adds every source of sets and every file matching globs to f's
// corpus.
func addSeeds(f *testing.F, sets []map[string]string, globs ...string) {
	for _, set := range sets {
		for _, src := range set {
			f.Add([]byte(src))
		}
	}
	for _, glob := range globs {
		files, _ := filepath.Glob(glob)
		for _, name := range files {
			if src, err := os.ReadFile(name); err == nil {
				f.Add(src)
			}
		}
	}
}

// TestDecodeStreaming checks that the graphs Shardwise writes, cut in
// pieces, are decoded as their pieces are parsed (so that the tests
// comparing that with a whole-file read compare the streaming path), and
// that a file it cannot read so is left to the usual path, unreported.
func TestDecodeStreaming(t *testing.T) {
	cutEverywhere(t)
	src := graphSources(t)["synth.hcl"]
	g, diags, ok := decodeStreaming("synth.hcl", src, Options{Executors: executors})
	if !ok || diags.HasErrors() || g == nil {
		t.Fatalf("synth.hcl: ok %v, diags %v; want it decoded as streamed", ok, diags)
	}
	if len(g.Tasks) != 300 {
		t.Fatalf("synth.hcl: %d tasks, want 300", len(g.Tasks))
	}
	for name, src := range map[string]string{
		"syntax error":      "graph \"g\" {\n  task \"a\" {\n    command = \n  }\n}\n",
		"not a task":        "graph \"g\" {\n  tsk \"a\" {\n    command = \"a\"\n  }\n}\n",
		"twice an argument": "graph \"g\" {\n  region = \"a\"\n\n  task \"a\" {\n    command = \"a\"\n  }\n\n  region = \"b\"\n}\n",
	} {
		if _, diags, ok := decodeStreaming(name, []byte(src), Options{}); ok || diags != nil {
			t.Errorf("%s: ok %v, diags %v; want it left to the usual path", name, ok, diags)
		}
		if _, diags := Parse(name, []byte(src), Options{}); !diags.HasErrors() {
			t.Errorf("%s: Parse reports no error", name)
		}
	}
}

// TestASCIIIdentifier checks that asciiIdentifier accepts only what
// hclsyntax.ValidIdentifier accepts, on every string of up to three bytes
// from an alphabet of each kind of byte that matters.
func TestASCIIIdentifier(t *testing.T) {
	alphabet := []string{"", "a", "Z", "_", "-", "0", "9", ".", " ", "é", "\x00", "$"}
	for _, a := range alphabet {
		for _, b := range alphabet {
			for _, c := range alphabet {
				s := a + b + c
				if asciiIdentifier(s) && !hclsyntax.ValidIdentifier(s) {
					t.Errorf("asciiIdentifier(%q) = true; hclsyntax rejects it", s)
				}
				if !asciiIdentifier(s) && hclsyntax.ValidIdentifier(s) && isASCII(s) {
					t.Errorf("asciiIdentifier(%q) = false; hclsyntax accepts it", s)
				}
			}
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// FuzzContent checks on any input that reading bodies in place (and, cut
// in pieces, decoding them as they are parsed: decodeStreaming) gives what
// Body.Content gives: the same graph and the same diagnostics.
func FuzzContent(f *testing.F) {
	addSeeds(f, []map[string]string{offSchema, trickySources, {"imported": importedStyle}},
		filepath.Join("..", "..", "examples", "*", "graph.hcl"), filepath.Join("testdata", "bad", "*.hcl"))
	f.Fuzz(func(t *testing.T, src []byte) {
		if strings.Count(string(src), "\n") > 2000 {
			return
		}
		parseBoth(t, "fuzz.hcl", src)
		cutEverywhere(t) // and decoded as its pieces are parsed
		parseBoth(t, "fuzz.hcl", src)
	})
}
