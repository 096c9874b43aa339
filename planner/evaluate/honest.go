package evaluate

import (
	"errors"
	"fmt"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
)

// Holdout says how an honest table was made without the target trace's
// own runtimes.
type Holdout string

// Holdout schemes.
const (
	// HoldoutRun: leave one run out. The predictor is fitted on every other
	// recorded run of the trace's family (a copy of the same run under
	// another file name or schema, SameRun, is left out too) and predicts
	// the whole trace.
	HoldoutRun Holdout = "leave-one-run-out"
	// HoldoutKFold: the family has one run. The trace's tasks are cut into
	// k folds (the j-th task of each type, in trace order, is in fold
	// j mod k); each fold is predicted by the predictor fitted on the
	// records of the other folds. A type with one task has no history when
	// it is predicted.
	HoldoutKFold Holdout = "k-fold"
)

// RunOf is the recorded run a trace's records come from (their Run, the
// trace file's stem or Nextflow's run name); "" without records.
func RunOf(in *Input) string {
	for _, r := range in.Records {
		if r.Run != "" {
			return r.Run
		}
	}
	return ""
}

// TrainingRecords returns the leave-one-run-out training set of target:
// the records of every input of family (target's family, target itself may
// be among them) that is not a copy of target's run (SameRun: the same
// measurements under another file name or schema) and whose run differs
// from target's. It never returns a record of target's run.
func TrainingRecords(target *Input, family []*Input) []history.Record {
	run := RunOf(target)
	var out []history.Record
	for _, in := range family {
		if in == target || in.Family != target.Family || SameRun(in.Records, target.Records) {
			continue
		}
		for _, r := range in.Records {
			if r.Run != run {
				out = append(out, r)
			}
		}
	}
	return out
}

// Honest returns a copy of oracle, an Input whose Table holds the trace's
// recorded runtimes (FromTrace), whose Graph carries none of the trace's
// measurements (see Blind) and whose Table is predicted without the
// trace's own runtimes: leave-one-run-out when family (every input of the
// same family, oracle may be among them) holds another run, else k-fold
// (k >= 2) over the trace's tasks. It reports the scheme used.
//
// It returns an error when the predictor cannot be fitted or, under the
// held-out predictions, some task fits no class.
func Honest(oracle *Input, family []*Input, cat *catalog.Catalog, k int) (*Input, Holdout, error) {
	g := Blind(oracle.Graph)
	out := &Input{Name: oracle.Name, Family: oracle.Family, Graph: g, Records: oracle.Records}
	train := TrainingRecords(oracle, family)
	if len(train) > 0 {
		pr, err := predict.New(cat, train)
		if err != nil {
			return nil, "", fmt.Errorf("%s: leave-one-run-out: %w", oracle.Name, err)
		}
		tb, err := pr.Predict(g)
		if err != nil {
			return nil, "", fmt.Errorf("%s: leave-one-run-out: %w", oracle.Name, err)
		}
		out.Table, out.Probes = tb, pr.ProbeTypes(g)
		return out, HoldoutRun, nil
	}
	tb, err := kFoldTable(g, oracle.Records, cat, k)
	if err != nil {
		return nil, "", fmt.Errorf("%s: k-fold: %w", oracle.Name, err)
	}
	out.Table = tb
	return out, HoldoutKFold, nil
}

// Blind returns a copy of g without what an imported trace's tasks
// measured when they ran: the hints the importer derives from the
// execution (Runtime, Kind, Cores). Structure, signatures, commands, input
// and output sizes stay: they are known before a run.
func Blind(g *graph.Graph) *graph.Graph {
	cp := *g
	cp.Tasks = make([]*graph.Task, len(g.Tasks))
	for i, t := range g.Tasks {
		tc := *t
		tc.Hints.Runtime, tc.Hints.Kind, tc.Hints.Cores = 0, "", 0
		cp.Tasks[i] = &tc
	}
	return &cp
}

// heldOutTable fits the predictor on train and predicts g (k-fold: every
// type has history from the same run, so none is a probe type).
func heldOutTable(g *graph.Graph, train []history.Record, cat *catalog.Catalog) (*predict.Table, error) {
	p, err := predict.New(cat, train)
	if err != nil {
		return nil, err
	}
	return p.Predict(g)
}

// Folds assigns each task of g a fold in [0, k): the j-th task of each
// signature, in graph order, is in fold j mod k.
func Folds(g *graph.Graph, k int) []int {
	seen := map[string]int{}
	out := make([]int, len(g.Tasks))
	for i, t := range g.Tasks {
		out[i] = seen[t.Signature] % k
		seen[t.Signature]++
	}
	return out
}

// kFoldTable predicts each fold of g's tasks from the records of the
// tasks in the other folds.
func kFoldTable(g *graph.Graph, records []history.Record, cat *catalog.Catalog, k int) (*predict.Table, error) {
	if k < 2 {
		return nil, fmt.Errorf("k = %d folds, want >= 2", k)
	}
	fold := Folds(g, k)
	out := predict.NewTable(len(g.Tasks), cat.Names())
	var inf *predict.InfeasibleError
	for f := 0; f < k; f++ {
		var train []history.Record
		for _, r := range records {
			if i := g.Index(r.Task); i >= 0 && fold[i] != f {
				train = append(train, r)
			}
		}
		tb, err := heldOutTable(g, train, cat)
		if err != nil && !errors.As(err, &inf) {
			return nil, err
		}
		for t := range g.Tasks {
			if fold[t] != f {
				continue
			}
			out.Kinds[t] = tb.Kinds[t]
			for c := range out.Classes {
				*out.At(t, c) = *tb.At(t, c)
			}
		}
	}
	return out, feasibleEverywhere(g, out)
}

// feasibleEverywhere returns an *predict.InfeasibleError naming the tasks
// of tb that fit no class, nil when every task fits one.
func feasibleEverywhere(g *graph.Graph, tb *predict.Table) error {
	var bad []predict.Infeasible
	for t, task := range g.Tasks {
		ok := false
		var why []string
		for c, name := range tb.Classes {
			n := tb.At(t, c)
			ok = ok || n.Feasible
			why = append(why, name+": "+n.Why)
		}
		if !ok {
			bad = append(bad, predict.Infeasible{Task: task.Name, Reasons: why})
		}
	}
	if len(bad) > 0 {
		return &predict.InfeasibleError{Tasks: bad}
	}
	return nil
}
