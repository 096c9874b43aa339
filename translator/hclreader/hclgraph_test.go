package hclreader

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/planner/graph"
)

const gib = int64(1) << 30

// fullGraph is what testdata/full.hcl, which uses every feature of the
// language, must read as (ranges aside; TestParseFullRanges checks those).
var fullGraph = &graph.Graph{
	Name:        "full",
	Datacenters: []string{"dc1", "dc2"},
	Region:      "europe",
	Namespace:   "ml-staging",
	Priority:    60,
	Driver:      "raw_exec",
	Tasks: []*graph.Task{
		{
			Name: "prepare", Signature: "prep-v2", Type: graph.TypeBatch,
			Command: "/usr/bin/python3",
			Args:    []string{"prep.py", "--shards", "16", "--verbose", "false", "s3://bucket/a", "s3://bucket/b"},
			Env:     map[string]string{"team": "ml", "LOG_LEVEL": "INFO", "ENV": "staging"},
			Artifacts: []graph.Artifact{
				{Source: "https://example.com/prep.tar.gz", Destination: "local/", Options: map[string]string{"checksum": "sha256:abc"}},
				{Source: "https://example.com/schema.json"},
			},
			Outputs: []graph.Output{
				{Name: "features", Path: "out/features.parquet", Bytes: 40 * gib},
				{Name: "stats", Path: "out/stats"},
			},
			Hints: graph.Hints{
				Kind: graph.KindCPU, CPU: 4000, Cores: 4, MemoryMiB: 16 << 10, DiskMiB: 100 << 10,
				Runtime: 10 * time.Minute, LatencyTarget: 2 * time.Second, Executor: "cpu-heavy",
			},
		},
		{
			Name: "extract", Signature: "extract", Type: graph.TypeBatch,
			Command:    "/bin/sh",
			Args:       []string{"-c", "extract --piece $NOMAD_ALLOC_INDEX --of 16"},
			Outputs:    []graph.Output{{Name: "vectors", Path: "out/vectors", Bytes: 1024}},
			Inputs:     []graph.Input{{Task: "prepare", Output: "features", Path: "in/features.parquet"}},
			Split:      &graph.Split{InputBytes: 400 * gib, MaxShards: 16},
			InputBytes: 400 * gib,
		},
		{
			Name: "train", Signature: "train", Type: graph.TypeBatch,
			Command:   "train",
			DependsOn: []string{"prepare"},
			Inputs:    []graph.Input{{Task: "extract", Output: "vectors", Path: "in/extract-vectors"}},
			Outputs: []graph.Output{
				{Name: "model", Path: "out/model", Bytes: 2e9},
				{Name: "metrics", Path: "out/metrics", Stream: true},
			},
			Hints: graph.Hints{Kind: graph.KindGPU, GPUs: 2, GPUMemoryMiB: 40 << 10, Runtime: 90 * time.Minute},
		},
		{
			Name: "score", Signature: "score", Type: graph.TypeBatch,
			Command: "score",
			Inputs:  []graph.Input{{Task: "train", Output: "model", Path: "in/train-model"}},
			Split:   &graph.Split{Items: 1000, MaxShards: 8},
		},
		{
			Name: "monitor", Signature: "monitor", Type: graph.TypeService,
			Command: "monitor",
			Inputs:  []graph.Input{{Task: "train", Output: "metrics", Path: "in/train-metrics"}},
			Hints:   graph.Hints{Kind: graph.KindLatency, LatencyTarget: 50 * time.Millisecond},
		},
	},
	Edges: []*graph.Edge{
		{From: "prepare", To: "extract", Output: "features", Bytes: 40 * gib},
		{From: "extract", To: "train", Output: "vectors", Bytes: 1024},
		{From: "prepare", To: "train"},
		{From: "train", To: "score", Output: "model", Bytes: 2e9},
		{From: "train", To: "monitor", Output: "metrics", Bytes: -1, Stream: true},
	},
}

func TestParseFull(t *testing.T) {
	g, diags := ParseFile(filepath.Join("testdata", "full.hcl"), Options{Executors: executors})
	if len(diags) != 0 {
		t.Fatalf("unexpected diagnostics:\n%s", dump(diags))
	}
	opts := cmp.Options{cmpopts.IgnoreTypes(hcl.Range{}), cmpopts.IgnoreUnexported(graph.Graph{})}
	if diff := cmp.Diff(fullGraph, g, opts); diff != "" {
		t.Errorf("graph mismatch (-want +got):\n%s", diff)
	}
	for i := range g.Tasks {
		if got, want := len(g.In(i)), countEdges(g, g.Tasks[i].Name); got != want {
			t.Errorf("task %s: %d edges in the index, %d in Edges", g.Tasks[i].Name, got, want)
		}
	}
}

