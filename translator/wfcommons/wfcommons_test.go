package wfcommons

import (
	"bufio"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/shardwise/shardwise/internal/testutil"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
)

// realTraces lists every shared trace with the README's task and edge
// (parent-child pair) counts and the number of distinct signatures.
var realTraces = []struct {
	file              string
	tasks, edges, sig int
}{
	{"bacass-dirt02-001.json", 11, 14, 7},
	{"blast-chameleon-small-001.json", 43, 120, 4},
	{"montage-chameleon-2mass-01d-001.json", 103, 231, 8},
	{"rnaseq-dirt02-001.json", 197, 451, 62},
	{"1000genome-chameleon-8ch-100k-001.json", 208, 304, 5},
	{"seismology-chameleon-1000p-001.json", 1001, 1000, 2},
	{"bwa-chameleon-large-001.json", 1004, 4000, 5},
	{"epigenomics-chameleon-ilmn-6seq-50k-001.json", 1695, 2108, 8},
	{"legacy-schema-1.4/bwa-chameleon-small-001.json", 104, 400, 5},
	{"runs/blast-chameleon-small-002.json", 43, 120, 4},
	{"runs/blast-chameleon-medium-001.json", 303, 900, 4},
	{"runs/blast-chameleon-large-001.json", 103, 300, 4},
	{"runs/bwa-chameleon-small-001.json", 104, 400, 5},
	{"runs/bwa-chameleon-medium-001.json", 1004, 4000, 5},
	{"runs/1000genome-chameleon-2ch-100k-001.json", 52, 76, 5},
	{"runs/1000genome-chameleon-4ch-250k-001.json", 164, 212, 5},
	{"runs/epigenomics-chameleon-hep-1seq-100k-001.json", 41, 48, 8},
	{"runs/epigenomics-chameleon-hep-2seq-50k-001.json", 223, 274, 8},
}

func TestImportRealTraces(t *testing.T) {
	tracesDir := testutil.Traces(t)
	for _, c := range realTraces {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(tracesDir, c.file)
			res, err := Import(path)
			if err != nil {
				t.Fatal(err)
			}
			g := res.Graph
			if len(g.Tasks) != c.tasks || len(g.Edges) != c.edges {
				t.Errorf("tasks, edges = %d, %d; README says %d, %d", len(g.Tasks), len(g.Edges), c.tasks, c.edges)
			}
			if len(res.Records) != c.tasks {
				t.Errorf("records = %d, want one per executed task (%d)", len(res.Records), c.tasks)
			}
			if n := len(signatures(g)); n != c.sig {
				t.Errorf("distinct signatures = %d, want %d: %v", n, c.sig, signatures(g))
			}
			checkRecords(t, res)
			checkHCL(t, res)
		})
	}
}

func signatures(g *graph.Graph) map[string]int {
	s := map[string]int{}
	for _, t := range g.Tasks {
		s[t.Signature]++
	}
	return s
}

// checkRecords checks that records match graph tasks and carry a source.
func checkRecords(t *testing.T, res *Result) {
	t.Helper()
	for _, r := range res.Records {
		gt := res.Graph.Task(r.Task)
		if gt == nil || gt.Signature != r.Signature {
			t.Fatalf("record %s/%s matches no graph task", r.Task, r.Signature)
		}
		if r.Source != "wfcommons:"+filepath.Base(res.Path) || r.RuntimeSeconds < 0 {
			t.Fatalf("bad record %+v", r)
		}
	}
}

// checkHCL writes the graph and parses it back, checking the edges' bytes
// survive (checkEdgeBytes).
func checkHCL(t *testing.T, res *Result) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	if err := WriteDir(dir, res); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, GraphFile))
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(src, GraphFile, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("graph.hcl does not parse: %s", diags.Error())
	}
	body := f.Body.(*hclsyntax.Body)
	tasks := 0
	for _, b := range body.Blocks[0].Body.Blocks {
		if b.Type == "task" {
			tasks++
		}
	}
	if tasks != len(res.Graph.Tasks) {
		t.Errorf("graph.hcl has %d task blocks, want %d", tasks, len(res.Graph.Tasks))
	}
	if n := len(readHistory(t, filepath.Join(dir, HistoryFile))); n != len(res.Records) {
		t.Errorf("history.jsonl has %d records, want %d", n, len(res.Records))
	}
	checkEdgeBytes(t, res, dir)
}

