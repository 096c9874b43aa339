// Package wfcommons imports recorded workflow runs in WfCommons' WfFormat
// (https://github.com/wfcommons/WfFormat) as a Shardwise task graph and a
// set of history records: the graph is a stand-in of the workflow that
// Shardwise can plan and run, and the records are what each task measured
// when it really ran, for the predictor to learn from.
//
// # Schemas
//
// Import reads schemaVersion first and accepts "1.5" (workflow.specification
// holds the DAG and file sizes, workflow.execution the measurements) and
// "1.4" (one flat workflow whose tasks carry their files and measurements;
// tasks are identified by name). Anything else is an error.
//
// # Mapping
//
//   - Task names: the trace's task ids, mapped to HCL identifiers by
//     hclwriter.Identifiers ("NFCORE_X.FASTQC_2" becomes "NFCORE_X_FASTQC_2");
//     the id is kept in env SHARDWISE_TRACE_TASK. Records use the same names.
//   - Signature (the task type): for Nextflow traces the process path in the
//     name field (the whole path: the same module in two subworkflows handles
//     different data); for 1.4 the category field; otherwise the base name of
//     command.program when it is one word; otherwise the name with its
//     "_ID<digits>" suffix stripped ("mProject_ID0000002" -> "mProject").
//   - Edges: the union of parents and children lists, deduplicated (a
//     dependency in only one of the lists, where a trace fills in both, is
//     warned about; 1.4 lists that name a task id rather than its name are
//     resolved by id, with a warning). A
//     parent whose output files the child reads feeds it through an input
//     from the parent's output holding exactly those files; the edge
//     carries their bytes. Parents that share no file, or only empty ones,
//     become depends_on (an output of size 0 would read back as unknown).
//   - Outputs: one per distinct set of a task's files that some child
//     reads, its size the sum of the set's file sizes. A task whose readers
//     all read the same set has one output, "data" (DataOutput); otherwise
//     they are "data_1", "data_2", ... in the order of each set's first
//     reader (children in file order, then each child's parents in file
//     order). A split task whose N children each read their own piece thus
//     has N outputs, and graph.hcl, read back by translator/hclreader, gives
//     every edge the same bytes as the imported graph. Files no child reads
//     are not declared, except that a task no child reads from keeps one
//     "data" output holding all its files (a workflow's final results).
//     Sets may overlap (one child reads a and b, another b), so the sum of
//     a task's output sizes may exceed what it wrote: use its record's
//     OutputBytes for that.
//   - Task.InputBytes: the sum of the sizes of the task's input files,
//     workflow inputs included.
//   - Command: "/bin/sh" with args ["-c", "sleep N"], N the recorded runtime
//     in seconds times Options.TimeScale (rounded to milliseconds); the
//     original command line is kept in env SHARDWISE_ORIGINAL_COMMAND.
//   - Replay (Options.Replay): the command is instead a script that spends
//     the scaled runtime divided by the speed of the node's class (env
//     SHARDWISE_REPLAY_*, see Replay), and every task asks for one core.
//   - Hints: runtime is the recorded runtime times Options.TimeScale (the
//     trace ran on the reference class); cores is coreCount, else avgCPU/100 rounded (at least
//     1); kind is guessed by GuessKind. CPU speed and memory are not hinted:
//     history carries them.
//   - Records: one history.Record per task with an execution record (see
//     Result.Records).
//
// # Quirks handled
//
// memoryInBytes 0 means "not measured" and is left unset, and so is a
// memory below MinMemoryBytes (1 MiB; warned about, with the least); a
// trace with no memory field at all, and zero runtimes, are warned about;
// legacy KB fields (bytesRead, bytesWritten, memory) are read, times 1000,
// only when the byte fields are absent, with a warning where both are
// given and disagree; executedAt is parsed in the formats the traces use and
// left zero, with a warning, when it is in none of them; avgCPU above 100
// (multi-threaded tasks) is kept.
//
// # Licence
//
// The traces are LGPL-3.0 (WfInstances) or GPL-3.0 (makeflow-instances).
// WriteDir copies the licence text that sits next to a trace and writes a
// NOTICE saying where the data come from.
package wfcommons

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
)

