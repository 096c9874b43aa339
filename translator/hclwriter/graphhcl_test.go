package hclwriter

import (
	"bytes"
	"flag"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/units"
)

var update = flag.Bool("update", false, "rewrite golden files")

// smallGraph exercises every construct Write emits, and names that need
// sanitising: dots, a leading digit, a clash with an existing identifier.
func smallGraph(t *testing.T) *graph.Graph {
	t.Helper()
	g := graph.New("small")
	g.Datacenters = []string{"dc1", "dc2"}
	g.Region = "global"
	g.Priority = 60
	g.Driver = "raw_exec"
	tasks := []*graph.Task{
		{
			Name:    "prep.stage",
			Command: "/bin/sh",
			Args:    []string{"-c", "echo ${HOME} %{x} \"q\"\nnext"},
			Env:     map[string]string{"LOG_LEVEL": "info", "odd.key": "v"},
			Artifacts: []graph.Artifact{{
				Source: "https://example.com/a.tgz", Destination: "local/",
				Options: map[string]string{"checksum": "sha256:abc"},
			}},
			Outputs: []graph.Output{
				{Name: "features", Path: "out/features", Bytes: 3 << 29, Stream: true},
				{Name: "raw.log", Path: "out/raw.log", Bytes: 4150080},
			},
			Hints: graph.Hints{
				Kind: graph.KindCPU, CPU: 2000, Cores: 4, MemoryMiB: 16 << 10,
				DiskMiB: 1536, GPUs: 1, GPUMemoryMiB: 40 << 10,
				Runtime: 15712 * time.Millisecond, LatencyTarget: 50 * time.Millisecond,
				Executor: "gpu-accelerated",
			},
		},
		{Name: "prep_stage", Command: "true"},
		{
			Name: "1st:train", Command: "train", Signature: "trainer", Type: graph.TypeService,
			Inputs:    []graph.Input{{Task: "prep.stage", Output: "features", Path: "data/f"}},
			DependsOn: []string{"prep_stage"},
		},
		{
			Name: "report", Command: "report",
			Inputs: []graph.Input{{Task: "prep.stage", Output: "raw.log"}},
			Split:  &graph.Split{InputBytes: 400 << 30, MaxShards: 32},
		},
		{Name: "fan", Command: "fan", Split: &graph.Split{Items: 1000}},
	}
	for _, task := range tasks {
		if err := g.AddTask(task); err != nil {
			t.Fatal(err)
		}
	}
	edges := []*graph.Edge{
		{From: "prep.stage", To: "1st:train", Output: "features", Bytes: 3 << 29},
		{From: "prep_stage", To: "1st:train"},
		{From: "prep.stage", To: "report", Output: "raw.log", Bytes: 4150080},
		// Not declared by any Input or DependsOn: Write must add it.
		{From: "report", To: "fan"},
	}
	for _, e := range edges {
		if err := g.AddEdge(e); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func TestWriteGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, smallGraph(t)); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "small.golden.hcl")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got := buf.String(); got != string(want) {
		t.Errorf("Write output differs from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
	}
}

