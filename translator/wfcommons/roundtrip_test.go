package wfcommons

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/translator/hclreader"
)

// edgeKey identifies an edge by its endpoints (traces have at most one edge
// per ordered pair of tasks).
type edgeKey struct{ from, to string }

// edgeData is what an edge carries: its output's name and its bytes.
type edgeData struct {
	output string
	bytes  int64
}

// edgeBytes sums the bytes of g's edges (unknown sizes, -1, count as 0) and
// maps each edge to what it carries.
func edgeBytes(g *graph.Graph) (int64, map[edgeKey]edgeData) {
	var total int64
	m := make(map[edgeKey]edgeData, len(g.Edges))
	for _, e := range g.Edges {
		m[edgeKey{e.From, e.To}] = edgeData{e.Output, e.Bytes}
		if e.Bytes > 0 {
			total += e.Bytes
		}
	}
	return total, m
}

// checkRoundTrip writes res with WriteDir and checks it with checkEdgeBytes.
func checkRoundTrip(t *testing.T, res *Result) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rt")
	if err := WriteDir(dir, res); err != nil {
		t.Fatal(err)
	}
	checkEdgeBytes(t, res, dir)
}

// checkEdgeBytes parses the graph.hcl WriteDir wrote into dir back with
// hclreader and checks that every edge reads the same output and carries the
// same bytes as in res.Graph, so that the planner sees what each child
// really reads.
func checkEdgeBytes(t *testing.T, res *Result, dir string) {
	t.Helper()
	parsed, diags := hclreader.ParseFile(filepath.Join(dir, GraphFile), hclreader.Options{})
	if diags.HasErrors() {
		t.Fatalf("graph.hcl does not parse back: %s", diags.Error())
	}
	wantTotal, want := edgeBytes(res.Graph)
	gotTotal, got := edgeBytes(parsed)
	t.Logf("%s: %d edges, %d bytes in memory, %d bytes in graph.hcl", res.Graph.Name, len(want), wantTotal, gotTotal)
	if gotTotal != wantTotal {
		t.Errorf("graph.hcl edges carry %d bytes in all, want %d", gotTotal, wantTotal)
	}
	if len(got) != len(want) {
		t.Errorf("graph.hcl has %d edges, want %d", len(got), len(want))
	}
	bad := 0
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			if bad++; bad <= 5 {
				t.Errorf("edge %s -> %s: %+v in graph.hcl (present %v), want %+v", k.from, k.to, g, ok, w)
			}
		}
	}
	if bad > 5 {
		t.Errorf("... and %d more edges differ", bad-5)
	}
}

func TestRoundTripEdgeBytesTiny(t *testing.T) {
	for _, f := range []string{"tiny-nextflow.json", "tiny-pegasus.json", "tiny-legacy.json", "tiny-split.json"} {
		t.Run(f, func(t *testing.T) {
			res, err := Import(filepath.Join("testdata", f))
			if err != nil {
				t.Fatal(err)
			}
			checkRoundTrip(t, res)
		})
	}
}

// TestOutputSets checks that a task gets one output per distinct set of its
// files that a child reads, named in first-reader order, and that each
// child's input names the output holding exactly what it reads.
func TestOutputSets(t *testing.T) {
	res, err := Import(filepath.Join("testdata", "tiny-split.json"))
	if err != nil {
		t.Fatal(err)
	}
	g := res.Graph
	type out struct {
		name  string
		bytes int64
	}
	wantOuts := map[string][]out{
		// align_2 reads p2, align_3 p1, align_4 p2 again, pair_5 p3 and p1;
		// nobody reads split.log.
		"split_ID0000001": {{"data_1", 350}, {"data_2", 300}, {"data_3", 640}},
		// cat reads a2.sam and the empty a2.err.
		"align_ID0000002": {{"data", 700}},
		// cat reads a1.sam; check reads only the empty a1.err.
		"align_ID0000003": {{"data", 600}},
		// no reader: everything it writes.
		"cat_ID0000006": {{"data", 1300}},
	}
	for _, task := range g.Tasks {
		var got []out
		for _, o := range task.Outputs {
			if o.Path != "out/"+o.Name {
				t.Errorf("%s output %s path %q", task.Name, o.Name, o.Path)
			}
			got = append(got, out{o.Name, o.Bytes})
		}
		if w := wantOuts[task.Name]; fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s outputs = %v, want %v", task.Name, got, w)
		}
	}
	wantEdges := map[edgeKey]string{
		{"split_ID0000001", "align_ID0000002"}: "data_1 350",
		{"split_ID0000001", "align_ID0000003"}: "data_2 300",
		{"split_ID0000001", "align_ID0000004"}: "data_1 350",
		{"split_ID0000001", "pair_ID0000005"}:  "data_3 640",
		{"align_ID0000002", "cat_ID0000006"}:   "data 700",
		{"align_ID0000003", "cat_ID0000006"}:   "data 600",
		{"align_ID0000003", "check_ID0000007"}: " 0",
	}
	if len(g.Edges) != len(wantEdges) {
		t.Errorf("edges = %d, want %d", len(g.Edges), len(wantEdges))
	}
	for _, e := range g.Edges {
		got := fmt.Sprintf("%s %d", e.Output, e.Bytes)
		if w := wantEdges[edgeKey{e.From, e.To}]; got != w {
			t.Errorf("edge %s -> %s = %q, want %q", e.From, e.To, got, w)
		}
	}
	for _, task := range g.Tasks {
		for _, in := range task.Inputs {
			if w := strings.Fields(wantEdges[edgeKey{in.Task, task.Name}]); len(w) != 2 || in.Output != w[0] || in.Path != "in/"+in.Task+"-"+in.Output {
				t.Errorf("%s input %+v, want output %v", task.Name, in, w)
			}
		}
	}
	if check := g.Task("check_ID0000007"); len(check.Inputs) != 0 || strings.Join(check.DependsOn, ",") != "align_ID0000003" {
		t.Errorf("check inputs %+v, depends_on %v", check.Inputs, check.DependsOn)
	}
	checkRoundTrip(t, res)
}