func countEdges(g *graph.Graph, to string) int {
	n := 0
	for _, e := range g.Edges {
		if e.To == to {
			n++
		}
	}
	return n
}

// TestParseFullRanges checks that every part of the graph keeps the range
// it was declared at: blocks at their header, edges at their reference.
func TestParseFullRanges(t *testing.T) {
	g, diags := ParseFile(filepath.Join("testdata", "full.hcl"), Options{})
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics:\n%s", dump(diags))
	}
	prepare, extract, train := g.Task("prepare"), g.Task("extract"), g.Task("train")
	cases := []struct {
		what string
		rng  hcl.Range
		want string
	}{
		{"graph", g.DefRange, "32:1-32:13"},
		{"task prepare", prepare.DefRange, "39:3-39:17"},
		{"artifact", prepare.Artifacts[1].DefRange, "52:5-52:13"},
		{"output features", prepare.Outputs[0].DefRange, "56:5-56:22"},
		{"hints", prepare.Hints.DefRange, "64:5-64:10"},
		{"input", extract.Inputs[0].DefRange, "82:5-82:10"},
		{"split", extract.Split.DefRange, "91:5-91:10"},
		{"data edge", g.Edges[0].DefRange, "83:14-83:42"},
		{"depends_on edge", g.Edges[2].DefRange, "99:19-99:31"},
		{"task train", train.DefRange, "97:3-97:15"},
	}
	for _, c := range cases {
		got := fmt.Sprintf("%d:%d-%d:%d", c.rng.Start.Line, c.rng.Start.Column, c.rng.End.Line, c.rng.End.Column)
		if got != c.want || c.rng.Filename != filepath.Join("testdata", "full.hcl") {
			t.Errorf("%s: range %s:%s, want %s", c.what, c.rng.Filename, got, c.want)
		}
	}
}

// TestParseSource checks Parse on in-memory source: defaults, and that
// Executors nil skips the executor check.
func TestParseSource(t *testing.T) {
	src := []byte(`graph "tiny" {
  task "only" {
    command = "/bin/true"
    hints { executor = "anything" }
  }
}`)
	g, diags := Parse("tiny.hcl", src, Options{})
	if len(diags) != 0 {
		t.Fatalf("unexpected diagnostics:\n%s", dump(diags))
	}
	want := &graph.Graph{
		Name:        "tiny",
		Datacenters: []string{"dc1"},
		Tasks: []*graph.Task{{
			Name: "only", Signature: "only", Type: graph.TypeBatch, Command: "/bin/true",
			Hints: graph.Hints{Executor: "anything"},
		}},
	}
	opts := cmp.Options{cmpopts.IgnoreTypes(hcl.Range{}), cmpopts.IgnoreUnexported(graph.Graph{})}
	if diff := cmp.Diff(want, g, opts); diff != "" {
		t.Errorf("graph mismatch (-want +got):\n%s", diff)
	}
	if _, diags := Parse("tiny.hcl", src, Options{Executors: []string{}}); !diags.HasErrors() {
		t.Errorf("an empty Executors list accepted a pinned executor")
	}
}

// TestParseUnicodeNormalisedNames checks that a reference spelled in NFD
// finds a task and an output declared in NFC, and that the graph keeps the
// NFC names, which Nomad then sees.
func TestParseUnicodeNormalisedNames(t *testing.T) {
	nfc, nfd := "caf\u00e9", "cafe\u0301"
	src := fmt.Sprintf(`graph "g" {
  task %q {
    command = "/bin/true"
    output %q {}
  }
  task "b" {
    command    = "/bin/true"
    input { from = task.%s.output.%s }
    depends_on = [task.%s]
  }
}
`, nfc, nfd, nfd, nfc, nfd)
	g, diags := Parse("nfc.hcl", []byte(src), Options{})
	if diags.HasErrors() {
		t.Fatal(dump(diags))
	}
	if g.Task(nfc) == nil || g.Task(nfc).Outputs[0].Name != nfc {
		t.Fatalf("task and output names not in NFC: %+q", g.Tasks[0].Name)
	}
	if len(g.Edges) != 2 || g.Edges[0].From != nfc || g.Edges[0].Output != nfc {
		t.Fatalf("edges = %+v", g.Edges)
	}
}