func TestWriteParsesBack(t *testing.T) {
	src, err := Encode(smallGraph(t))
	if err != nil {
		t.Fatal(err)
	}
	gb := parseGraph(t, src)
	if gb.Labels[0] != "small" {
		t.Errorf("graph label = %q", gb.Labels[0])
	}
	tasks := taskBlocks(gb)
	wantLabels := []string{"prep_stage_2", "prep_stage", "t_1st_train", "report", "fan"}
	if got := labels(tasks); strings.Join(got, ",") != strings.Join(wantLabels, ",") {
		t.Fatalf("task labels = %v, want %v", got, wantLabels)
	}

	prep := tasks[0].Body
	if got := stringAttr(t, prep, "signature"); got != "prep.stage" {
		t.Errorf("renamed task signature = %q, want the original name", got)
	}
	env := attrValue(t, prep, "env")
	if got := env.GetAttr(OriginalNameEnv).AsString(); got != "prep.stage" {
		t.Errorf("env %s = %q", OriginalNameEnv, got)
	}
	if got := env.GetAttr("odd.key").AsString(); got != "v" {
		t.Errorf(`env["odd.key"] = %q`, got)
	}
	args := attrValue(t, prep, "args").AsValueSlice()
	if got := args[1].AsString(); got != "echo ${HOME} %{x} \"q\"\nnext" {
		t.Errorf("args[1] = %q: template sequences or escapes were not preserved", got)
	}
	outs := blocksOf(prep, "output")
	if got := labels(outs); strings.Join(got, ",") != "features,raw_log" {
		t.Errorf("outputs = %v", got)
	}
	assertSize(t, outs[0].Body, "size", 3<<29)
	assertSize(t, outs[1].Body, "size", 4150080)
	if _, ok := outs[0].Body.Attributes["path"]; ok {
		t.Errorf("default output path written")
	}
	if got := stringAttr(t, outs[1].Body, "path"); got != "out/raw.log" {
		t.Errorf("renamed output lost its path: path = %q", got)
	}
	hints := blocksOf(prep, "hints")[0].Body
	assertSize(t, hints, "memory", 16<<30)
	assertSize(t, hints, "gpu_memory", 40<<30)
	if d, err := units.ParseDuration(stringAttr(t, hints, "runtime")); err != nil || d != 15712*time.Millisecond {
		t.Errorf("runtime = %v, %v", d, err)
	}

	train := tasks[2].Body
	in := blocksOf(train, "input")[0].Body
	if got := traversal(t, in.Attributes["from"].Expr); got != "task.prep_stage_2.output.features" {
		t.Errorf("input from = %s", got)
	}
	if got := dependsOn(t, train); strings.Join(got, ",") != "task.prep_stage" {
		t.Errorf("depends_on = %v", got)
	}
	if got := stringAttr(t, train, "type"); got != "service" {
		t.Errorf("type = %q", got)
	}
	if got := dependsOn(t, tasks[4].Body); strings.Join(got, ",") != "task.report" {
		t.Errorf("undeclared edge not written: depends_on = %v", got)
	}
	split := blocksOf(tasks[3].Body, "split")[0].Body
	assertSize(t, split, "input_size", 400<<30)
}

func TestWriteErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(g *graph.Graph)
		want string
	}{
		{"no tasks", func(g *graph.Graph) { *g = *graph.New("empty") }, "no tasks"},
		{"unknown input task", func(g *graph.Graph) {
			g.Tasks[0].Inputs = []graph.Input{{Task: "ghost", Output: "x"}}
		}, `unknown task "ghost"`},
		{"unknown output", func(g *graph.Graph) {
			g.Tasks[1].Inputs = []graph.Input{{Task: "a", Output: "nope"}}
		}, `task "a" has no output "nope"`},
		{"unknown dependency", func(g *graph.Graph) {
			g.Tasks[1].DependsOn = []string{"ghost"}
		}, `depends_on: unknown task "ghost"`},
		{"negative size", func(g *graph.Graph) { g.Tasks[0].Outputs[0].Bytes = -5 }, "must not be negative"},
		{"split with both", func(g *graph.Graph) {
			g.Tasks[1].Split = &graph.Split{InputBytes: 10, Items: 4}
		}, "exactly one of input_size"},
		{"split of one item", func(g *graph.Graph) {
			g.Tasks[1].Split = &graph.Split{Items: 1}
		}, "at least 2"},
		{"huge size", func(g *graph.Graph) { g.Tasks[0].Outputs[0].Bytes = 1<<60 + 1 }, "cannot be written exactly"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := graph.New("g")
			_ = g.AddTask(&graph.Task{Name: "a", Outputs: []graph.Output{{Name: "out", Bytes: 1}}})
			_ = g.AddTask(&graph.Task{Name: "b"})
			c.edit(g)
			var buf bytes.Buffer
			err := Write(&buf, g)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Write error = %v, want one containing %q", err, c.want)
			}
			if buf.Len() != 0 {
				t.Errorf("Write wrote %d bytes despite the error", buf.Len())
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{
		{0, "0B"}, {1, "1B"}, {1000, "1KB"}, {1023, "1023B"}, {1024, "1KiB"}, {1536, "1536B"},
		{2499, "2499B"}, {1 << 20, "1MiB"}, {1476395008, "1408MiB"}, {1500 << 20, "1500MiB"},
		{3 << 29, "1.5GiB"}, {40 << 30, "40GiB"}, {1500000000, "1.5GB"},
		{4150080, "4150080B"}, {57604034, "57604034B"}, {1 << 50, "1PiB"},
		{1<<53 - 1, "9007199254740991B"},
	}
	for _, c := range cases {
		got, err := FormatSize(c.n)
		if err != nil || got != c.want {
			t.Errorf("FormatSize(%d) = %q, %v; want %q", c.n, got, err, c.want)
		}
	}
	for _, bad := range []int64{-1, 1<<53 + 1} {
		if s, err := FormatSize(bad); err == nil {
			t.Errorf("FormatSize(%d) = %q, want error", bad, s)
		}
	}
}

func TestFormatSizeRoundTrips(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		n := r.Int63n(1 << uint(1+r.Intn(53)))
		if i%3 == 0 {
			n = (n >> 10) << 10 // many exact binary multiples
		}
		s, err := FormatSize(n)
		if err != nil {
			t.Fatalf("FormatSize(%d): %v", n, err)
		}
		if back, err := units.ParseSize(s); err != nil || back != n {
			t.Fatalf("FormatSize(%d) = %q parses back as %d, %v", n, s, back, err)
		}
	}
}

