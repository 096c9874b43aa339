package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate"
	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/planner/simulate"
)

// SynthInstances is the instances per class of the synthetic graphs'
// catalog (synth.Catalog) in Evaluation.
const SynthInstances = 4

// EvaluationOptions says what Evaluation evaluates and how.
type EvaluationOptions struct {
	// Dir is the folder of WfCommons traces (TracePaths).
	Dir string
	// Noise (coefficient of variation of the runtimes) and Seed are the
	// simulator's options; Seed also seeds the synthetic graphs.
	Noise float64
	Seed  uint64
	// K is the folds of the within-trace cross-validation.
	K int
	// Command is the command line that makes the report, and Notes the
	// Markdown appended to it (evaluate.Report).
	Command, Notes string
}

// Evaluation evaluates the planner and the predictor on every trace under
// o.Dir, each run once (DistinctTraces), on the embedded default catalog:
// every method planned from the recorded runtimes and from held-out
// predictions (evaluate.CompareTraces), the synthetic grid
// (evaluate.SyntheticGrid on synth.Catalog(SynthInstances)), and the
// prediction accuracy with its in-run rows and phases. It returns the
// report docs/evaluation.md is written from (evaluate.WriteMarkdown),
// dated now and describing this machine. Errors: no trace under o.Dir, a
// trace that does not import, or an evaluation error.
func Evaluation(o EvaluationOptions) (*evaluate.Report, error) {
	paths, err := TracePaths(o.Dir)
	if err != nil {
		return nil, err
	}
	opts := evaluate.Options{Sim: simulate.Options{Noise: o.Noise, Seed: o.Seed}}
	r := &evaluate.Report{
		Command: o.Command, Generated: time.Now(), Machine: machine(), Noise: o.Noise, Seed: o.Seed, K: o.K, Notes: o.Notes,
		Catalog: fmt.Sprintf("traces on the embedded default catalog (%s); synthetic graphs on synth.Catalog(%d)",
			describe(catalog.Default()), SynthInstances),
	}
	ins, err := LoadTraces(paths, catalog.Default())
	if err != nil {
		return nil, err
	}
	// A run exported twice (legacy-schema-1.4/ and runs/) counts once.
	ins, r.Duplicates = evaluate.DistinctRuns(ins)
	if r.Traces, r.Honest, err = evaluate.CompareTraces(ins, catalog.Default(), opts, o.K); err != nil {
		return nil, err
	}
	if r.Synthetic, err = evaluate.CompareSynthetic(evaluate.SyntheticGrid(o.Seed), synth.Catalog(SynthInstances), opts); err != nil {
		return nil, err
	}
	if r.Accuracy, err = evaluate.InputAccuracy(ins, catalog.Default(), o.K); err != nil {
		return nil, err
	}
	r.Accuracy = append(r.Accuracy, evaluate.InRunAccuracy(r.Honest)...)
	r.InRunPhases = evaluate.InRunPhases(r.Honest)
	return r, nil
}

// WriteAccuracyOnly writes evaluate.WriteAccuracyOnly of the traces under
// dir, each run once, on the default catalog with k folds: the
// evaluation's accuracy figures alone, for iterating on the predictor.
// Errors: those of DistinctTraces, of the evaluation or of w.
func WriteAccuracyOnly(w io.Writer, dir string, k int) error {
	ins, err := DistinctTraces(dir, catalog.Default())
	if err != nil {
		return err
	}
	return evaluate.WriteAccuracyOnly(w, ins, catalog.Default(), k)
}

// WriteProbeCosts writes evaluate.ProbeCostsOf the traces under dir, each
// run once, on the default catalog with k folds, as Markdown
// (evaluate.WriteProbeCosts): the probe's cost as insurance for every
// trace whose honest plan probes a type. Errors: those of DistinctTraces,
// of the evaluation or of w.
func WriteProbeCosts(w io.Writer, dir string, k int) error {
	ins, err := DistinctTraces(dir, catalog.Default())
	if err != nil {
		return err
	}
	costs, err := evaluate.ProbeCostsOf(ins, catalog.Default(), k)
	if err != nil {
		return err
	}
	return evaluate.WriteProbeCosts(w, costs)
}

// DistinctTraces imports every trace under dir (TracePaths, LoadTraces)
// for cat, each run once (evaluate.DistinctRuns; the copies left out are
// not returned). Errors: those of TracePaths and LoadTraces.
func DistinctTraces(dir string, cat *catalog.Catalog) ([]*evaluate.Input, error) {
	paths, err := TracePaths(dir)
	if err != nil {
		return nil, err
	}
	ins, err := LoadTraces(paths, cat)
	if err != nil {
		return nil, err
	}
	ins, _ = evaluate.DistinctRuns(ins)
	return ins, nil
}

// TracePaths lists the .json files in dir and in its subfolders (one
// level deep), sorted; none is an error naming dir.
func TracePaths(dir string) ([]string, error) {
	top, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sub, err := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if err != nil {
		return nil, err
	}
	all := append(top, sub...)
	if len(all) == 0 {
		return nil, fmt.Errorf("no traces in %s", dir)
	}
	sort.Strings(all)
	return all, nil
}

// LoadTraces imports every trace of paths for cat (FromTrace), in their
// order; a trace in another folder than the first path's is named
// "folder/name". The first import error is returned.
func LoadTraces(paths []string, cat *catalog.Catalog) ([]*evaluate.Input, error) {
	var ins []*evaluate.Input
	for _, p := range paths {
		in, err := FromTrace(p, cat)
		if err != nil {
			return nil, err
		}
		if filepath.Base(filepath.Dir(p)) != filepath.Base(filepath.Clean(filepath.Dir(paths[0]))) {
			in.Name = filepath.Base(filepath.Dir(p)) + "/" + in.Name
		}
		ins = append(ins, in)
	}
	return ins, nil
}

// machine describes the host: CPUs, model, OS, architecture, Go version.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("nproc %d, %s, %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// describe lists a catalog's classes with their instance counts.
func describe(cat *catalog.Catalog) string {
	var parts []string
	for _, cl := range cat.Classes {
		parts = append(parts, fmt.Sprintf("%s x%d", cl.Name, cl.Instances))
	}
	return strings.Join(parts, ", ")
}