// TestParseSmallMemoryWarns checks that a memory below 1 MiB written with
// a unit is read (as 1 MiB) with a positioned warning, and that a small
// disk with a unit and a bare output size are read without one.
func TestParseSmallMemoryWarns(t *testing.T) {
	src := `graph "g" {
  task "a" {
    command = "/bin/true"
    output "x" {
      size = 100
    }
    hints {
      memory = "512KiB"
      disk   = "4KB"
    }
  }
}
`
	g, diags := Parse("small.hcl", []byte(src), Options{})
	if diags.HasErrors() || len(diags) != 1 {
		t.Fatalf("want one warning, got:\n%s", dump(diags))
	}
	d := diags[0]
	want := `Argument "memory" of the hints of task "a" is below 1 MiB, too little for a process; it is taken as 1 MiB, and Nomad gives a task at least 10 MiB of memory. Did you mean MiB?`
	if d.Severity != hcl.DiagWarning || subjectPos(d) != "small.hcl:8:16" || d.Summary != "Implausibly small size" || d.Detail != want {
		t.Errorf("got %v at %s: %s: %s", d.Severity, subjectPos(d), d.Summary, d.Detail)
	}
	h := g.Task("a").Hints
	if h.MemoryMiB != 1 || h.DiskMiB != 1 || g.Task("a").Outputs[0].Bytes != 100 {
		t.Errorf("memory %d MiB, disk %d MiB, output %d bytes", h.MemoryMiB, h.DiskMiB, g.Task("a").Outputs[0].Bytes)
	}
	// A GPU's memory is no process's: its warning does not talk of one.
	_, diags = Parse("small.hcl", []byte(strings.Replace(src, `memory = "512KiB"`, "gpus = 1\n      gpu_memory = \"512KiB\"", 1)), Options{})
	want = `Argument "gpu_memory" of the hints of task "a" is below 1 MiB, too little for a GPU; it is taken as 1 MiB. Did you mean MiB?`
	if len(diags) != 1 || diags[0].Detail != want {
		t.Errorf("gpu_memory: got:\n%s\nwant one warning: %s", dump(diags), want)
	}
}

// TestGPUMemoryWithoutGPUsWarns: gpu_memory alone asks for no GPU (the plan
// put such a task on a class without one, silently); a warning says so,
// and none comes with gpus or kind = "gpu".
func TestGPUMemoryWithoutGPUsWarns(t *testing.T) {
	src := "graph \"g\" {\n  task \"a\" {\n    command = \"x\"\n    hints {\n      HINTS\n      gpu_memory = \"16GiB\"\n    }\n  }\n}\n"
	for hints, warn := range map[string]bool{"": true, "kind = \"cpu\"": true, "gpus = 1": false, "kind = \"gpu\"": false} {
		_, diags := Parse("gm.hcl", []byte(strings.Replace(src, "HINTS", hints, 1)), Options{})
		if diags.HasErrors() {
			t.Fatalf("%s: %s", hints, dump(diags))
		}
		got := len(diags) == 1 && diags[0].Summary == "GPU memory without GPUs" && subjectPos(diags[0]) == "gm.hcl:6:20"
		if got != warn || (!warn && len(diags) != 0) {
			t.Errorf("hints %q: diags:\n%s\nwant the warning: %v", hints, dump(diags), warn)
		}
	}
}

// TestZeroRuntimeWarns: runtime = "0s" counts as not given, so the task is
// planned at the default runtime; a warning says so.
func TestZeroRuntimeWarns(t *testing.T) {
	src := "graph \"g\" {\n  task \"a\" {\n    command = \"x\"\n    hints {\n      runtime = RT\n    }\n  }\n}\n"
	for rt, warn := range map[string]bool{`"0s"`: true, "0": true, `"1ms"`: false} {
		_, diags := Parse("rt.hcl", []byte(strings.Replace(src, "RT", rt, 1)), Options{})
		got := len(diags) == 1 && diags[0].Severity == hcl.DiagWarning && diags[0].Summary == "Runtime hint of zero" &&
			subjectPos(diags[0]) == "rt.hcl:5:17" && strings.Contains(diags[0].Detail, "counts as not given")
		if got != warn || (!warn && len(diags) != 0) {
			t.Errorf("runtime = %s: diags:\n%s\nwant the warning: %v", rt, dump(diags), warn)
		}
	}
}
