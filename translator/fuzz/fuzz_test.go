package fuzz_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/shardwise/shardwise/planner"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/translator/hclreader"
	"github.com/shardwise/shardwise/translator/hclwriter"
	"github.com/shardwise/shardwise/translator/nomadjob"
	"github.com/shardwise/shardwise/translator/wfcommons"
)

// seedFiles adds every file matching the patterns (relative to the
// repository root) as a seed.
func seedFiles(f *testing.F, patterns ...string) {
	n := 0
	for _, p := range patterns {
		files, _ := filepath.Glob(filepath.Join("..", "..", p))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no seed files match %v", patterns)
	}
}

// seedTraces adds the shared WfCommons traces under 200 KB as seeds; they
// are optional (the repository's own traces seed the target), but must be
// there under CI.
func seedTraces(f *testing.F) {
	const dir = "/work/shared/traces/wfcommons"
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 && os.Getenv("CI") != "" {
		f.Fatalf("no shared traces in %s", dir)
	}
	for _, file := range files {
		if st, err := os.Stat(file); err != nil || st.Size() > 200<<10 {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// throughPipeline plans g on cat and writes every job as HCL and JSON,
// failing t on a lost task or a job file that does not parse. Errors from
// planning and job building are allowed (an input may be valid HCL yet
// unplaceable), panics are not.
func throughPipeline(t *testing.T, g *graph.Graph, cat *catalog.Catalog) {
	t.Helper()
	r, err := planner.Pipeline{Catalog: cat, Logger: hclog.NewNullLogger()}.Plan(g, planner.Options{Run: "fuzz"})
	if err != nil {
		return
	}
	planned := map[string]bool{}
	for _, s := range r.Plan.Shards {
		for _, name := range s.Tasks {
			planned[name] = true
		}
	}
	for _, task := range g.Tasks {
		if !planned[task.Name] {
			t.Fatalf("task %q is in no shard", task.Name)
		}
	}
	jobs, err := nomadjob.Jobs(r.Plan, g, cat, nomadjob.Options{Driver: r.Plan.Driver})
	if err != nil {
		return
	}
	for _, j := range jobs {
		var h, js bytes.Buffer
		if err := nomadjob.WriteHCL(&h, j); err != nil {
			t.Fatalf("job %s: %v", *j.ID, err)
		}
		if _, diags := hclsyntax.ParseConfig(h.Bytes(), "job.nomad.hcl", hcl.InitialPos); diags.HasErrors() {
			t.Fatalf("job %s: HCL does not parse: %v\n%s", *j.ID, diags, h.Bytes())
		}
		if err := nomadjob.WriteJSON(&js, j); err != nil {
			t.Fatalf("job %s: %v", *j.ID, err)
		}
		if !json.Valid(js.Bytes()) {
			t.Fatalf("job %s: invalid JSON", *j.ID)
		}
	}
}

// FuzzGraphFile parses arbitrary graph files; what parses is planned and
// written as jobs, and written back as a graph file that must parse to the
// same number of tasks and edges.
func FuzzGraphFile(f *testing.F) {
	seedFiles(f, "examples/*/graph.hcl", "translator/hclreader/testdata/*.hcl", "translator/hclreader/testdata/*/*.hcl",
		"e2e/testdata/run/*.hcl", "translator/hclwriter/testdata/*.hcl")
	cat := catalog.Default()
	f.Fuzz(func(t *testing.T, src []byte) {
		g, diags := hclreader.Parse("graph.hcl", src, hclreader.Options{Executors: cat.Names()})
		if diags.HasErrors() {
			return
		}
		again, err := hclwriter.Encode(g)
		if err == nil {
			g2, diags := hclreader.Parse("again.hcl", again, hclreader.Options{Executors: cat.Names()})
			if diags.HasErrors() {
				t.Fatalf("written graph does not parse back: %v\n%s", diags, again)
			}
			if len(g2.Tasks) != len(g.Tasks) || len(g2.Edges) != len(g.Edges) {
				t.Fatalf("written graph has %d tasks, %d edges; read %d, %d", len(g2.Tasks), len(g2.Edges), len(g.Tasks), len(g.Edges))
			}
		}
		throughPipeline(t, g, cat)
	})
}

// FuzzCatalogFile parses arbitrary catalog files; what parses and
// validates merged over the default plans the nightly-etl example.
func FuzzCatalogFile(f *testing.F) {
	seedFiles(f, "planner/catalog/*.hcl", "e2e/testdata/run/*catalog*.hcl")
	src, err := os.ReadFile("../../examples/nightly-etl/graph.hcl")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		user, diags := catalog.Parse("catalog.hcl", data)
		if diags.HasErrors() {
			return
		}
		cat := catalog.Merge(catalog.Default(), user)
		if cat.Validate().HasErrors() {
			return
		}
		g, diags := hclreader.Parse("graph.hcl", src, hclreader.Options{Executors: cat.Names()})
		if diags.HasErrors() {
			return // the example pins a class the fuzzed catalog dropped
		}
		throughPipeline(t, g, cat)
	})
}

// FuzzWfCommonsTrace imports arbitrary traces; what imports is written as
// a graph file, read back, planned and written as jobs.
func FuzzWfCommonsTrace(f *testing.F) {
	seedFiles(f, "translator/wfcommons/testdata/*.json")
	seedTraces(f)
	cat := catalog.Default()
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := wfcommons.Parse(data, "trace.json", wfcommons.Options{})
		if err != nil {
			return
		}
		src, err := hclwriter.Encode(res.Graph)
		if err != nil {
			return
		}
		g, diags := hclreader.Parse("graph.hcl", src, hclreader.Options{Executors: cat.Names()})
		if diags.HasErrors() {
			t.Fatalf("imported graph does not parse: %v\n%s", diags, src)
		}
		if len(g.Tasks) != len(res.Graph.Tasks) {
			t.Fatalf("imported %d tasks, graph file holds %d", len(res.Graph.Tasks), len(g.Tasks))
		}
		throughPipeline(t, g, cat)
	})
}