// Supported WfFormat schema versions.
const (
	Schema15 = "1.5"
	Schema14 = "1.4"
)

// Env keys Import sets on every task.
const (
	// EnvTraceTask holds the task's id in the trace.
	EnvTraceTask = "SHARDWISE_TRACE_TASK"
	// EnvOriginalCommand holds the task's recorded command line, program and
	// arguments joined by spaces (a whole script for Nextflow).
	EnvOriginalCommand = "SHARDWISE_ORIGINAL_COMMAND"
)

// Options tune Import.
type Options struct {
	// TimeScale multiplies every time the import writes, e.g. 0.01 to run
	// a trace a hundred times faster: each stand-in task's sleep, its
	// runtime hint, and its record's RuntimeSeconds and End (Start is the
	// recorded start). 0 means 1.
	TimeScale float64
	// Replay, when set, makes every task's command emulate its recorded
	// run on the node it lands on (see Replay); the trace must record
	// runtimes (ErrNoRuntimes).
	Replay *Replay
}

// Result is an imported trace.
type Result struct {
	// Graph is the stand-in workflow; its name is the trace file's base name
	// without ".json".
	Graph *graph.Graph
	// Records holds one record per executed task, in task order: Task and
	// Signature as in Graph, RuntimeSeconds, Cores (coreCount, else
	// avgCPU/100), CPUPercent (avgCPU, percent of one core), MemoryBytes
	// (peak; 0 when not measured), ReadBytes and WriteBytes (all bytes the
	// task read and wrote), InputBytes and OutputBytes (sums of its input and
	// output file sizes), CPUMHz and Node (its first machine, where known),
	// Start and End (only where the task has its own parsable executedAt),
	// Source "wfcommons:<file base name>", ExitCode 0.
	Records []history.Record
	// Schema is the schemaVersion read ("1.5" or "1.4").
	Schema string
	// Family is the workflow family: the file's base name up to its first
	// "-" (WfInstances names files <family>-<site>-<params>-<run>.json), or
	// Name when the base name has no "-".
	Family string
	// Name is the instance's name field.
	Name string
	// RuntimeSystem is the workflow system that recorded the run
	// ("Pegasus", "Makeflow", "Nextflow"), where given.
	RuntimeSystem string
	// Path is the trace file read.
	Path string
	// ExecutedAt is when the run started; zero if absent or unparsable.
	ExecutedAt time.Time
	// MakespanSeconds is the run's recorded makespan in seconds.
	MakespanSeconds float64
	// Warnings describe data that was missing or odd but not fatal, in a
	// stable order.
	Warnings []string
}