func readHistory(t *testing.T, path string) []history.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []history.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r history.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s line %d: %v", path, len(out)+1, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMontageSignatures(t *testing.T) {
	path := testutil.Trace(t, "montage-chameleon-2mass-01d-001.json")
	res, err := Import(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"mProject": 21, "mDiffFit": 45, "mConcatFit": 3, "mBgModel": 3,
		"mBackground": 21, "mImgtbl": 3, "mAdd": 3, "mViewer": 4,
	}
	got := signatures(res.Graph)
	for s, n := range want {
		if got[s] != n {
			t.Errorf("signature %s: %d tasks, want %d", s, got[s], n)
		}
	}
	if res.Family != "montage" || res.Schema != Schema15 || res.RuntimeSystem != "Pegasus" {
		t.Errorf("family, schema, system = %q, %q, %q", res.Family, res.Schema, res.RuntimeSystem)
	}
	if want := time.Date(2021, 3, 23, 5, 57, 15, 0, time.UTC); !res.ExecutedAt.Equal(want) {
		t.Errorf("ExecutedAt = %v, want %v", res.ExecutedAt, want)
	}
}

func TestNextflowMapping(t *testing.T) {
	res, err := ImportOptions(filepath.Join("testdata", "tiny-nextflow.json"), Options{TimeScale: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	g := res.Graph
	if got := names(g); got != "WF_PREP_1,WF_ALIGN_2,WF_REPORT_3" {
		t.Fatalf("task names = %s", got)
	}
	prep, align, report := g.Tasks[0], g.Tasks[1], g.Tasks[2]
	if prep.Signature != "WF.PREP" || prep.Env[EnvTraceTask] != "WF.PREP_1" {
		t.Errorf("prep signature %q, trace id %q", prep.Signature, prep.Env[EnvTraceTask])
	}
	if prep.Command != "/bin/sh" || strings.Join(prep.Args, " ") != "-c sleep 0.125" {
		t.Errorf("prep command = %s %q", prep.Command, prep.Args)
	}
	if !strings.Contains(prep.Env[EnvOriginalCommand], "split ${x} reads.fq") {
		t.Errorf("original command = %q", prep.Env[EnvOriginalCommand])
	}
	// Only align reads prep's files (a.fq); b.fq and log.txt go nowhere.
	if len(prep.Outputs) != 1 || prep.Outputs[0].Name != DataOutput || prep.Outputs[0].Bytes != 400 {
		t.Errorf("prep outputs = %+v, want one data output of 400 bytes", prep.Outputs)
	}
	// prep avgCPU 190 -> 2 cores, cpu; align 8 GiB on ~1 core -> memory;
	// report ran 0 s -> no kind.
	// The time scale (0.01) applies to the hint as to the sleep.
	if prep.Hints.Cores != 2 || prep.Hints.Kind != graph.KindCPU || prep.Hints.Runtime != 125*time.Millisecond {
		t.Errorf("prep hints = %+v", prep.Hints)
	}
	if align.Hints.Kind != graph.KindMemory || report.Hints.Kind != "" {
		t.Errorf("kinds = %q, %q", align.Hints.Kind, report.Hints.Kind)
	}
	if align.InputBytes != 400+3221225472 {
		t.Errorf("align InputBytes = %d", align.InputBytes)
	}
	// prep -> align shares a.fq (400 B); prep -> report and align -> report
	// share nothing (depends_on); the repeated parent is dropped.
	wantEdges := map[string]int64{"WF_PREP_1>WF_ALIGN_2": 400, "WF_PREP_1>WF_REPORT_3": 0, "WF_ALIGN_2>WF_REPORT_3": 0}
	if len(g.Edges) != len(wantEdges) {
		t.Fatalf("edges = %d, want %d", len(g.Edges), len(wantEdges))
	}
	for _, e := range g.Edges {
		b, ok := wantEdges[e.From+">"+e.To]
		if !ok || b != e.Bytes {
			t.Errorf("edge %s -> %s (%s, %d B) unexpected", e.From, e.To, e.Output, e.Bytes)
		}
	}
	if len(align.Inputs) != 1 || align.Inputs[0].Task != "WF_PREP_1" || len(report.DependsOn) != 2 {
		t.Errorf("align inputs %+v, report depends_on %v", align.Inputs, report.DependsOn)
	}

	r := res.Records
	if len(r) != 3 {
		t.Fatalf("records = %d", len(r))
	}
	if r[0].Cores != 1.9 || r[0].CPUPercent != 190 || r[0].MemoryBytes != 104857600 || r[0].InputBytes != 1000 ||
		r[0].OutputBytes != 910 || r[0].ReadBytes != 2000 || r[0].WriteBytes != 900 || r[0].Run != "happy_run" {
		t.Errorf("prep record = %+v", r[0])
	}
	// Scaled too: 60 s recorded, 0.6 s at 0.01; the start is as recorded.
	if want := time.Date(2023, 3, 29, 10, 3, 0, 0, time.UTC); !r[1].Start.Equal(want) || !r[1].End.Equal(want.Add(600*time.Millisecond)) || r[1].RuntimeSeconds != 0.6 {
		t.Errorf("align start/end = %v / %v", r[1].Start, r[1].End)
	}
	if !r[2].Start.IsZero() || r[2].MemoryBytes != 0 {
		t.Errorf("report record = %+v", r[2])
	}
	for _, w := range []string{"memoryInBytes 0", "no known date format", "renamed"} {
		if !hasWarning(res, w) {
			t.Errorf("no warning about %q in %q", w, res.Warnings)
		}
	}
}

func TestPegasusMapping(t *testing.T) {
	res, err := Import(filepath.Join("testdata", "tiny-pegasus.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := signatures(res.Graph)
	if got["mProject"] != 2 || got["mAdd"] != 1 || got["fast2bfq"] != 1 {
		t.Errorf("signatures = %v", got)
	}
	add := res.Graph.Task("mAdd_ID0000003")
	if len(add.Inputs) != 2 || add.Hints.Cores != 2 {
		t.Errorf("mAdd inputs %+v, cores %d", add.Inputs, add.Hints.Cores)
	}
	p2 := res.Graph.Task("mProject_ID0000002")
	if p2.Hints.Kind != graph.KindIO || strings.Join(p2.Args, " ") != "-c sleep 15.962" {
		t.Errorf("mProject_2 kind %q, args %q", p2.Hints.Kind, p2.Args)
	}
	r := res.Records
	if r[0].CPUMHz != 3033 || r[0].Node != "mem" || r[2].CPUMHz != 0 || r[2].Cores != 2 {
		t.Errorf("records = %+v", r)
	}
	for _, w := range []string{"several machines", "not described"} {
		if !hasWarning(res, w) {
			t.Errorf("no warning about %q in %q", w, res.Warnings)
		}
	}
}

func TestLegacyMapping(t *testing.T) {
	res, err := Import(filepath.Join("testdata", "tiny-legacy.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Schema != Schema14 || res.RuntimeSystem != "Makeflow" {
		t.Errorf("schema, system = %q, %q", res.Schema, res.RuntimeSystem)
	}
	g := res.Graph
	if names(g) != "split_ID000001,bwa_ID000002" || g.Tasks[0].Signature != "split" || g.Tasks[1].Signature != "bwa" {
		t.Fatalf("tasks = %s, signatures %q %q", names(g), g.Tasks[0].Signature, g.Tasks[1].Signature)
	}
	if len(g.Edges) != 1 || g.Edges[0].Bytes != 60 || g.Tasks[0].Outputs[0].Bytes != 60 {
		t.Errorf("edge %+v, output %+v", g.Edges, g.Tasks[0].Outputs)
	}
	split, bwa := res.Records[0], res.Records[1]
	// readBytes wins over bytesRead; the KB fields fill in where it is absent.
	if split.ReadBytes != 5000 || split.WriteBytes != 2000 || split.MemoryBytes != 3000000 || split.CPUMHz != 2000 {
		t.Errorf("split record = %+v", split)
	}
	if bwa.ReadBytes != 334950000 || bwa.MemoryBytes != 5000000 || bwa.Cores != 1 || bwa.Node != "worker-1" {
		t.Errorf("bwa record = %+v", bwa)
	}
	if g.Tasks[1].Hints.Kind != graph.KindIO {
		t.Errorf("bwa kind = %q, want io (avgCPU 12.5)", g.Tasks[1].Hints.Kind)
	}
}

func TestBadInputs(t *testing.T) {
	cases := []struct {
		file, path string
		want       []string
	}{
		{"bad-unknown-schema.json", "schemaVersion", []string{`unsupported version "2.0"`, "1.5", "1.4"}},
		{"bad-missing-schema.json", "schemaVersion", []string{"missing"}},
		{"bad-truncated.json", "", []string{"invalid JSON", "truncated", "line"}},
		{"bad-parent-not-found.json", "workflow.specification.tasks[1].parents[1]", []string{`parent "ghost" not found`}},
		{"bad-duplicate-id.json", "workflow.specification.tasks[2].id", []string{`duplicate task id "a"`, "workflow.specification.tasks[0]"}},
		{"bad-missing-id.json", "workflow.specification.tasks[1]", []string{"task has no id"}},
		// The cycle is reported from where the search met it: any rotation.
		{"bad-cycle.json", "workflow.specification.tasks", []string{"dependency cycle: ", "a -> b", "b -> c", "c -> a"}},
		{"bad-self-parent.json", "workflow.specification.tasks[0].parents[0]", []string{"dependency cycle: a -> a"}},
		{"bad-unknown-exec-task.json", "workflow.execution.tasks[1].id", []string{`task "zz" is not in workflow.specification.tasks`}},
		{"bad-negative-runtime.json", "workflow.execution.tasks[0].runtimeInSeconds", []string{"non-negative", "-3"}},
		{"bad-runtime-overflow.json", "workflow.execution.tasks[0].runtimeInSeconds", []string{"runtimeInSeconds 1e+300 times time scale 1 is longer than a duration holds"}},
		{"bad-wrong-type.json", "workflow.specification.tasks.parents", []string{"JSON string"}},
		{"bad-legacy-child-not-found.json", "workflow.tasks[0].children[0]", []string{`child "nope" not found`}},
		{"bad-no-tasks-legacy.json", "workflow.tasks", []string{"the trace has no tasks, so there is no workflow to import"}},
		{"bad-no-tasks.json", "workflow.specification.tasks", []string{"the trace has no tasks, so there is no workflow to import"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", c.file)
			res, err := Import(path)
			if err == nil {
				t.Fatalf("Import succeeded with %d tasks, want an error", len(res.Graph.Tasks))
			}
			var ie *Error
			if !errors.As(err, &ie) || ie.File != path || ie.Path != c.path {
				t.Fatalf("error %v: want an *Error for file %s at JSON path %q", err, path, c.path)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestImportMissingFile(t *testing.T) {
	_, err := Import(filepath.Join("testdata", "no-such-trace.json"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error = %v, want one wrapping os.ErrNotExist", err)
	}
}

func TestParseTime(t *testing.T) {
	cases := map[string]time.Time{
		"2020-12-25T20:10:08+00:00":  time.Date(2020, 12, 25, 20, 10, 8, 0, time.UTC),
		"2023-03-29T10:02:36-10:00":  time.Date(2023, 3, 29, 20, 2, 36, 0, time.UTC),
		"20200401T050758+0000":       time.Date(2020, 4, 1, 5, 7, 58, 0, time.UTC),
		"03-23-21T05:57:15Z":         time.Date(2021, 3, 23, 5, 57, 15, 0, time.UTC),
		"2021-03-23T06:27:33.328018": time.Date(2021, 3, 23, 6, 27, 33, 328018000, time.UTC),
	}
	for in, want := range cases {
		got, ok := ParseTime(in)
		if !ok || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "13-45-21T00:00:00Z"} {
		if got, ok := ParseTime(bad); ok {
			t.Errorf("ParseTime(%q) = %v, want failure", bad, got)
		}
	}
}

func TestGuessKind(t *testing.T) {
	cases := []struct {
		runtime, cpu float64
		hasCPU       bool
		cores        float64
		mem, io      int64
		want         graph.Kind
	}{
		{0, 90, true, 1, 0, 0, ""},
		{10, 90, true, 1, 3 << 30, 0, graph.KindMemory},
		{10, 190, true, 2, 3 << 30, 0, graph.KindCPU},
		{10, 20, true, 1, 0, 0, graph.KindIO},
		{10, 90, true, 1, 0, 2e9, graph.KindIO},
		{10, 0, false, 0, 0, 0, graph.KindCPU},
		{10, 99, true, 1, 0, 1e6, graph.KindCPU},
	}
	for _, c := range cases {
		if got := GuessKind(c.runtime, c.cpu, c.hasCPU, c.cores, c.mem, c.io); got != c.want {
			t.Errorf("GuessKind(%+v) = %q, want %q", c, got, c.want)
		}
	}
}

func names(g *graph.Graph) string {
	var n []string
	for _, t := range g.Tasks {
		n = append(n, t.Name)
	}
	return strings.Join(n, ",")
}

func hasWarning(res *Result, sub string) bool {
	for _, w := range res.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

// BenchmarkImportLargest measures Import alone on the largest shared trace
// (3.5 MB, 1695 tasks).
func BenchmarkImportLargest(b *testing.B) {
	path := testutil.Trace(b, "epigenomics-chameleon-ilmn-6seq-50k-001.json")
	for b.Loop() {
		if _, err := Import(path); err != nil {
			b.Fatal(err)
		}
	}
}

// TestImportWarnsOddities checks that each oddity of a trace is warned
// about once, with its count and a first example: a memory below 1 MiB
// (left out of the record), a zero runtime, byte and KB fields that
// disagree, a dependency in only one of the parents and children lists,
// and 1.4 parents that name task ids (resolved by id).
func TestImportWarnsOddities(t *testing.T) {
	res, err := Import(filepath.Join("testdata", "odd-legacy.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2 tasks record a peak memory below 1 MiB (the least 2048 bytes, task c_ID03), too little for a process: probably another unit; their records leave memory unset",
		"1 tasks have runtimeInSeconds 0: their stand-ins sleep 0 s and their records say they took no time",
		"1 tasks give byte and legacy KB fields that disagree (first: task a_ID01, readBytes 5000 vs bytesRead 9 KB): the byte fields are used",
		"1 dependencies appear in only one of the parents and children lists (first: b_ID02 -> c_ID03, only in the children list of b_ID02): each is imported",
		"1 parents or children name a task by its id rather than its name: resolved by id",
	}
	if got := strings.Join(res.Warnings, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	g := res.Graph
	if len(g.Edges) != 2 || g.Edges[0].From != "a_ID01" || g.Edges[0].To != "b_ID02" || g.Edges[1].From != "b_ID02" || g.Edges[1].To != "c_ID03" {
		t.Errorf("edges = %v", g.Edges)
	}
	for _, r := range res.Records {
		if want := map[string]int64{"a_ID01": 0, "b_ID02": 3000000, "c_ID03": 0}[r.Task]; r.MemoryBytes != want {
			t.Errorf("%s: memory %d bytes, want %d", r.Task, r.MemoryBytes, want)
		}
	}
}

// TestImportWarnsNoMemory checks that a trace whose tasks record no memory
// at all says so, once.
func TestImportWarnsNoMemory(t *testing.T) {
	res, err := Import(filepath.Join("testdata", "no-memory.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, w := range res.Warnings {
		if strings.HasPrefix(w, "no task records its memory") {
			n++
			if !strings.Contains(w, "the default 512 MiB") {
				t.Errorf("warning %q does not name the default", w)
			}
		}
		if strings.Contains(w, "parents and children") {
			t.Errorf("mirrored lists warned about: %s", w)
		}
	}
	if n != 1 {
		t.Errorf("%d no-memory warnings in %q, want 1", n, res.Warnings)
	}
	res, err = Import(filepath.Join("testdata", "tiny-pegasus.json"))
	if err != nil || hasWarning(res, "no task records its memory") {
		t.Errorf("tiny-pegasus, which records memory: %v %q", err, res.Warnings)
	}
}

// TestTimeScaleBounds: a time scale that is NaN or infinite, or that
// makes a recorded runtime longer than a duration holds, is an error
// naming it, not a negative duration further on.
func TestTimeScaleBounds(t *testing.T) {
	path := filepath.Join("testdata", "tiny-pegasus.json")
	for _, c := range []struct {
		scale float64
		want  string
	}{
		{math.NaN(), "time scale NaN: must be finite and not negative"},
		{math.Inf(1), "time scale +Inf: must be finite and not negative"},
		{1e300, "times time scale 1e+300 is longer than a duration holds"},
	} {
		_, err := ImportOptions(path, Options{TimeScale: c.scale})
		var ie *Error
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("time scale %v: %v; want an *Error containing %q", c.scale, err, c.want)
		}
	}
}
