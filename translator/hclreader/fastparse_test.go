package hclreader

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// fastSubset are bodies inside fastParseBody's subset: each must be read
// by it, into what hclsyntax reads.
var fastSubset = map[string]string{
	"attrs":     "a = 1\nb = \"x\"\nc = true\nd = false\ne = null\n",
	"numbers":   "a = 0\nb = 12\nc = 1.5\nd = 1e3\ne = 2E-2\nf = 3.25e+1\ng = 0.0\nh = 123456789012345678901234567890\n",
	"strings":   "a = \"plain text\"\nb = \"with \\\"quotes\\\" and \\\\ and \\n \\r \\t\"\nc = \"$HOME 100% $ %\"\nd = \"a}b{c]\"\n",
	"traversal": "a = task.x.output.out\nb = var.n\nc = x\nd = task.a-b_c.output.d-e\n",
	"tuples":    "a = []\nb = [1]\nc = [1, \"x\", task.a]\nd = [\n  task.a,\n  task.b,\n]\ne = [ 1 , 2 ]\nf = [[1], [], [\"a\"]]\n",
	"objects":   "a = {}\nb = { x = 1 }\nc = {\n  A = \"1\"\n  B_C = \"2\"\n}\nd = { \"k.1\" = 1, k2 : 2 }\ne = {\n  a = [1, 2]\n  b = { c = 3 }\n}\nf = {\n\n  a = 1,\n  b = 2,\n}\n",
	"blocks":    "task \"a\" {\n  command = \"x\"\n\n  input {\n    from = task.b.output.c\n  }\n  hints {\n  }\n  empty {}\n}\n\n\ntask \"b\" \"c\" {\n  x  =   1   \n}\n",
	"spacing":   "\n\n   a   =   1   \n  b = 2",
	"graph":     "graph \"g\" {\n  datacenters = [\"dc1\"]\n  task \"a\" {\n    command = \"a\"\n  }\n}\n",
}

// notFastSubset are bodies fastParseBody leaves to hclsyntax, valid or
// not.
var notFastSubset = map[string]string{
	"comment":      "a = 1 # c\n",
	"line-comment": "# c\na = 1\n",
	"tab":          "a =\t1\n",
	"crlf":         "a = 1\r\n",
	"heredoc":      "a = <<EOT\nx\nEOT\n",
	"template":     "a = \"${var.x}\"\n",
	"directive":    "a = \"%{if true}x%{endif}\"\n",
	"escaped-seq":  "a = \"$${x}\"\n",
	"unicode-esc":  "a = \"\\u00e9\"\n",
	"non-ascii":    "a = \"é\"\n",
	"empty-string": "a = \"\"\n",
	"operator":     "a = 1 + 2\n",
	"negative":     "a = -1\n",
	"compare":      "a = b == c\n",
	"conditional":  "a = b ? 1 : 2\n",
	"call":         "a = upper(\"x\")\n",
	"index":        "a = b[0]\n",
	"splat":        "a = b.*.c\n",
	"for":          "a = [for x in y : x]\n",
	"one-line":     "b { a = 1 }\n",
	"ident-label":  "b c {\n}\n",
	"dup":          "a = 1\na = 2\n",
	"unclosed":     "b {\n  a = 1\n",
	"stray-brace":  "}\n",
	"comma-after":  "a = 1,\n",
	"after-block":  "b {\n} c\n",
	"paren":        "a = (1)\n",
	"missing":      "a =\n",
	"legacy-index": "a = b.0\n",
	"number-unit":  "a = 1MiB\n",
}

