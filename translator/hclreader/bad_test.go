package hclreader

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// executors are the default catalog's classes, used by every test.
var executors = []string{"cpu-heavy", "memory-intensive", "io-bound", "gpu-accelerated", "low-latency"}

// wantDiag is an expected error diagnostic: its subject's start as
// "line:col" (in the fixture unless file says otherwise), summary and
// detail.
type wantDiag struct {
	pos, summary, detail string
}

// badFixtures maps each file under testdata/bad to the diagnostics Parse
// must return for it, in order, and no others.
var badFixtures = []struct {
	file string
	want []wantDiag
}{
	{"bad_default.hcl", []wantDiag{
		{"3:13", "Invalid default value for variable",
			`Variable "shards" has type number, and its default is not valid for it: a number is required.`},
	}},
	{"bad_duration.hcl", []wantDiag{
		{"5:17", "Invalid duration",
			`Argument "runtime" of the hints of task "prepare": invalid duration "ten minutes": want a number and a unit (ms, s, m, h, d).`},
	}},
	{"bad_size.hcl", []wantDiag{
		{"5:14", "Invalid size",
			`Argument "size" of output "features" of task "prepare": invalid size "40 gigs": want a number and a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB).`},
	}},
	{"bad_values.hcl", []wantDiag{
		{"2:14", "Invalid value",
			`Argument "priority" of graph "g" is 101; it must be a whole number from 1 to 100.`},
		{"3:14", "Invalid driver",
			`Argument "driver" of graph "g" is "docker"; it must be one of "raw_exec", "exec" or "shard".`},
		{"8:15", "Incorrect value type",
			`Argument "args" of task "work" must be a list of strings, not an object.`},
		{"7:15", "Invalid task type",
			`Argument "type" of task "work" is "cron"; it must be one of "batch" or "service".`},
		{"10:15", "Invalid workload kind",
			`Argument "kind" of the hints of task "work" is "disk"; it must be one of "cpu", "memory", "io", "gpu" or "latency".`},
		{"11:15", "Invalid value",
			`Argument "cores" of the hints of task "work" is 2.5; it must be a whole number of at least 0.`},
	}},
	{"bare_sizes.hcl", []wantDiag{
		{"5:14", "Invalid size",
			`Argument "size" of output "x" of task "a": invalid size "2.5": a bare number is bytes, and 2.5 bytes is not a whole number; give a unit, such as "2.5MiB".`},
		{"8:20", "Invalid size",
			`Argument "memory" of the hints of task "a": invalid size "64.5": a bare number is bytes, and 64.5 bytes is not a whole number; give a unit, such as "64.5MiB".`},
		{"9:20", "Invalid size",
			`Argument "disk" of the hints of task "a": invalid size "300": a bare number is bytes, and 300 bytes is below 1 MiB; give a unit, such as "300MiB".`},
		{"11:20", "Invalid size",
			`Argument "gpu_memory" of the hints of task "a": invalid size "16": a bare number is bytes, and 16 bytes is below 1 MiB; give a unit, such as "16MiB".`},
		{"18:16", "Invalid size",
			`Argument "memory" of the hints of task "b": invalid size "64": a bare number is bytes, and 64 bytes is below 1 MiB; give a unit, such as "64MiB".`},
	}},
	{"cycle.hcl", []wantDiag{
		{"6:3", "Dependency cycle",
			`Tasks "a", "b" and "c" depend on each other: a -> b -> c -> a. A graph must be acyclic; remove one of the inputs or depends_on references on this cycle.`},
	}},
	{"duplicate_block.hcl", []wantDiag{
		{"7:5", "Duplicate hints block",
			`Task "work" already has a hints block on line 4; a task takes at most one.`},
	}},
	{"duplicate_output.hcl", []wantDiag{
		{"5:5", "Duplicate output",
			`Task "prepare" already declares an output named "features" on line 4. Output names must be unique within a task.`},
	}},
	{"duplicate_input.hcl", []wantDiag{
		{"14:14", "Duplicate input",
			`Task "b" already reads output "o" of task "a" through an input on line 11. Read it once: the one input file can be used in several places.`},
	}},
	{"duplicate_task.hcl", []wantDiag{
		{"6:3", "Duplicate task",
			`A task named "prepare" was already declared on line 2. Task names must be unique within a graph.`},
	}},
	{"duplicate_variable.hcl", []wantDiag{
		{"5:1", "Duplicate variable",
			`A variable named "shards" was already declared on line 1. Variable names must be unique.`},
	}},
	{"empty_command.hcl", []wantDiag{
		{"3:15", "Empty command",
			`Argument "command" of task "a" is empty; it names the program to run, such as "/bin/sh" (its arguments go in args).`},
		{"7:15", "Empty command",
			`Argument "command" of task "b" is empty; it names the program to run, such as "/bin/sh" (its arguments go in args).`},
	}},
	{"empty_graph.hcl", []wantDiag{
		{"5:1", "Empty graph",
			`Graph "g" declares no tasks. A graph needs at least one task "NAME" { command = ... } block.`},
	}},
	{"invalid_name.hcl", []wantDiag{
		{"2:8", "Invalid name",
			`Task name "9lives" is not valid: a name starts with a letter or underscore and holds only letters, digits, underscores and dashes, so that it can be referenced as task.9lives.`},
	}},
	{"invalid_reference.hcl", []wantDiag{
		{"9:19", "Invalid reference",
			`Tasks can be referenced only in an input's from and in depends_on; here only variables (var.NAME) and functions are allowed.`},
		{"12:14", "Invalid reference",
			`The from argument of an input of task "b" must be a reference of the form task.NAME.output.OUTPUT, such as task.prepare.output.features.`},
		{"10:19", "Invalid reference",
			`Each depends_on entry of task "b" must be a reference of the form task.NAME, such as task.prepare.`},
	}},
	{"many_errors.hcl", []wantDiag{
		{"5:14", "Invalid size",
			`Argument "size" of output "x" of task "a": invalid size "lots": want a number and a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB).`},
		{"8:18", "Invalid duration",
			`Argument "latency" of the hints of task "a": invalid duration "soon": want a number and a unit (ms, s, m, h, d).`},
		{"9:18", "Unknown executor class",
			`The hints of task "a" pin it to executor class "quantum", which is not in the catalog. The catalog's classes: "cpu-heavy", "memory-intensive", "io-bound", "gpu-accelerated" and "low-latency".`},
		{"16:14", "Reference to undeclared output",
			`Task "a" has no output named "y". Did you mean "x"? Its outputs are "x".`},
		{"18:19", "Reference to undeclared task",
			`There is no task named "z" in this graph. Did you mean "a"?`},
	}},
	{"missing_variable_value.hcl", []wantDiag{
		{"1:1", "No value for required variable",
			`Variable "dataset" has no default, and no value was given. Set it with -var dataset=VALUE or in a -var-file, or give the variable a default.`},
	}},
	{"no_graph_block.hcl", []wantDiag{
		{"1:1", "Missing graph block",
			`The file declares no graph block. A graph file holds exactly one graph "NAME" { ... } block with at least one task.`},
	}},
	{"self_dependency.hcl", []wantDiag{
		{"4:19", "Dependency cycle",
			`Task "a" depends on itself: a -> a. A graph must be acyclic.`},
	}},
	{"split_both.hcl", []wantDiag{
		{"6:7", "Conflicting split arguments",
			`The split of task "work" gives both input_size and items; give one: input_size to cut by bytes, or items to cut by work items.`},
	}},
	{"split_nothing.hcl", []wantDiag{
		{"4:5", "Split has nothing to cut",
			`The split of task "work" gives neither input_size nor items, so there is nothing to cut into shards. Give input_size (the total input, such as "400GiB") or items (the number of independent work items).`},
	}},
	{"split_service.hcl", []wantDiag{
		{"5:5", "Split on a service task",
			`Task "serve" is a service, which runs as long-lived allocations rather than finishing pieces of work; only batch tasks can be split. Remove the split block or set type = "batch".`},
	}},
	{"split_stream.hcl", []wantDiag{
		{"7:5", "Split on a streaming task",
			`Task "record" is split, but its output "frames" streams (stream = true), and a stream cannot be cut into shards. Remove the split block or set stream = false.`},
	}},
	{"split_stream_input.hcl", []wantDiag{
		{"14:5", "Split on a streaming task",
			`Task "encode" is split, but its input task.record.output.frames streams (stream = true), and a stream cannot be cut into shards. Remove the split block or set stream = false on that output.`},
	}},
	// No bound to name: the split's own check says "at least 2"; this one
	// once said "of at least -9223372036854775808".
	{"split_fraction.hcl", []wantDiag{
		{"5:20", "Invalid value",
			`Argument "items" of the split of task "work" is 1e+400; it must be a whole number.`},
		{"6:20", "Invalid value",
			`Argument "max_shards" of the split of task "work" is 1.5; it must be a whole number.`},
	}},
	// The shard driver refuses such channel paths when the task starts
	// (driver.validateChannel), after its upstream shards have run.
	{"path_outside_task_dir.hcl", []wantDiag{
		{"5:14", "Invalid path",
			`Argument "path" of output "up" of task "a" is "../../etc/passwd"; it must be a relative path that stays inside the task dir (no leading "/", no "..", not empty).`},
		{"8:14", "Invalid path",
			`Argument "path" of output "abs" of task "a" is "/abs/out"; it must be a relative path that stays inside the task dir (no leading "/", no "..", not empty).`},
		{"15:14", "Invalid path",
			`Argument "path" of an input of task "b" is "/etc/shadow"; it must be a relative path that stays inside the task dir (no leading "/", no "..", not empty).`},
		{"19:14", "Invalid path",
			`Argument "path" of an input of task "b" is ""; it must be a relative path that stays inside the task dir (no leading "/", no "..", not empty).`},
	}},
	// The shard driver refuses overlapping input paths when the task starts.
	{"overlapping_inputs.hcl", []wantDiag{
		{"16:14", "Overlapping input paths",
			`Input path "in/x/y" of task "b" overlaps input path "in/x" (output "o" of task "a") on line 10; each input needs a path of its own, neither inside the other.`},
		{"20:14", "Overlapping input paths",
			`Input path "in/./x" of task "b" overlaps input path "in/x" (output "o" of task "a") on line 10; each input needs a path of its own, neither inside the other.`},
	}},
	// A JSON file (a WfCommons trace given to plan) says what it is.
	{"json_file.hcl", []wantDiag{
		{"1:1", "Argument or block definition required",
			`An argument or block definition is required here. The file looks like JSON, but a graph file is HCL (docs/graph-language.md): for a WfCommons trace, run 'shardwise import wfcommons -out DIR TRACE.json' and plan DIR/graph.hcl, or give the trace to 'shardwise simulate'.`},
	}},
	// Only the default's own error: not also "has no default".
	{"default_not_literal.hcl", []wantDiag{
		{"2:13", "Function calls not allowed",
			`Functions may not be called here.`},
	}},
	// null counts as not given, and command is required: plan once
	// printed a plan for it and plan -out failed in the translator.
	{"null_command.hcl", []wantDiag{
		{"3:15", "Missing command",
			`Argument "command" of task "a" is null; every task needs a command, the program to run, such as "/bin/sh".`},
	}},
	// Nomad refuses an artifact without a source only when the job is
	// submitted, after the jobs are written.
	{"artifact_no_source.hcl", []wantDiag{
		{"5:16", "Missing artifact source",
			`Argument "source" of an artifact of task "a" is empty or null; it names what to download, such as "https://example.com/tool.tar.gz".`},
		{"8:16", "Missing artifact source",
			`Argument "source" of an artifact of task "a" is empty or null; it names what to download, such as "https://example.com/tool.tar.gz".`},
	}},
	// An environment variable's name cannot be empty or hold "=": the
	// process would see "=x", or A=B=y as A.
	{"env_names.hcl", []wantDiag{
		{"4:15", "Invalid environment variable name",
			`Argument "env" of task "a" sets "", which cannot name an environment variable (empty, or holding "=" or a NUL byte).`},
		{"4:15", "Invalid environment variable name",
			`Argument "env" of task "a" sets "A=B", which cannot name an environment variable (empty, or holding "=" or a NUL byte).`},
	}},
	// Default paths in/TASK-OUTPUT can meet: x + y-z and x-y + z.
	{"overlapping_default_inputs.hcl", []wantDiag{
		{"15:5", "Overlapping input paths",
			`Input path "in/x-y-z" of task "b" overlaps input path "in/x-y-z" (output "y-z" of task "x") on line 12; each input needs a path of its own, neither inside the other. Set path in one of them.`},
	}},
	// execve takes C strings: the task could never start.
	{"nul_bytes.hcl", []wantDiag{
		{"3:15", "NUL byte in command",
			`Argument "command" of task "a" holds a NUL byte (\u0000), which no program's arguments or environment can carry.`},
		{"4:15", "NUL byte in args",
			`Argument "args" of task "a" holds a NUL byte (\u0000), which no program's arguments or environment can carry.`},
		{"5:15", "NUL byte in env",
			`Argument "env" of task "a" holds a NUL byte (\u0000), which no program's arguments or environment can carry.`},
	}},
	// One file for two outputs: each channel would carry the other's bytes.
	{"duplicate_output_path.hcl", []wantDiag{
		{"8:14", "Duplicate output path",
			`Output "p" of task "a" has path "out/./x", as output "o" on line 4 does; each output needs a file or folder of its own.`},
	}},
	{"split_negative.hcl", []wantDiag{
		{"5:20", "Invalid split",
			`The split of task "work" has items = -1; a split needs at least 2 items to cut into shards.`},
		{"6:20", "Invalid split",
			`The split of task "work" has max_shards = -3; a split needs at least 2 shards (remove the split block to run the task whole).`},
	}},
	{"split_too_few.hcl", []wantDiag{
		{"5:20", "Invalid split",
			`The split of task "work" has items = 1; a split needs at least 2 items to cut into shards.`},
		{"6:20", "Invalid split",
			`The split of task "work" has max_shards = 1; a split needs at least 2 shards (remove the split block to run the task whole).`},
	}},
	{"syntax_error.hcl", []wantDiag{
		{"5:3", "Missing item separator",
			`Expected a comma to mark the beginning of the next item.`},
	}},
	{"two_graph_blocks.hcl", []wantDiag{
		{"7:1", "Duplicate graph block",
			`A graph block was already declared on line 1. A graph file holds exactly one graph block.`},
	}},
	{"unicode_duplicate_output.hcl", []wantDiag{
		{"5:12", "Duplicate output",
			`Task "a" already declares an output named "caf\u00e9" at testdata/bad/unicode_duplicate_output.hcl:4:12 as "cafe\u0301", which is the same name once Unicode-normalised (NFC). Output names must be unique within a task.`},
	}},
	{"unicode_duplicate_task.hcl", []wantDiag{
		{"6:8", "Duplicate task",
			`A task named "cafe\u0301" was already declared at testdata/bad/unicode_duplicate_task.hcl:2:8 as "caf\u00e9", which is the same name once Unicode-normalised (NFC). Task names must be unique within a graph.`},
	}},
	{"unknown_depends_on.hcl", []wantDiag{
		{"8:33", "Reference to undeclared task",
			`There is no task named "cleanup" in this graph.`},
	}},
	{"unknown_executor.hcl", []wantDiag{
		{"5:18", "Unknown executor class",
			`The hints of task "train" pin it to executor class "gpu-acelerated", which is not in the catalog. Did you mean "gpu-accelerated"? The catalog's classes: "cpu-heavy", "memory-intensive", "io-bound", "gpu-accelerated" and "low-latency".`},
	}},
	{"unknown_output.hcl", []wantDiag{
		{"11:14", "Reference to undeclared output",
			`Task "prepare" has no output named "featurs". Did you mean "features"? Its outputs are "features" and "stats".`},
	}},
	{"unknown_task_reference.hcl", []wantDiag{
		{"10:14", "Reference to undeclared task",
			`There is no task named "prepar" in this graph. Did you mean "prepare"?`},
	}},
	{"unknown_variable.hcl", []wantDiag{
		{"8:28", "Reference to undeclared variable",
			`There is no variable named "shrads". Did you mean "shards"? Declare it with a variable "shrads" { ... } block.`},
	}}}

