package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/plan"
)

// TestTaskThatFitsNoClassIsPositioned: a task no executor class can run
// is reported at its declaration (file:line:col, with the source line) by
// plan and simulate, exit 1, and plan writes no job.
func TestTaskThatFitsNoClassIsPositioned(t *testing.T) {
	graph := filepath.Join("testdata", "bad", "fits-no-class.hcl")
	out := filepath.Join(t.TempDir(), "jobs")
	for _, args := range [][]string{{"plan", "-out", out, graph}, {"simulate", graph}} {
		_, stderr, code := runCLI(args...)
		want := graph + `:8:3: error: Task fits no executor class
    8 |   task "train" {
      |   ^^^^^^^^^^^^
  No executor class of the catalog can run task "train": cpu-heavy: needs 9 GPU(s), instance has 0;`
		if code != 1 || !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, "gpu-accelerated: needs 9 GPU(s), instance has 1") {
			t.Errorf("shardwise %v: exit %d, stderr:\n%s\nwant exit 1 starting:\n%s", args, code, stderr, want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("plan -out wrote %s (%v) for a graph it could not plan", out, err)
	}
}

// TestImportWritesNothingOnError: import wfcommons with a history store
// it cannot open writes no graph folder, and with a folder it cannot write
// leaves no new history store behind.
func TestImportWritesNothingOnError(t *testing.T) {
	trace := filepath.Join("..", "..", "translator", "wfcommons", "testdata", "tiny-pegasus.json")
	dir := t.TempDir()
	notDB := filepath.Join(dir, "not.db")
	if err := os.WriteFile(notDB, []byte("not a database\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	_, stderr, code := runCLI("import", "wfcommons", "-out", out, "-history-db", notDB, trace)
	if code != 1 || !strings.Contains(stderr, notDB) {
		t.Errorf("bad store: exit %d, stderr %q; want 1 naming %s", code, stderr, notDB)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("bad store: %s written (%v)", out, err)
	}
	newDB := filepath.Join(dir, "new.db")
	_, stderr, code = runCLI("import", "wfcommons", "-out", filepath.Join(dir, "missing", "out"), "-history-db", newDB, trace)
	if code != 1 || !strings.Contains(stderr, "does not exist") {
		t.Errorf("bad folder: exit %d, stderr %q", code, stderr)
	}
	if left, _ := filepath.Glob(newDB + "*"); len(left) != 0 {
		t.Errorf("bad folder: history store left behind: %v", left)
	}
	_, stderr, code = runCLI("import", "wfcommons", "-out", out, "-history-db", newDB, trace)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, p := range []string{filepath.Join(out, "graph.hcl"), newDB} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
}

// TestWriteFileErrorsNameThePath: -dot and -gantt into a folder that does
// not exist say so, naming the file asked for and not renameio's temporary
// file, exit 1.
func TestWriteFileErrorsNameThePath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	graph := filepath.Join("..", "..", "examples", "nightly-etl", "graph.hcl")
	for _, c := range []struct {
		args []string
		path string
	}{
		{[]string{"plan", "-dot", filepath.Join(dir, "plan.dot"), graph}, filepath.Join(dir, "plan.dot")},
		{[]string{"simulate", "-gantt", filepath.Join(dir, "plan.svg"), graph}, filepath.Join(dir, "plan.svg")},
	} {
		_, stderr, code := runCLI(c.args...)
		want := c.path + ": the folder " + dir + " does not exist; create it first\n"
		if code != 1 || !strings.Contains(stderr, want) || strings.Count(stderr, dir) != 2 {
			t.Errorf("shardwise %v: exit %d, stderr %q; want 1 with %q", c.args, code, stderr, want)
		}
	}
}

// TestFeedbackUnreachableCreatesNoStore: feedback against an agent that
// does not answer fails before it creates its history store.
func TestFeedbackUnreachableCreatesNoStore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "h.db")
	_, stderr, code := runCLI("feedback", "-address", closedAddr(t), "-history-db", db, "-metrics-addr", "")
	if code != 1 || !strings.Contains(stderr, "cannot reach the Nomad agent") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if left, _ := filepath.Glob(db + "*"); len(left) != 0 {
		t.Errorf("history store created for an unreachable agent: %v", left)
	}
}