func TestIdentifiers(t *testing.T) {
	in := []string{"a.b", "a_b", "1x", "-y", "", "ok-name", "a:b", "ünï", "a.b"}
	want := []string{"a_b_2", "a_b", "t_1x", "t_-y", "t_", "ok-name", "a_b_3", "_n_", "a_b_2"}
	got := Identifiers(in)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Identifiers(%q) = %q, want %q", in, got, want)
	}
	for _, id := range got {
		if !hclsyntax.ValidIdentifier(id) {
			t.Errorf("%q is not a valid HCL identifier", id)
		}
	}
}

// --- parse-back helpers ---

func parseGraph(t *testing.T, src []byte) *hclsyntax.Block {
	t.Helper()
	f, diags := hclsyntax.ParseConfig(src, "graph.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("written HCL does not parse: %s\n%s", diags.Error(), src)
	}
	body := f.Body.(*hclsyntax.Body)
	if len(body.Blocks) != 1 || body.Blocks[0].Type != "graph" || len(body.Blocks[0].Labels) != 1 {
		t.Fatalf("want exactly one labelled graph block, got %d blocks", len(body.Blocks))
	}
	return body.Blocks[0]
}

func taskBlocks(gb *hclsyntax.Block) []*hclsyntax.Block { return blocksOf(gb.Body, "task") }

func blocksOf(b *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, blk := range b.Blocks {
		if blk.Type == typ {
			out = append(out, blk)
		}
	}
	return out
}

func labels(bs []*hclsyntax.Block) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Labels[0]
	}
	return out
}

func attrValue(t *testing.T, b *hclsyntax.Body, name string) cty.Value {
	t.Helper()
	a, ok := b.Attributes[name]
	if !ok {
		t.Fatalf("attribute %q missing", name)
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		t.Fatalf("attribute %q: %s", name, diags.Error())
	}
	return v
}

func stringAttr(t *testing.T, b *hclsyntax.Body, name string) string {
	t.Helper()
	return attrValue(t, b, name).AsString()
}

func assertSize(t *testing.T, b *hclsyntax.Body, name string, want int64) {
	t.Helper()
	s := stringAttr(t, b, name)
	if got, err := units.ParseSize(s); err != nil || got != want {
		t.Errorf("%s = %q parses as %d, %v; want %d bytes", name, s, got, err, want)
	}
}

func traversal(t *testing.T, e hcl.Expression) string {
	t.Helper()
	tr, diags := hcl.AbsTraversalForExpr(e)
	if diags.HasErrors() {
		t.Fatalf("not a traversal: %s", diags.Error())
	}
	parts := []string{tr.RootName()}
	for _, step := range tr[1:] {
		parts = append(parts, step.(hcl.TraverseAttr).Name)
	}
	return strings.Join(parts, ".")
}

func dependsOn(t *testing.T, b *hclsyntax.Body) []string {
	t.Helper()
	a, ok := b.Attributes["depends_on"]
	if !ok {
		return nil
	}
	exprs, diags := hcl.ExprList(a.Expr)
	if diags.HasErrors() {
		t.Fatalf("depends_on: %s", diags.Error())
	}
	var out []string
	for _, e := range exprs {
		out = append(out, traversal(t, e))
	}
	return out
}
