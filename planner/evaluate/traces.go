package evaluate

import (
	"fmt"
	"io"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate/synth"
)

// CompareTraces plans every input of ins twice with every method of opts
// on cat: from its recorded runtimes (oracle) and from held-out
// predictions (honest: Honest, trained on the other inputs of ins, k folds
// within a trace, planned with late binding), and plays both with the
// recorded runtimes (in.Table). Both slices follow the order of ins; an
// honest comparison's Holdout says how it was held out. The first error
// of Compare or Honest is returned as is.
func CompareTraces(ins []*Input, cat *catalog.Catalog, opts Options, k int) (oracle, honest []*Comparison, err error) {
	for _, in := range ins {
		o := opts
		o.Actual = in.Table
		c, err := Compare(in, cat, o)
		if err != nil {
			return nil, nil, err
		}
		oracle = append(oracle, c)
		h, scheme, err := Honest(in, ins, cat, k)
		if err != nil {
			return nil, nil, err
		}
		o.LateBinding = true
		hc, err := Compare(h, cat, o)
		if err != nil {
			return nil, nil, err
		}
		hc.Holdout = scheme
		honest = append(honest, hc)
	}
	return oracle, honest, nil
}

// SyntheticGrid is the synthetic grid of the evaluation: Topcuoglu et
// al.'s generator (synth) at 100 tasks over shapes (alpha) 0.5, 1 and 2
// and CCR 0.1, 1 and 5 (out-degree 3, heterogeneity 1), then one
// 1000-task graph at shape 1 and CCR 1; every graph from seed.
func SyntheticGrid(seed uint64) []synth.Params {
	var ps []synth.Params
	for _, ccr := range []float64{0.1, 1, 5} {
		for _, alpha := range []float64{0.5, 1, 2} {
			ps = append(ps, synth.Params{Tasks: 100, Alpha: alpha, OutDegree: 3, CCR: ccr, Beta: 1, Seed: seed})
		}
	}
	return append(ps, synth.Params{Tasks: 1000, Alpha: 1, OutDegree: 3, CCR: 1, Beta: 1, Seed: seed})
}

// CompareSynthetic builds the random graph of every params of ps
// (Synthetic) on cat and compares the methods of opts on it, played with
// its table's runtimes; one comparison per params, in their order. An
// error building or comparing a graph is returned as is.
func CompareSynthetic(ps []synth.Params, cat *catalog.Catalog, opts Options) ([]*Comparison, error) {
	var out []*Comparison
	for _, p := range ps {
		in, err := Synthetic(p, cat)
		if err != nil {
			return nil, err
		}
		c, err := Compare(in, cat, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// InputAccuracy cross-validates the predictors on the history records of
// ins (Accuracy over each input's Name, Family and Records) on cat with k
// folds within a trace; Accuracy's error is returned as is.
func InputAccuracy(ins []*Input, cat *catalog.Catalog, k int) ([]AccuracyRow, error) {
	trs := make([]TraceRecords, len(ins))
	for i, in := range ins {
		trs[i] = TraceRecords{Name: in.Name, Family: in.Family, Records: in.Records}
	}
	return Accuracy(trs, cat, k)
}

// HeldOutRuns plans every input of ins that Honest holds out by run
// (HoldoutRun: trained on the family's other runs) from those held-out
// predictions, with HEFT (as published, played as planned) and Shardwise
// (late-bound) only, and plays the plans with its recorded runtimes: the
// comparisons that
// InRunAccuracy scores, in the order of ins. Inputs held out otherwise
// are left out. The first error of Honest or Compare is returned as is.
func HeldOutRuns(ins []*Input, cat *catalog.Catalog, k int) ([]*Comparison, error) {
	var honest []*Comparison
	for _, in := range ins {
		h, scheme, err := Honest(in, ins, cat, k)
		if err != nil {
			return nil, err
		}
		if scheme != HoldoutRun {
			continue
		}
		c, err := Compare(h, cat, Options{Actual: in.Table, LateBinding: true, Methods: []Method{MethodHEFT, MethodShardwise}})
		if err != nil {
			return nil, err
		}
		c.Holdout = scheme
		honest = append(honest, c)
	}
	return honest, nil
}

// WriteAccuracyOnly writes the report's prediction-accuracy figures for
// ins on cat without the plan comparisons that do not feed them: the
// accuracy tables (InputAccuracy with k folds, then InRunAccuracy of
// HeldOutRuns), the in-run phases, and per held-out-run input its in-run
// runtime error (MdAPE, percent) and its HEFT and Shardwise makespans
// (seconds: HEFT as published, played as planned; Shardwise late-bound;
// SW static the Shardwise plan played as planned), as Markdown. Errors are those of the evaluation or of w.
func WriteAccuracyOnly(w io.Writer, ins []*Input, cat *catalog.Catalog, k int) error {
	honest, err := HeldOutRuns(ins, cat, k)
	if err != nil {
		return err
	}
	rows, err := InputAccuracy(ins, cat, k)
	if err != nil {
		return err
	}
	rows = append(rows, InRunAccuracy(honest)...)
	if err := WriteAccuracy(w, rows, k); err != nil {
		return err
	}
	if err := WriteInRunPhases(w, InRunPhases(honest)); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "\n### Per trace (%s)\n\n| trace | in-run error | HEFT (s) | Shardwise (s) | SW/HEFT | SW static (s) |\n|---|--:|--:|--:|--:|--:|\n", SchemeInRun); err != nil {
		return err
	}
	for _, c := range honest {
		rs := InRunAccuracy([]*Comparison{c})
		if len(rs) == 0 {
			continue
		}
		h, sw := c.Outcome(MethodHEFT), c.Outcome(MethodShardwise)
		if _, err := fmt.Fprintf(w, "| %s | %.1f%% | %.1f | %.1f | %.3f | %.1f |\n", c.Input.Name, 100*rs[0].Scores[EstShardwise].MdAPE,
			h.MakespanSeconds, sw.MakespanSeconds, sw.MakespanSeconds/h.MakespanSeconds, c.Static.MakespanSeconds); err != nil {
			return err
		}
	}
	return nil
}