// Error is an import failure. Path is the JSON path of the offending value
// ("workflow.specification.tasks[3].parents[0]"), or empty when the failure
// concerns the whole file.
type Error struct {
	File string
	Path string
	Err  error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("wfcommons %s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("wfcommons %s: %s: %v", e.File, e.Path, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Import reads the WfFormat trace at path with default Options. Errors are
// *Error values naming the file and the JSON path: unreadable or malformed
// JSON, an unsupported schemaVersion, a trace without tasks, a task without id, a duplicate id, a
// parent or child that is not a task, an execution record for an unknown
// task, a negative measurement, or a dependency cycle (naming its tasks).
func Import(path string) (*Result, error) {
	return ImportOptions(path, Options{})
}

// ImportOptions is Import with options.
func ImportOptions(path string, opts Options) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	return Parse(data, path, opts)
}

// Parse imports a trace held in data; path names it in errors, in the graph
// name and in the records' Source, and locates its licence for WriteDir.
// It fails as Import does.
func Parse(data []byte, path string, opts Options) (*Result, error) {
	if opts.TimeScale < 0 || math.IsNaN(opts.TimeScale) || math.IsInf(opts.TimeScale, 0) {
		return nil, &Error{File: path, Err: fmt.Errorf("time scale %v: must be finite and not negative", opts.TimeScale)}
	}
	if opts.TimeScale == 0 {
		opts.TimeScale = 1
	}
	if opts.Replay != nil {
		if err := opts.Replay.check(); err != nil {
			return nil, &Error{File: path, Err: err}
		}
	}
	tr, err := decode(data, path)
	if err != nil {
		return nil, wrapError(path, err)
	}
	if len(tr.tasks) == 0 {
		return nil, &Error{File: path, Path: tr.tasksPath, Err: errors.New("the trace has no tasks, so there is no workflow to import")}
	}
	if err := tr.checkScaledRuntimes(opts.TimeScale); err != nil {
		return nil, &Error{File: path, Path: err.path, Err: err}
	}
	if opts.Replay != nil && !tr.hasRuntimes() {
		return nil, &Error{File: path, Err: ErrNoRuntimes}
	}
	res, err := build(tr, opts)
	if err != nil {
		return nil, wrapError(path, err)
	}
	return res, nil
}

func wrapError(file string, err error) error {
	var at *errorAt
	if errors.As(err, &at) {
		return &Error{File: file, Path: at.path, Err: at.err}
	}
	return &Error{File: file, Err: err}
}

// decode reads schemaVersion and decodes data with that schema.
func decode(data []byte, path string) (*trace, error) {
	var h header
	if err := unmarshal(data, &h); err != nil {
		return nil, err
	}
	if h.SchemaVersion == nil {
		return nil, failf("schemaVersion", "missing (supported: %s, %s)", Schema15, Schema14)
	}
	switch v := *h.SchemaVersion; v {
	case Schema15:
		var d doc15
		if err := unmarshal(data, &d); err != nil {
			return nil, err
		}
		return normalise15(&d, path)
	case Schema14:
		var d doc14
		if err := unmarshal(data, &d); err != nil {
			return nil, err
		}
		return normalise14(&d, path)
	default:
		return nil, failf("schemaVersion", "unsupported version %q (supported: %s, %s)", v, Schema15, Schema14)
	}
}

// unmarshal decodes JSON, describing syntax errors by line and column and
// type errors by JSON path.
func unmarshal(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syn):
		line, col := position(data, syn.Offset)
		if syn.Offset >= int64(len(data)) {
			return fmt.Errorf("invalid JSON: truncated at line %d, column %d: %v", line, col, syn)
		}
		return fmt.Errorf("invalid JSON at line %d, column %d: %v", line, col, syn)
	case errors.As(err, &typ):
		return failf(typ.Field, "wrong type: got a JSON %s, want %s", typ.Value, jsonKind(typ.Type.Kind().String()))
	default:
		return fmt.Errorf("invalid JSON: %w", err)
	}
}

// jsonKind names the JSON kind a Go kind decodes from.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	case "bool":
		return "a boolean"
	default:
		return "a number"
	}
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = 1 + bytes.Count(before, []byte{'\n'})
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// stem is a file's base name without its extension.
func stem(path string) string {
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// maxSeconds is the longest runtime a time.Duration holds (about 292
// years): the hints, records and replay commands are written in it.
const maxSeconds = float64(math.MaxInt64) / float64(time.Second)

// runtimeError is a task's runtime, times the time scale, that no
// duration can hold; path is the JSON path of the runtime.
type runtimeError struct {
	path           string
	runtime, scale float64
}

func (e *runtimeError) Error() string {
	return fmt.Sprintf("runtimeInSeconds %g times time scale %g is longer than a duration holds (about 292 years)", e.runtime, e.scale)
}

// checkScaledRuntimes returns a *runtimeError for the first task whose
// recorded runtime times scale overflows a time.Duration.
func (tr *trace) checkScaledRuntimes(scale float64) *runtimeError {
	for _, t := range tr.tasks {
		if t.exec != nil && t.exec.runtime*scale > maxSeconds {
			return &runtimeError{path: t.exec.path + ".runtimeInSeconds", runtime: t.exec.runtime, scale: scale}
		}
	}
	return nil
}