func TestParseBadFixtures(t *testing.T) {
	for _, c := range badFixtures {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", c.file)
			g, diags := ParseFile(path, Options{Executors: executors})
			if g != nil {
				t.Errorf("got a graph despite errors")
			}
			checkDiags(t, path, diags, c.want)
		})
	}
}

// TestBadFixturesCovered fails when a fixture under testdata/bad has no
// case in badFixtures, so that no fixture goes unchecked.
func TestBadFixturesCovered(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range badFixtures {
		covered[c.file] = true
	}
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("%s has no case in badFixtures", f)
		}
	}
	if len(files) != len(badFixtures) {
		t.Errorf("%d fixtures, %d cases", len(files), len(badFixtures))
	}
}

// checkDiags compares diags with want. A want pos of just "line:col" is
// in file.
func checkDiags(t *testing.T, file string, diags hcl.Diagnostics, want []wantDiag) {
	t.Helper()
	if len(diags) != len(want) {
		t.Errorf("got %d diagnostics, want %d:\n%s", len(diags), len(want), dump(diags))
	}
	for i := 0; i < min(len(diags), len(want)); i++ {
		d, w := diags[i], want[i]
		pos := w.pos
		if strings.Count(pos, ":") == 1 {
			pos = file + ":" + pos
		}
		if d.Severity != hcl.DiagError {
			t.Errorf("diagnostic %d: severity %v, want error", i, d.Severity)
		}
		if got := subjectPos(d); got != pos {
			t.Errorf("diagnostic %d (%s): subject at %s, want %s", i, d.Summary, got, pos)
		}
		if d.Summary != w.summary {
			t.Errorf("diagnostic %d: summary %q, want %q", i, d.Summary, w.summary)
		}
		if d.Detail != w.detail {
			t.Errorf("diagnostic %d: detail\n got %s\nwant %s", i, d.Detail, w.detail)
		}
	}
}

