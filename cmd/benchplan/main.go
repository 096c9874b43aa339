// Command benchplan writes the evaluation report (docs/evaluation.md):
// plan quality of the best single class, HEFT and Shardwise on every
// WfCommons trace and on synthetic random graphs, simulated on the same
// catalog, and the prediction accuracy of planner/predict against the
// per-type mean and an Ernest-style NNLS fit. Run it with `make
// bench-plan`:
//
//	go run ./cmd/benchplan -out docs/evaluation.md
//
// It is deterministic except for the plan times and the date; it takes
// seconds on two cores. To iterate on the predictor,
//
//	go run ./cmd/benchplan -accuracy
//
// prints only the accuracy tables (k-fold, leave-one-run-out and
// leave-one-run-out + in-run) and each leave-one-run-out trace's in-run
// error and HEFT and Shardwise makespans, and writes nothing.
package main

import (
	"bytes"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/shardwise/shardwise/bench"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate"
	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/planner/simulate"
)

// notes explains the figures; it is appended to the report.
//
//go:embed notes.md
var notes string

// synthInstances is the instances per class of the synthetic catalog.
const synthInstances = 4

func main() {
	out := flag.String("out", "docs/evaluation.md", "Write the Markdown report to this file.")
	dir := flag.String("traces", "../shared/traces/wfcommons", "Folder of WfCommons traces (searched one level deep too).")
	noise := flag.Float64("noise", 0, "Simulator runtime noise (coefficient of variation); 0 runs the tables exactly.")
	seed := flag.Uint64("seed", 1, "Seed of the simulator's noise and of the synthetic graphs.")
	k := flag.Int("k", 5, "Folds of the within-trace cross-validation.")
	acc := flag.Bool("accuracy", false, "Only the prediction accuracy, for iterating on the predictor: plan and play the leave-one-run-out traces honestly with HEFT and Shardwise only, print the accuracy tables and each trace's in-run error and makespans to stdout; -out is not written.")
	probeCost := flag.Bool("probe-cost", false, "Only the probe's cost as insurance: for every trace whose honest plan probes a type, Shardwise's late-bound makespan with and without the probe, and without it when every unprobed task of the type is OOM-killed once (evaluate.ProbeCosts), as Markdown on stdout; -out is not written.")
	flag.Parse()
	if *probeCost {
		if err := probeCosts(os.Stdout, *dir, *k); err != nil {
			fmt.Fprintln(os.Stderr, "benchplan:", err)
			os.Exit(1)
		}
		return
	}
	if *acc {
		if err := accuracyOnly(os.Stdout, *dir, *k); err != nil {
			fmt.Fprintln(os.Stderr, "benchplan:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*out, *dir, *noise, *seed, *k); err != nil {
		fmt.Fprintln(os.Stderr, "benchplan:", err)
		os.Exit(1)
	}
}

func run(out, dir string, noise float64, seed uint64, k int) error {
	paths, err := traces(dir)
	if err != nil {
		return err
	}
	opts := evaluate.Options{Sim: simulate.Options{Noise: noise, Seed: seed}}
	r := &evaluate.Report{
		Command:   "go run ./cmd/benchplan " + strings.Join(os.Args[1:], " "),
		Generated: time.Now(), Machine: machine(), Noise: noise, Seed: seed, K: k, Notes: notes,
		Catalog: fmt.Sprintf("traces on the embedded default catalog (%s); synthetic graphs on synth.Catalog(%d)",
			describe(catalog.Default()), synthInstances),
	}
	ins, err := load(paths)
	if err != nil {
		return err
	}
	// A run exported twice (legacy-schema-1.4/ and runs/) counts once.
	ins, r.Duplicates = evaluate.DistinctRuns(ins)
	if r.Traces, r.Honest, err = compareTraces(ins, opts, k); err != nil {
		return err
	}
	if r.Synthetic, err = compareSynthetic(seed, opts); err != nil {
		return err
	}
	if r.Accuracy, err = accuracy(ins, k); err != nil {
		return err
	}
	r.Accuracy = append(r.Accuracy, evaluate.InRunAccuracy(r.Honest)...)
	r.InRunPhases = evaluate.InRunPhases(r.Honest)
	var buf bytes.Buffer
	if err := evaluate.WriteMarkdown(&buf, r); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// accuracyOnly writes the accuracy tables of every trace under dir and,
// per leave-one-run-out trace, its honest in-run error and its HEFT and
// Shardwise makespans: the report's accuracy figures without the plan
// comparisons that do not feed them.
func accuracyOnly(w io.Writer, dir string, k int) error {
	ins, err := distinctTraces(dir)
	if err != nil {
		return err
	}
	cat := catalog.Default()
	var honest []*evaluate.Comparison
	for _, in := range ins {
		h, scheme, err := evaluate.Honest(in, ins, cat, k)
		if err != nil {
			return err
		}
		if scheme != evaluate.HoldoutRun {
			continue
		}
		c, err := evaluate.Compare(h, cat, evaluate.Options{Actual: in.Table, LateBinding: true,
			Methods: []evaluate.Method{evaluate.MethodHEFT, evaluate.MethodShardwise}})
		if err != nil {
			return err
		}
		c.Holdout = scheme
		honest = append(honest, c)
	}
	rows, err := accuracy(ins, k)
	if err != nil {
		return err
	}
	rows = append(rows, evaluate.InRunAccuracy(honest)...)
	if err := evaluate.WriteAccuracy(w, rows, k); err != nil {
		return err
	}
	if err := evaluate.WriteInRunPhases(w, evaluate.InRunPhases(honest)); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n### Per trace (%s)\n\n| trace | in-run error | HEFT (s) | Shardwise (s) | SW/HEFT | SW static (s) |\n|---|--:|--:|--:|--:|--:|\n", evaluate.SchemeInRun)
	for _, c := range honest {
		rs := evaluate.InRunAccuracy([]*evaluate.Comparison{c})
		if len(rs) == 0 {
			continue
		}
		h, sw := c.Outcome(evaluate.MethodHEFT), c.Outcome(evaluate.MethodShardwise)
		fmt.Fprintf(w, "| %s | %.1f%% | %.1f | %.1f | %.3f | %.1f |\n", c.Input.Name, 100*rs[0].Scores[evaluate.EstShardwise].MdAPE,
			h.MakespanSeconds, sw.MakespanSeconds, sw.MakespanSeconds/h.MakespanSeconds, c.Static.MakespanSeconds)
	}
	return nil
}

// probeCosts writes evaluate.ProbeCosts of every trace under dir whose
// honest plan probes a type.
func probeCosts(w io.Writer, dir string, k int) error {
	ins, err := distinctTraces(dir)
	if err != nil {
		return err
	}
	costs, err := evaluate.ProbeCostsOf(ins, catalog.Default(), k)
	if err != nil {
		return err
	}
	return evaluate.WriteProbeCosts(w, costs)
}

// distinctTraces loads every trace under dir, each run once
// (evaluate.DistinctRuns).
func distinctTraces(dir string) ([]*evaluate.Input, error) {
	paths, err := traces(dir)
	if err != nil {
		return nil, err
	}
	ins, err := load(paths)
	if err != nil {
		return nil, err
	}
	ins, _ = evaluate.DistinctRuns(ins)
	return ins, nil
}

// traces lists the .json files in dir and its subfolders, sorted.
func traces(dir string) ([]string, error) {
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

// load imports every trace for the default catalog; a trace in a
// subfolder is named "folder/name".
func load(paths []string) ([]*evaluate.Input, error) {
	cat := catalog.Default()
	var ins []*evaluate.Input
	for _, p := range paths {
		in, err := bench.FromTrace(p, cat)
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

// compareTraces plans every trace twice with every method: from its
// recorded runtimes (oracle) and from held-out predictions (honest,
// evaluate.Honest, trained on the other inputs of ins), and plays both
// with the recorded runtimes.
func compareTraces(ins []*evaluate.Input, opts evaluate.Options, k int) (oracle, honest []*evaluate.Comparison, err error) {
	cat := catalog.Default()
	for _, in := range ins {
		o := opts
		o.Actual = in.Table
		c, err := evaluate.Compare(in, cat, o)
		if err != nil {
			return nil, nil, err
		}
		oracle = append(oracle, c)
		h, scheme, err := evaluate.Honest(in, ins, cat, k)
		if err != nil {
			return nil, nil, err
		}
		o.LateBinding = true
		hc, err := evaluate.Compare(h, cat, o)
		if err != nil {
			return nil, nil, err
		}
		hc.Holdout = scheme
		honest = append(honest, hc)
	}
	return oracle, honest, nil
}

// synthParams is the synthetic grid: Topcuoglu et al.'s generator at 100
// tasks over shapes 0.5, 1 and 2 and CCR 0.1, 1 and 5 (out-degree 3,
// heterogeneity 1), and one 1000-task graph.
func synthParams(seed uint64) []synth.Params {
	var ps []synth.Params
	for _, ccr := range []float64{0.1, 1, 5} {
		for _, alpha := range []float64{0.5, 1, 2} {
			ps = append(ps, synth.Params{Tasks: 100, Alpha: alpha, OutDegree: 3, CCR: ccr, Beta: 1, Seed: seed})
		}
	}
	return append(ps, synth.Params{Tasks: 1000, Alpha: 1, OutDegree: 3, CCR: 1, Beta: 1, Seed: seed})
}

func compareSynthetic(seed uint64, opts evaluate.Options) ([]*evaluate.Comparison, error) {
	cat := synth.Catalog(synthInstances)
	var out []*evaluate.Comparison
	for _, p := range synthParams(seed) {
		in, err := evaluate.Synthetic(p, cat)
		if err != nil {
			return nil, err
		}
		c, err := evaluate.Compare(in, cat, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// accuracy cross-validates the predictors on the records of ins.
func accuracy(ins []*evaluate.Input, k int) ([]evaluate.AccuracyRow, error) {
	trs := make([]evaluate.TraceRecords, len(ins))
	for i, in := range ins {
		trs[i] = evaluate.TraceRecords{Name: in.Name, Family: in.Family, Records: in.Records}
	}
	return evaluate.Accuracy(trs, catalog.Default(), k)
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
