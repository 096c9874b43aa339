package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/plan"
)

func runCLI(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "Usage: shardwise"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"plan"}, "exactly one argument"},
		{[]string{"plan", "-no-such-flag", "x.hcl"}, "no-such-flag"},
		{[]string{"plan", "x.hcl", "-out", "jobs"}, `option -out comes after the argument "x.hcl": options go before the arguments`},
		{[]string{"plan", "x.hcl", "-format=json"}, `option -format=json comes after the argument "x.hcl"`},
		{[]string{"plan", "--", "x.hcl", "-out"}, "plan takes exactly one argument"},
		{[]string{"plan", "x.hcl", "-not-a-flag"}, "plan takes exactly one argument"},
		{[]string{"status", "r1", "-format", "json"}, `option -format comes after the argument "r1"`},
		// Run IDs Nomad could not store a run under are refused before any
		// request (they used to fail after "Running graph ..." with exit 1).
		{[]string{"plan", "-run", "a b", "g.hcl"}, `invalid -run: run ID "a b": use at most 80 letters, digits, '.', '_' and '-'`},
		{[]string{"run", "-run", "x/y", "g.hcl"}, `invalid -run: run ID "x/y"`},
		{[]string{"run", "-resume", "x/../y"}, `invalid -resume: run ID "x/../y"`},
		{[]string{"status", "a b"}, `invalid RUN: run ID "a b"`},
		{[]string{"stop", strings.Repeat("r", 81)}, "invalid RUN: run ID"},
		{[]string{"ui", "r;1"}, `invalid RUN: run ID "r;1"`},
		{[]string{"import"}, "import needs a format"},
		{[]string{"import", "wfcommons", "trace.json"}, "-out DIR"},
		{[]string{"import", "pegasus", "-out", "d", "trace.json"}, `unknown import format "pegasus": want wfcommons`},
		{[]string{"import", "wfcommons", "-replay", "-replay-work", "spin", "-out", "d", "trace.json"}, `invalid -replay-work "spin": want sleep, cpu or write`},
		{[]string{"import", "wfcommons", "-replay-work", "cpu", "-out", "d", "trace.json"}, "-replay-work applies to -replay only"},
		{[]string{"import", "wfcommons", "-catalog", "c.hcl", "-out", "d", "trace.json"}, "-catalog applies to -replay only"},
		{[]string{"executors", "extra"}, "takes no arguments"},
		{[]string{"run", "-detach", "-ui", "127.0.0.1:0", "g.hcl"}, "follow a detached run's page with 'shardwise ui RUN'"},
		{[]string{"run", "-out-json", "g.hcl"}, "-out-json needs -out DIR"},
		{[]string{"plan", "-out-json", "g.hcl"}, "-out-json needs -out DIR"},
		{[]string{"ui"}, "ui takes exactly one argument, the run ID"},
		{[]string{"status", "-format", "yaml", "r1"}, `invalid -format "yaml": want table or json`},
	}
	for _, c := range cases {
		_, stderr, code := runCLI(c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("shardwise %v: exit %d, stderr %q; want exit 2 containing %q", c.args, code, stderr, c.want)
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"plan", "-h"}, {"executors", "-h"}} {
		if _, stderr, code := runCLI(args...); code != 0 || !strings.Contains(stderr, "Usage: shardwise") {
			t.Errorf("shardwise %v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// TestHelpCommand: 'shardwise help plan' prints plan's usage, as
// 'shardwise plan -h' does (it printed the command list); an unknown
// command after help is the unknown-command error.
func TestHelpCommand(t *testing.T) {
	_, stderr, code := runCLI("help", "plan")
	if code != 0 || !strings.Contains(stderr, "Usage: shardwise plan") {
		t.Errorf("shardwise help plan: exit %d, stderr %q; want 0 with plan's usage", code, stderr)
	}
	if _, stderr, code := runCLI("help", "nosuch"); code != 2 || !strings.Contains(stderr, `unknown command "nosuch"`) {
		t.Errorf("shardwise help nosuch: exit %d, stderr %q", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	// -v and -version as the Nomad CLI takes them.
	for _, arg := range []string{"version", "-v", "-version", "--version"} {
		out, _, code := runCLI(arg)
		if code != 0 || !strings.HasPrefix(out, "Shardwise v") {
			t.Errorf("shardwise %s: exit %d, %q", arg, code, out)
		}
	}
}

func TestExecutorsListsDefaultClasses(t *testing.T) {
	out, _, code := runCLI("executors")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, c := range []string{"cpu-heavy", "memory-intensive", "io-bound", "gpu-accelerated", "low-latency", "nvidia/gpu"} {
		if !strings.Contains(out, c) {
			t.Errorf("executors output lacks %q", c)
		}
	}
}

// TestPlanJSONIsDeterministic plans an example twice with one run ID and
// expects identical documents.
func TestPlanJSONIsDeterministic(t *testing.T) {
	graph := filepath.Join("..", "..", "examples", "ml-pipeline", "graph.hcl")
	first, stderr, code := runCLI("plan", "-run", "r1", "-format", "json", graph)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	second, _, _ := runCLI("plan", "-run", "r1", "-format", "json", graph)
	if first != second {
		t.Fatal("two plans of one graph with one run ID differ")
	}
	var p plan.Plan
	if err := json.Unmarshal([]byte(first), &p); err != nil {
		t.Fatal(err)
	}
	if p.Schema != plan.SchemaVersion || p.Run != "r1" || p.Baseline == nil {
		t.Errorf("schema %q run %q baseline %v", p.Schema, p.Run, p.Baseline)
	}
}

// TestPlanWritesJobsAndDot checks the files -out and -dot produce.
func TestPlanWritesJobsAndDot(t *testing.T) {
	dir := t.TempDir()
	out, dotFile := filepath.Join(dir, "jobs"), filepath.Join(dir, "plan.dot")
	graph := filepath.Join("..", "..", "examples", "nightly-etl", "graph.hcl")
	stdout, stderr, code := runCLI("plan", "-run", "r2", "-out", out, "-dot", dotFile, graph)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "Nomad jobs written to") {
		t.Errorf("summary does not mention the jobs:\n%s", stdout)
	}
	hcl, _ := filepath.Glob(filepath.Join(out, "*.nomad.hcl"))
	js, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(hcl) == 0 || len(js) != 0 {
		t.Errorf("%d HCL and %d JSON job files; want HCL only without -out-json", len(hcl), len(js))
	}
	withJSON := filepath.Join(dir, "jobs-json")
	if _, stderr, code := runCLI("plan", "-run", "r2", "-out", withJSON, "-out-json", graph); code != 0 {
		t.Fatalf("-out-json: exit %d: %s", code, stderr)
	}
	hcl, _ = filepath.Glob(filepath.Join(withJSON, "*.nomad.hcl"))
	js, _ = filepath.Glob(filepath.Join(withJSON, "*.json"))
	if len(hcl) == 0 || len(hcl) != len(js) {
		t.Errorf("-out-json: %d HCL and %d JSON job files", len(hcl), len(js))
	}
	if _, stderr, code := runCLI("plan", "-run", "r2", "-out-json", graph); code == 0 || !strings.Contains(stderr, "-out-json needs -out") {
		t.Errorf("-out-json without -out: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(dotFile)
	if err != nil || !strings.HasPrefix(string(b), "digraph ") {
		t.Errorf("dot file: %v %.40q", err, b)
	}
}

// TestPlanOutPrintsTableAfterWriting checks the table of `plan -out`,
// formatted while the job files are written: the same bytes as `plan`'s
// plus the line naming the folder, handed to stdout in one write, and
// nothing printed when the files cannot be written (a folder under a
// file), with nothing written either.
func TestPlanOutPrintsTableAfterWriting(t *testing.T) {
	dir := t.TempDir()
	graph := synthGraphFile(t, dir, 500)
	plain, stderr, code := runCLI("plan", "-run", "r1", graph)
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, stderr)
	}
	out := filepath.Join(dir, "jobs")
	var w writeCounter
	var buf bytes.Buffer
	if code := run([]string{"plan", "-run", "r1", "-out", out, graph}, io.MultiWriter(&w, &buf), io.Discard); code != 0 {
		t.Fatalf("plan -out: exit %d", code)
	}
	jobs, _ := filepath.Glob(filepath.Join(out, "*.nomad.hcl"))
	want := plain + fmt.Sprintf("Nomad jobs written to:  %s (%d jobs)\n", out, len(jobs))
	if got := buf.String(); got != want || len(jobs) == 0 {
		t.Errorf("plan -out printed %d bytes (%d job files), want plan's %d and the jobs line:\n%s", len(got), len(jobs), len(want), got[max(0, len(got)-300):])
	}
	if w.calls != 1 {
		t.Errorf("%d writes to stdout, want 1", w.calls)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI("plan", "-run", "r1", "-out", filepath.Join(file, "jobs"), graph)
	if code == 0 || stdout != "" || !strings.Contains(stderr, "write jobs") {
		t.Errorf("-out under a file: exit %d, %d bytes on stdout, stderr %q; want a failure, nothing printed", code, len(stdout), stderr)
	}
	if got, _ := os.ReadFile(file); string(got) != "x" {
		t.Errorf("file changed: %q", got)
	}
}

// TestPlanOutWarnsOfKeptJobFiles plans one graph into one folder as run
// r1, then r2 (HCL only), then r2 again without -out-json after a plan
// with it, and checks the warnings about job files that are kept: those
// of another run (read from the HCL files), and an earlier plan's JSON
// files that the HCL-only plan does not rewrite.
func TestPlanOutWarnsOfKeptJobFiles(t *testing.T) {
	out := filepath.Join(t.TempDir(), "jobs")
	graph := filepath.Join("..", "..", "examples", "nightly-etl", "graph.hcl")
	if _, stderr, code := runCLI("plan", "-run", "r1", "-out", out, graph); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	n, _ := filepath.Glob(filepath.Join(out, "*.nomad.hcl"))
	_, stderr, code := runCLI("plan", "-run", "r2", "-out", out, graph)
	if code != 0 || !strings.Contains(stderr, fmt.Sprintf("already holds %d job files of other runs", len(n))) || !strings.Contains(stderr, "r1") {
		t.Errorf("second run: exit %d, want a warning about %d files of run r1:\n%s", code, len(n), stderr)
	}
	if _, stderr, code := runCLI("plan", "-run", "r2", "-out", out, "-out-json", graph); code != 0 || strings.Contains(stderr, "earlier plan") {
		t.Errorf("with -out-json: exit %d, want no warning about its own files:\n%s", code, stderr)
	}
	_, stderr, code = runCLI("plan", "-run", "r2", "-out", out, graph)
	if code != 0 || !strings.Contains(stderr, fmt.Sprintf("already holds %d job files of an earlier plan of run \"r2\"", len(n))) {
		t.Errorf("HCL only after -out-json: exit %d, want a warning about the %d JSON files kept:\n%s", code, len(n), stderr)
	}
}

// TestPlanPrintsWarnings checks that a graph's warnings (here a memory
// below 1 MiB) reach the user, positioned, on a plan or simulation that
// succeeds.
func TestPlanPrintsWarnings(t *testing.T) {
	graph := filepath.Join(t.TempDir(), "small.hcl")
	src := "graph \"g\" {\n  task \"a\" {\n    command = \"/bin/true\"\n    hints {\n      memory = \"512KiB\"\n    }\n  }\n}\n"
	if err := os.WriteFile(graph, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"plan", "-run", "w", graph}, {"simulate", graph}} {
		_, stderr, code := runCLI(args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", args[0], code, stderr)
		}
		if want := graph + ":5:16: warning: Implausibly small size"; !strings.Contains(stderr, want) {
			t.Errorf("%s: stderr lacks %q:\n%s", args[0], want, stderr)
		}
	}
}

// TestImportMessages checks two import failures' messages: an -out
// folder whose parent is missing names the folder once and says what is
// missing, and an empty trace says it has no tasks.
func TestImportMessages(t *testing.T) {
	trace := filepath.Join("..", "..", "translator", "wfcommons", "testdata", "tiny-pegasus.json")
	out := filepath.Join(t.TempDir(), "missing", "out")
	_, stderr, code := runCLI("import", "wfcommons", "-out", out, trace)
	want := "write " + out + ": the folder " + filepath.Dir(out) + " does not exist; create it first"
	if code != 1 || !strings.Contains(stderr, want) || strings.Count(stderr, out) != 1 {
		t.Errorf("exit %d, stderr %q; want %q, naming %s once", code, stderr, want, out)
	}
	empty := filepath.Join("..", "..", "translator", "wfcommons", "testdata", "bad-no-tasks-legacy.json")
	out = filepath.Join(t.TempDir(), "out")
	_, stderr, code = runCLI("import", "wfcommons", "-out", out, empty)
	want = "wfcommons " + empty + ": workflow.tasks: the trace has no tasks, so there is no workflow to import"
	if code != 1 || !strings.Contains(stderr, want) || strings.Contains(stderr, "write") {
		t.Errorf("exit %d, stderr %q; want %q", code, stderr, want)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("%s written for an empty trace", out)
	}
}

// TestStdLogIsFormatted checks that what Go's HTTP client writes to the
// standard logger reaches stderr as a formatted warning.
func TestStdLogIsFormatted(t *testing.T) {
	var errOut bytes.Buffer
	routeStdLog(&errOut)
	defer log.SetOutput(os.Stderr)
	log.Printf("Unsolicited response received on idle HTTP channel starting with %q; err=<nil>", "HTTP/1.1 429 Too Many Requests")
	got := errOut.String()
	if !regexp.MustCompile(`^\S+ \[WARN\]  shardwise\.http: Unsolicited response received on idle HTTP channel starting with "HTTP/1.1 429 Too Many Requests"; err=<nil>\n$`).MatchString(got) {
		t.Errorf("stderr = %q", got)
	}
}

// TestExecutorsDiscoverUnreachable: -discover against an address where no
// Nomad agent listens fails with exit 1 and says which address, writing
// no -out file.
func TestExecutorsDiscoverUnreachable(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cat.hcl")
	stdout, stderr, code := runCLI("executors", "-discover", "-address", "http://127.0.0.1:1", "-format", "hcl", "-out", out)
	if code != 1 || !strings.Contains(stderr, "cannot reach the Nomad agent at http://127.0.0.1:1") || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("-out file written despite the error: %v", err)
	}
	if _, stderr, code := runCLI("executors", "-out", out); code != 2 || !strings.Contains(stderr, "go with -discover") {
		t.Fatalf("-out without -discover: exit %d, %q", code, stderr)
	}
	// -catalog was silently ignored by -discover.
	if _, stderr, code := runCLI("executors", "-discover", "-catalog", "nonexist.hcl"); code != 2 || !strings.Contains(stderr, "-catalog does not go with -discover") {
		t.Fatalf("-discover -catalog: exit %d, %q", code, stderr)
	}
}

// TestExecutorsBadCatalogPrintedOnce: each catalog error is printed once
// (it was printed by the command and again by the exit path).
func TestExecutorsBadCatalogPrintedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cat.hcl")
	if err := os.WriteFile(path, []byte("executor \"cpu-heavy\" {\n  instances = 0\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI("executors", "-catalog", path)
	if code != 1 || strings.Count(stderr, "Invalid instances") != 1 {
		t.Fatalf("exit %d; want 1 with the error once:\n%s", code, stderr)
	}
}

// writeCounter counts the Write calls and bytes it is given.
type writeCounter struct{ calls, bytes int }

func (w *writeCounter) Write(p []byte) (int, error) {
	w.calls++
	w.bytes += len(p)
	return len(p), nil
}

// TestPlanPrintsThroughOneBuffer checks that `plan` hands stdout its
// output in buffer-sized writes, in both formats: written cell by cell
// (the table's writer alone), each write is a system call on a terminal,
// pipe or file, about a third of plan's wall time at 10,000 tasks.
func TestPlanPrintsThroughOneBuffer(t *testing.T) {
	graph := synthGraphFile(t, t.TempDir(), 500)
	for _, cmd := range []string{"plan", "simulate"} {
		for _, format := range []string{"table", "json"} {
			var out writeCounter
			var errOut bytes.Buffer
			if code := run([]string{cmd, "-format", format, graph}, &out, &errOut); code != 0 {
				t.Fatalf("%s %s: exit %d: %s", cmd, format, code, errOut.String())
			}
			least := 500 * 80 // a line per shard
			if cmd == "simulate" {
				least = 500 // a summary of the methods
			}
			if max := out.bytes/(64<<10) + 1; out.calls > max || out.bytes < least {
				t.Errorf("%s %s: %d bytes in %d writes; want at most %d", cmd, format, out.bytes, out.calls, max)
			}
		}
	}
}