// fastSame fails t unless fastParseBody reads src (at start) into the
// attributes and blocks hclsyntax.ParseConfig reads, without diagnostics.
// It reports false when fastParseBody leaves src to hclsyntax.
func fastSame(t *testing.T, name string, src []byte, start hcl.Pos) bool {
	t.Helper()
	attrs, blocks, ok := fastParseBody(src, name, start)
	if !ok {
		return false
	}
	f, diags := hclsyntax.ParseConfig(src, name, start)
	if len(diags) > 0 {
		t.Fatalf("%s: fast path read what hclsyntax rejects: %v", name, diags)
	}
	want := f.Body.(*hclsyntax.Body)
	got := &hclsyntax.Body{Attributes: attrs, Blocks: blocks}
	want = &hclsyntax.Body{Attributes: want.Attributes, Blocks: want.Blocks}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: fast path differs from hclsyntax (-fast +hclsyntax):\n%s", name, cmp.Diff(got, want, cmp.Exporter(func(reflect.Type) bool { return true })))
	}
	return true
}

// TestFastParseSameAsHCLSyntax checks that fastParseBody reads each body
// of its subset as hclsyntax does, ranges and values included, at the
// start of a file and further in; leaves the rest to hclsyntax; and reads
// every piece of a synthetic and an imported-style graph (so the fast
// path is the one large generated files take).
func TestFastParseSameAsHCLSyntax(t *testing.T) {
	for name, src := range fastSubset {
		for _, start := range []hcl.Pos{hcl.InitialPos, {Line: 40, Column: 1, Byte: 1234}} {
			if !fastSame(t, name, []byte(src), start) {
				t.Errorf("%s: left to hclsyntax; want the fast path", name)
			}
		}
	}
	for name, src := range notFastSubset {
		if _, _, ok := fastParseBody([]byte(src), name, hcl.InitialPos); ok {
			t.Errorf("%s: read by the fast path; want hclsyntax", name)
		}
	}
	sources := graphSources(t)
	sources["imported"] = []byte(importedStyle)
	for name, src := range sources {
		c, ok := findCuts(src, 1)
		if !ok {
			continue
		}
		fast := 0
		for k, at := range c.pieces {
			end := c.end
			if k+1 < len(c.pieces) {
				end = c.pieces[k+1].Byte
			}
			if fastSame(t, name, src[at.Byte:end], at) {
				fast++
			}
		}
		if (name == "synth.hcl" || name == "imported") && fast != len(c.pieces) {
			t.Errorf("%s: %d of %d pieces on the fast path; want all", name, fast, len(c.pieces))
		}
	}
}

// importedStyle is a graph as `shardwise import wfcommons` writes it.
const importedStyle = `graph "montage" {
  task "mProject_ID0000001" {
    command = "/bin/sh"
    args    = ["-c", "sleep 15.712"]
    env = {
      SHARDWISE_ORIGINAL_COMMAND = "mProject -X 2mass-atlas-001021s-j0560033.fits p2mass.fits region-oversized.hdr"
      SHARDWISE_TRACE_TASK       = "mProject_ID0000001"
    }
    signature = "mProject"

    output "data" {
      size = "8300160B"
    }

    hints {
      kind    = "cpu"
      cores   = 1
      memory  = 1073741824
      runtime = "15.712s"
    }
  }

  task "mDiffFit_ID0000002" {
    command    = "/bin/sh"
    args       = ["-c", "sleep 1.5"]
    depends_on = [task.mProject_ID0000001]

    input "data" {
      from = task.mProject_ID0000001.output.data
    }

    hints {
      kind    = "io"
      runtime = "1.5s"
    }
  }
}
`

// FuzzFastParse checks on any input that whatever fastParseBody reads,
// hclsyntax reads the same, without diagnostics.
func FuzzFastParse(f *testing.F) {
	addSeeds(f, []map[string]string{fastSubset, notFastSubset, {"imported": importedStyle}},
		filepath.Join("..", "..", "examples", "*", "graph.hcl"))
	f.Fuzz(func(t *testing.T, src []byte) {
		if strings.Count(string(src), "\n") > 2000 {
			return
		}
		fastSame(t, "fuzz.hcl", src, hcl.InitialPos)
	})
}
