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
	"os"
	"strings"

	"github.com/shardwise/shardwise/bench"
	"github.com/shardwise/shardwise/planner/evaluate"
)

// notes explains the figures; it is appended to the report.
//
//go:embed notes.md
var notes string

func main() {
	out := flag.String("out", "docs/evaluation.md", "Write the Markdown report to this file.")
	dir := flag.String("traces", "../shared/traces/wfcommons", "Folder of WfCommons traces (searched one level deep too).")
	noise := flag.Float64("noise", 0, "Simulator runtime noise (coefficient of variation); 0 runs the tables exactly.")
	seed := flag.Uint64("seed", 1, "Seed of the simulator's noise and of the synthetic graphs.")
	k := flag.Int("k", 5, "Folds of the within-trace cross-validation.")
	acc := flag.Bool("accuracy", false, "Only the prediction accuracy, for iterating on the predictor: plan and play the leave-one-run-out traces honestly with HEFT and Shardwise only, print the accuracy tables and each trace's in-run error and makespans to stdout; -out is not written.")
	probeCost := flag.Bool("probe-cost", false, "Only the probe's cost as insurance: for every trace whose honest plan probes a type, Shardwise's late-bound makespan with and without the probe, and without it when every unprobed task of the type is OOM-killed once (evaluate.ProbeCosts), as Markdown on stdout; -out is not written.")
	flag.Parse()
	var err error
	switch {
	case *probeCost:
		err = bench.WriteProbeCosts(os.Stdout, *dir, *k)
	case *acc:
		err = bench.WriteAccuracyOnly(os.Stdout, *dir, *k)
	default:
		err = write(*out, bench.EvaluationOptions{Dir: *dir, Noise: *noise, Seed: *seed, K: *k, Notes: notes,
			Command: "go run ./cmd/benchplan " + strings.Join(os.Args[1:], " ")})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchplan:", err)
		os.Exit(1)
	}
}

// write writes the report of bench.Evaluation to out, as Markdown.
func write(out string, o bench.EvaluationOptions) error {
	r, err := bench.Evaluation(o)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := evaluate.WriteMarkdown(&buf, r); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}