// TestRunUnreachableWritesNothing: run (with -feedback and -out) and run
// -resume against an agent that does not answer fail with one error
// naming the address, and create neither the history store nor the jobs
// folder.
func TestRunUnreachableWritesNothing(t *testing.T) {
	dir := t.TempDir()
	db, out := filepath.Join(dir, "h.db"), filepath.Join(dir, "jobs")
	addr := closedAddr(t)
	for _, args := range [][]string{
		{"run", "-address", addr, "-feedback", "-history-db", db, "-out", out, etlGraph},
		{"run", "-address", addr, "-feedback", "-history-db", db, "-resume", "r1"},
	} {
		stdout, stderr, code := runCLI(args...)
		want := "Error: cannot reach the Nomad agent at " + addr + ": connection refused"
		if code != 1 || !strings.HasPrefix(stderr, want) || strings.Contains(stderr, "WARN") || stdout != "" {
			t.Errorf("shardwise %v: exit %d, stdout %q, stderr %q; want 1 and only %q", args, code, stdout, stderr, want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("written for an unreachable agent: %v", left)
	}
}

// TestCatalogFlagNamesItsEnvironmentVariable: every -catalog names
// SHARDWISE_CATALOG, its default, in its help, as the Nomad flags name
// NOMAD_ADDR and the rest.
func TestCatalogFlagNamesItsEnvironmentVariable(t *testing.T) {
	for _, args := range [][]string{{"plan", "-h"}, {"run", "-h"}, {"simulate", "-h"}, {"executors", "-h"}, {"import", "wfcommons", "-h"}} {
		_, stderr, code := runCLI(args...)
		if code != 0 || !strings.Contains(stderr, "(SHARDWISE_CATALOG)") {
			t.Errorf("shardwise %v: exit %d; help lacks (SHARDWISE_CATALOG):\n%s", args, code, stderr)
		}
	}
}

// TestCatalogFromEnvironmentNamed: a SHARDWISE_CATALOG that names no file
// fails naming the variable, where the catalog is loaded; where it is not
// (import without -replay), it is not read.
func TestCatalogFromEnvironmentNamed(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone.hcl")
	t.Setenv("SHARDWISE_CATALOG", missing)
	want := "SHARDWISE_CATALOG names an executor catalog that cannot be read (unset it or give -catalog): stat " + missing + ": no such file or directory"
	for _, args := range [][]string{
		{"plan", etlGraph},
		{"simulate", etlGraph},
		{"executors"},
		{"run", "-address", closedAddr(t), etlGraph},
	} {
		_, stderr, code := runCLI(args...)
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("shardwise %v: exit %d, stderr %q; want 1 with %q", args, code, stderr, want)
		}
	}
	trace := filepath.Join("..", "..", "translator", "wfcommons", "testdata", "tiny-pegasus.json")
	if _, stderr, code := runCLI("import", "wfcommons", "-out", filepath.Join(t.TempDir(), "out"), trace); code != 0 {
		t.Errorf("import without -replay: exit %d, %s", code, stderr)
	}
}

// TestHistoryReportSaysWhenNothingIsPredicted: a report over records that
// carry no prediction (an imported trace's) says why every error column is
// empty; one over records with predictions does not.
func TestHistoryReportSaysWhenNothingIsPredicted(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join("..", "..", "translator", "wfcommons", "testdata", "tiny-pegasus.json")
	if _, stderr, code := runCLI("import", "wfcommons", "-out", filepath.Join(dir, "out"), trace); code != 0 {
		t.Fatalf("import: exit %d, %s", code, stderr)
	}
	out, stderr, code := runCLI("history", "report", "-history", filepath.Join(dir, "out", "history.jsonl"))
	if code != 0 || !strings.Contains(out, "SIGNATURE") || !strings.Contains(stderr, "No record carries the prediction it was sized by") {
		t.Errorf("imported trace: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	h := filepath.Join(dir, "h.jsonl")
	rec := `{"task":"a","signature":"a","executor":"cpu-heavy","runtime_seconds":11,"predicted_runtime_seconds":10}` + "\n"
	if err := os.WriteFile(h, []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI("history", "report", "-history", h); code != 0 || stderr != "" {
		t.Errorf("predicted record: exit %d, stderr %q; want no note", code, stderr)
	}
}

// TestImportHelpListsOptions: 'import -h' shows the options of its one
// format, as 'import wfcommons -h' does, and 'history -h' those of both
// subcommands.
func TestImportHelpListsOptions(t *testing.T) {
	_, stderr, code := runCLI("import", "-h")
	if code != 0 || !strings.Contains(stderr, "Usage: shardwise import wfcommons") || !strings.Contains(stderr, "-time-scale") {
		t.Errorf("import -h: exit %d, stderr:\n%s", code, stderr)
	}
	// history -h: both subcommands with their options.
	_, stderr, code = runCLI("history", "-h")
	if code != 0 || !strings.Contains(stderr, "Usage: shardwise history report") || !strings.Contains(stderr, "-format") ||
		!strings.Contains(stderr, "Usage: shardwise history import") || !strings.Contains(stderr, "-history-db") {
		t.Errorf("history -h: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestPlanDotErrorWritesNoJobs: plan -out DIR -dot FILE whose DOT file
// cannot be written fails (exit 1) with DIR not created: the jobs and the
// DOT file are written all or nothing together, not the jobs alone.
func TestPlanDotErrorWritesNoJobs(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "jobs")
	dot := filepath.Join(dir, "missing", "plan.dot")
	graph := filepath.Join("..", "..", "examples", "nightly-etl", "graph.hcl")
	_, stderr, code := runCLI("plan", "-out", out, "-dot", dot, graph)
	if code != 1 || !strings.Contains(stderr, dot+": the folder") {
		t.Errorf("exit %d, stderr %q; want 1 naming %s", code, stderr, dot)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the DOT file failed but %s was written (%v)", out, err)
	}
	// And the other way: jobs that cannot be written leave no DOT file.
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dot = filepath.Join(dir, "plan.dot")
	if _, stderr, code := runCLI("plan", "-out", notDir, "-dot", dot, graph); code != 1 {
		t.Errorf("-out into a file: exit %d, stderr %q; want 1", code, stderr)
	}
	if _, err := os.Stat(dot); !os.IsNotExist(err) {
		t.Errorf("the jobs failed but %s was written (%v)", dot, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("%s holds %v; want only the file", dir, left)
	}
}

// TestExampleReadmesMatchPlan: the "expected class" column of each
// example's README is the class plan gives the task with the default
// catalog, and the split counts the READMEs state are the plan's.
func TestExampleReadmesMatchPlan(t *testing.T) {
	row := regexp.MustCompile("(?m)^\\| `([^`]+)`[^\\n]*\\| `([a-z-]+)` *\\|$")
	examples, err := filepath.Glob(filepath.Join("..", "..", "examples", "*", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, readme := range examples {
		graph := filepath.Join(filepath.Dir(readme), "graph.hcl")
		if _, err := os.Stat(graph); err != nil {
			continue
		}
		text, err := os.ReadFile(readme)
		if err != nil {
			t.Fatal(err)
		}
		out, stderr, code := runCLI("plan", "-run", "readme", "-format", "json", graph)
		if code != 0 {
			t.Fatalf("plan %s: exit %d: %s", graph, code, stderr)
		}
		var p plan.Plan
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatal(err)
		}
		for _, m := range row.FindAllStringSubmatch(string(text), -1) {
			pattern, want := m[1], m[2]
			found := false
			for _, s := range p.Shards {
				for _, task := range s.Tasks {
					if ok, _ := filepath.Match(pattern, task); !ok {
						continue
					}
					found = true
					if s.Class != want {
						t.Errorf("%s: task %s is on %s in the plan (%s), the README expects %s", readme, task, s.Class, s.Reason, want)
					}
				}
			}
			if !found {
				t.Errorf("%s: no task of the plan matches %q", readme, pattern)
			}
			checked++
		}
		pieces := map[string]int{}
		for _, s := range p.Shards {
			if s.Split != nil {
				pieces[s.Split.Task] = s.Split.Count
			}
		}
		for _, m := range regexp.MustCompile("total over ([0-9]+) shards").FindAllStringSubmatch(string(text), -1) {
			for task, n := range pieces {
				if m[1] != strconv.Itoa(n) {
					t.Errorf("%s: says %q, the plan cuts %s into %d pieces", readme, m[0], task, n)
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("checked %d README rows; the tables were not found", checked)
	}
}

// TestPlanWarnsWhenNoHistoryMatches: history whose records are of no task
// of the graph (the wrong file) changes nothing; plan says so on stderr
// rather than plan from hints and defaults without a word, and says
// nothing when a record matches.
func TestPlanWarnsWhenNoHistoryMatches(t *testing.T) {
	dir := t.TempDir()
	graph := filepath.Join("..", "..", "examples", "nightly-etl", "graph.hcl")
	other := filepath.Join(dir, "other.jsonl")
	if err := os.WriteFile(other, []byte(`{"task":"mAdd_1","signature":"mAdd","runtime_seconds":5}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI("plan", "-history", other, graph)
	if code != 0 || !strings.Contains(stderr, "none of the 1 history records") || !strings.Contains(stderr, `graph "nightly-etl"`) {
		t.Errorf("exit %d, stderr %q; want a warning that no record matches", code, stderr)
	}
	match := filepath.Join(dir, "match.jsonl")
	if err := os.WriteFile(match, []byte(`{"task":"extract_orders","signature":"extract","runtime_seconds":5}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI("plan", "-history", match, graph); code != 0 || strings.Contains(stderr, "history records") {
		t.Errorf("exit %d, stderr %q; want no warning", code, stderr)
	}
}

// TestVarFileHelpSaysJSON: -var-file reads a JSON object too (a .json
// file, docs/graph-language.md); the help said "an HCL file" only.
func TestVarFileHelpSaysJSON(t *testing.T) {
	for _, cmd := range []string{"plan", "simulate"} {
		_, stderr, _ := runCLI(cmd, "-h")
		if !strings.Contains(stderr, "JSON object in a .json file") {
			t.Errorf("%s -h does not say -var-file reads JSON:\n%s", cmd, stderr)
		}
	}
}