func subjectPos(d *hcl.Diagnostic) string {
	if d.Subject == nil {
		return "(none)"
	}
	return fmt.Sprintf("%s:%d:%d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
}

func dump(diags hcl.Diagnostics) string {
	s := ""
	for _, d := range diags {
		s += fmt.Sprintf("  %s: %s: %s\n", subjectPos(d), d.Summary, d.Detail)
	}
	return s
}

// TestParseFileMissing checks that an unreadable file is one error.
func TestParseFileMissing(t *testing.T) {
	g, diags := ParseFile(filepath.Join("testdata", "no-such-file.hcl"), Options{})
	if g != nil || len(diags) != 1 || diags[0].Summary != "Failed to read file" {
		t.Fatalf("got %v, %s", g, dump(diags))
	}
	if _, err := os.Stat(filepath.Join("testdata", "no-such-file.hcl")); err == nil {
		t.Fatal("fixture unexpectedly exists")
	}
}

// TestOverlappingInputsMany: a task with more inputs than are compared
// pairwise still finds an overlap, either way round, and none among
// distinct paths.
func TestOverlappingInputsMany(t *testing.T) {
	for _, last := range []string{"in/p2/x", "in", "in/p5", "in/p50"} {
		var b strings.Builder
		b.WriteString("graph \"g\" {\n  task \"a\" {\n    command = \"x\"\n")
		for i := 0; i < 40; i++ {
			fmt.Fprintf(&b, "    output \"o%d\" {}\n", i)
		}
		b.WriteString("  }\n  task \"b\" {\n    command = \"y\"\n")
		for i := 0; i < 39; i++ {
			fmt.Fprintf(&b, "    input {\n      from = task.a.output.o%d\n      path = \"in/p%d\"\n    }\n", i, i)
		}
		fmt.Fprintf(&b, "    input {\n      from = task.a.output.o39\n      path = %q\n    }\n  }\n}\n", last)
		_, diags := Parse("many.hcl", []byte(b.String()), Options{})
		wantErr := last != "in/p50"
		if got := diags.HasErrors(); got != wantErr || (wantErr && (len(diags) != 1 || diags[0].Summary != "Overlapping input paths")) {
			t.Errorf("last input at %q: diags %v, want an overlap error: %v", last, diags, wantErr)
		}
	}
}

// TestDuplicateDependencyWarns: a task named twice in one depends_on gets a
// positioned warning and one edge; each entry was an ordering edge, and a
// channel, of its own. A warning, not an error, so that generated graphs
// (two picks of one upstream task) still read.
func TestDuplicateDependencyWarns(t *testing.T) {
	src := "graph \"g\" {\n  task \"a\" {\n    command = \"x\"\n  }\n  task \"b\" {\n    command    = \"y\"\n    depends_on = [task.a,\n    task.a]\n  }\n}\n"
	g, diags := Parse("dup.hcl", []byte(src), Options{})
	if diags.HasErrors() || len(diags) != 1 {
		t.Fatalf("want one warning, got:\n%s", dump(diags))
	}
	d := diags[0]
	want := `Task "b" already depends on task "a" on line 7; the second entry is ignored.`
	if d.Severity != hcl.DiagWarning || subjectPos(d) != "dup.hcl:8:5" || d.Summary != "Duplicate dependency" || d.Detail != want {
		t.Errorf("got %v at %s: %s: %s", d.Severity, subjectPos(d), d.Summary, d.Detail)
	}
	if n := len(g.Edges); n != 1 {
		t.Errorf("%d edges, want 1", n)
	}
}

// TestDuplicateOutputPathMany: a task with more outputs than are compared
// in place still finds two at one path, and none among distinct paths.
func TestDuplicateOutputPathMany(t *testing.T) {
	for _, last := range []string{"out/o3", "out/o99"} {
		var b strings.Builder
		b.WriteString("graph \"g\" {\n  task \"a\" {\n    command = \"x\"\n")
		for i := 0; i < 39; i++ {
			fmt.Fprintf(&b, "    output \"o%d\" {}\n", i)
		}
		fmt.Fprintf(&b, "    output \"last\" {\n      path = %q\n    }\n  }\n}\n", last)
		_, diags := Parse("many.hcl", []byte(b.String()), Options{})
		wantErr := last == "out/o3"
		if diags.HasErrors() != wantErr || (wantErr && (len(diags) != 1 || diags[0].Summary != "Duplicate output path" || !strings.Contains(diags[0].Detail, `as output "o3"`))) {
			t.Errorf("last output at %q: diags %v, want the error: %v", last, diags, wantErr)
		}
	}
}
