package evaluate

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
)

// Estimator names a way of predicting a task's runtime and memory from
// history.
type Estimator string

// The estimators Accuracy compares, in report order.
const (
	// EstShardwise is planner/predict: the size model or the median for
	// runtime, the 95th percentile of peaks x 1.1 for memory.
	EstShardwise Estimator = "shardwise"
	// EstMean is the per-type mean of runtime and of peak memory.
	EstMean Estimator = "type-mean"
	// EstNNLS is a plain Ernest-style fit, always used: runtime (and peak
	// memory) = c0 + c1·x + c2·ln(x+1), c >= 0, x the input bytes, solved
	// by predict.NNLS.
	EstNNLS Estimator = "ernest-nnls"
)

// Estimators lists the estimators in report order.
var Estimators = []Estimator{EstShardwise, EstMean, EstNNLS}

// Schemes of cross-validation.
const (
	// SchemeKFold: k folds over the tasks of each repeated type within one
	// trace; the j-th task of a type (in trace order) is in fold j mod k.
	SchemeKFold = "k-fold"
	// SchemeLORO: leave one run out, the headline cross-run figure: fit on
	// every other recorded run of the family (copies of the held-out run,
	// same Run or SameRun, left out too), predict every task of the
	// held-out run whose type the others have.
	SchemeLORO = "leave-one-run-out"
)

// Schemes lists the schemes in report order.
var Schemes = []string{SchemeKFold, SchemeLORO}

// FloorSeconds floors the denominator of a runtime's absolute percentage
// error: |predicted - observed| / max(observed, FloorSeconds). Sub-second
// tasks (and Nextflow's 0 s records) otherwise turn a few tenths of a
// second into errors of several hundred percent that say nothing about
// plan quality.
const FloorSeconds = 1.0

// zeroRuntime stands for a recorded runtime of 0 s when computing errors:
// traces with 1-second resolution (Nextflow) record 0 for shorter tasks,
// and planner/predict reads such a record as 0.5 s.
const zeroRuntime = 0.5

// TraceRecords are one trace's history records.
type TraceRecords struct {
	// Name is the trace's file base name without ".json".
	Name string
	// Family is its workflow family; runs of one family are compared
	// across.
	Family  string
	Records []history.Record
}

// Score is one estimator's accuracy over a set of predictions.
type Score struct {
	// Runtime is the number of runtime predictions; MdAPE and P90APE are
	// the median and 90th percentile of their absolute percentage errors,
	// |predicted - observed| / max(observed, FloorSeconds), as fractions;
	// MdLogRatio is the median of |ln(predicted/observed)| (observed 0 s
	// read as 0.5 s).
	Runtime       int
	MdAPE, P90APE float64
	MdLogRatio    float64
	// Memory is the number of tasks with an observed peak memory and a
	// memory prediction from history. UnderRate is the fraction of them
	// predicted below the observed peak; OverMedian the median over them
	// of predicted / observed; OverTotal the sum of predictions over the
	// sum of observed peaks (memory reserved per byte used).
	Memory                           int
	UnderRate, OverMedian, OverTotal float64
}

// AccuracyRow is the accuracy of every estimator for one family (or "all")
// under one scheme.
type AccuracyRow struct {
	Family string
	Scheme string
	// Traces is how many trace files took part; Types how many task types
	// were predicted.
	Traces, Types int
	Scores        map[Estimator]Score
	// PerType is the Shardwise estimator's score per task type, in type
	// order; empty for the pooled rows.
	PerType []TypeScore
}

// TypeScore is one task type's accuracy.
type TypeScore struct {
	Type string
	Score
}

// tally collects raw errors for one estimator.
type tally struct {
	ape             []float64
	logr            []float64
	under           int
	ratio           []float64
	predSum, obsSum float64
}

func (t *tally) add(o *tally) {
	t.ape = append(t.ape, o.ape...)
	t.logr = append(t.logr, o.logr...)
	t.ratio = append(t.ratio, o.ratio...)
	t.under += o.under
	t.predSum += o.predSum
	t.obsSum += o.obsSum
}

func (t *tally) score() Score {
	s := Score{Runtime: len(t.ape), Memory: len(t.ratio)}
	s.MdAPE, s.P90APE = quantile(t.ape, 0.5), quantile(t.ape, 0.9)
	s.MdLogRatio = quantile(t.logr, 0.5)
	if s.Memory > 0 {
		s.UnderRate = float64(t.under) / float64(s.Memory)
		s.OverMedian = quantile(t.ratio, 0.5)
		s.OverTotal = t.predSum / t.obsSum
	}
	return s
}

// quantile is the q-quantile of xs by linear interpolation between order
// statistics (NaN when xs is empty); xs is sorted in place.
func quantile(xs []float64, q float64) float64 {
	v, _ := predict.Quantile(xs, q)
	return v
}

// group is the tallies of one family and scheme.
type group struct {
	traces map[string]bool
	types  map[string]bool
	by     map[Estimator]*tally
	// byType tallies the Shardwise estimator per task type.
	byType map[string]*tally
}

func newGroup() *group {
	g := &group{traces: map[string]bool{}, types: map[string]bool{}, by: map[Estimator]*tally{}, byType: map[string]*tally{}}
	for _, e := range Estimators {
		g.by[e] = &tally{}
	}
	return g
}

func (g *group) row(family, scheme string) AccuracyRow {
	r := AccuracyRow{Family: family, Scheme: scheme, Traces: len(g.traces), Types: len(g.types), Scores: map[Estimator]Score{}}
	for _, e := range Estimators {
		r.Scores[e] = g.by[e].score()
	}
	if family != "all" {
		types := make([]string, 0, len(g.byType))
		for t := range g.byType {
			types = append(types, t)
		}
		sort.Strings(types)
		for _, t := range types {
			r.PerType = append(r.PerType, TypeScore{Type: t, Score: g.byType[t].score()})
		}
	}
	return r
}

// Accuracy cross-validates the estimators on traces against cat: k-fold
// (k >= 2) within each trace over the task types with at least k
// successful records, and leave-one-run-out within each family of several
// runs. It returns one row per family and scheme that made a
// prediction (families in the order first seen, k-fold before cross-run),
// then one "all" row per scheme pooling every prediction.
func Accuracy(traces []TraceRecords, cat *catalog.Catalog, k int) ([]AccuracyRow, error) {
	if k < 2 {
		return nil, fmt.Errorf("evaluate: k = %d folds, want >= 2", k)
	}
	var families []string
	byFamily := map[string][]TraceRecords{}
	for _, tr := range traces {
		if _, ok := byFamily[tr.Family]; !ok {
			families = append(families, tr.Family)
		}
		byFamily[tr.Family] = append(byFamily[tr.Family], tr)
	}
	var rows []AccuracyRow
	all := map[string]*group{}
	for _, scheme := range Schemes {
		all[scheme] = newGroup()
	}
	for _, fam := range families {
		for _, scheme := range Schemes {
			g, err := familyGroup(byFamily[fam], scheme, cat, k)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", fam, scheme, err)
			}
			if len(g.by[EstShardwise].ape) == 0 {
				continue
			}
			rows = append(rows, g.row(fam, scheme))
			merge(all[scheme], g, fam)
		}
	}
	for _, scheme := range Schemes {
		rows = append(rows, all[scheme].row("all", scheme))
	}
	return rows, nil
}

func merge(dst, src *group, family string) {
	for t := range src.traces {
		dst.traces[t] = true
	}
	for t := range src.types {
		dst.types[family+"/"+t] = true
	}
	for _, e := range Estimators {
		dst.by[e].add(src.by[e])
	}
}

// familyGroup runs one scheme over the traces of one family.
func familyGroup(trs []TraceRecords, scheme string, cat *catalog.Catalog, k int) (*group, error) {
	g := newGroup()
	if scheme == SchemeKFold {
		for _, tr := range trs {
			if err := kFold(g, tr, cat, k); err != nil {
				return nil, err
			}
		}
		return g, nil
	}
	for _, test := range trs {
		train := othersRuns(test, trs)
		tests := withHistory(ok(test.Records), ok(train))
		if err := evaluateSplit(g, train, tests, cat); err != nil {
			return nil, err
		}
		if len(tests) > 0 {
			g.traces[test.Name] = true
		}
	}
	return g, nil
}

// othersRuns is the leave-one-run-out training set of test: the records
// of every trace of trs that is not a copy of test's run (SameRun) from
// another run than test's (a record's Run, the trace's Name where the
// record names none).
func othersRuns(test TraceRecords, trs []TraceRecords) []history.Record {
	runs := map[string]bool{}
	for _, r := range test.Records {
		runs[runKey(r, test)] = true
	}
	var out []history.Record
	for _, tr := range trs {
		if tr.Name == test.Name || SameRun(tr.Records, test.Records) {
			continue
		}
		for _, r := range tr.Records {
			if !runs[runKey(r, tr)] {
				out = append(out, r)
			}
		}
	}
	return out
}

func runKey(r history.Record, tr TraceRecords) string {
	if r.Run != "" {
		return r.Run
	}
	return tr.Name
}

// kFold splits tr's records into k folds per task type and tallies each
// fold predicted from the others.
func kFold(g *group, tr TraceRecords, cat *catalog.Catalog, k int) error {
	recs := ok(tr.Records)
	count := map[string]int{}
	for _, r := range recs {
		count[r.Signature]++
	}
	fold := make([]int, len(recs))
	seen := map[string]int{}
	for i, r := range recs {
		fold[i] = -1
		if count[r.Signature] >= k {
			fold[i] = seen[r.Signature] % k
			seen[r.Signature]++
		}
	}
	for f := 0; f < k; f++ {
		var train, test []history.Record
		for i, r := range recs {
			if fold[i] == f {
				test = append(test, r)
			} else {
				train = append(train, r)
			}
		}
		if err := evaluateSplit(g, train, test, cat); err != nil {
			return err
		}
		if len(test) > 0 {
			g.traces[tr.Name] = true
		}
	}
	return nil
}

// ok returns the successful records.
func ok(recs []history.Record) []history.Record {
	var out []history.Record
	for i := range recs {
		if recs[i].OK() {
			out = append(out, recs[i])
		}
	}
	return out
}

// withHistory returns the records of test whose signature occurs in train.
func withHistory(test, train []history.Record) []history.Record {
	have := map[string]bool{}
	for _, r := range train {
		have[r.Signature] = true
	}
	var out []history.Record
	for _, r := range test {
		if have[r.Signature] {
			out = append(out, r)
		}
	}
	return out
}

// evaluateSplit predicts every test record with each estimator fitted on
// train and adds the errors to g.
func evaluateSplit(g *group, train, test []history.Record, cat *catalog.Catalog) error {
	if len(test) == 0 {
		return nil
	}
	sw, err := shardwisePredictions(train, test, cat)
	if err != nil {
		return err
	}
	bySig := history.BySignature(ok(train))
	sigs := map[string][]history.Record{}
	for _, grp := range bySig {
		sigs[grp.Signature] = grp.Records
	}
	for i, r := range test {
		g.types[r.Signature] = true
		hist := sigs[r.Signature]
		g.by[EstShardwise].observe(r, sw[i])
		if g.byType[r.Signature] == nil {
			g.byType[r.Signature] = &tally{}
		}
		g.byType[r.Signature].observe(r, sw[i])
		g.by[EstMean].observe(r, meanPrediction(hist))
		g.by[EstNNLS].observe(r, nnlsPrediction(hist, float64(r.InputBytes)))
	}
	return nil
}

// prediction is one estimator's guess for one task; memMiB < 0 means no
// memory prediction.
type prediction struct {
	runtime, memMiB float64
}

// observe tallies the errors of p against record r.
func (t *tally) observe(r history.Record, p prediction) {
	t.observeRuntime(p.runtime, r.RuntimeSeconds)
	if r.MemoryBytes <= 0 || p.memMiB < 0 {
		return
	}
	t.observeMemory(p.memMiB, float64(r.MemoryBytes)/(1<<20))
}

// observeRuntime tallies a runtime prediction against the observed
// runtime (seconds; 0 read as zeroRuntime).
func (t *tally) observeRuntime(pred, actual float64) {
	if actual <= 0 {
		actual = zeroRuntime
	}
	t.ape = append(t.ape, math.Abs(pred-actual)/math.Max(actual, FloorSeconds))
	t.logr = append(t.logr, math.Abs(math.Log(math.Max(pred, 1e-3)/actual)))
}

// observeMemory tallies a memory prediction against the observed peak,
// both MiB.
func (t *tally) observeMemory(pred, obs float64) {
	if pred < obs {
		t.under++
	}
	t.ratio = append(t.ratio, pred/obs)
	t.predSum += pred
	t.obsSum += obs
}

// shardwisePredictions fits planner/predict on train and predicts each test
// record as a task of its signature and input size, read on the catalog's
// reference class (the first class when there is none), where imported
// records ran.
func shardwisePredictions(train, test []history.Record, cat *catalog.Catalog) ([]prediction, error) {
	p, err := predict.New(cat, train)
	if err != nil {
		return nil, err
	}
	g := graph.New("held-out")
	for i, r := range test {
		if err := g.AddTask(&graph.Task{Name: fmt.Sprintf("t%d", i), Signature: r.Signature, InputBytes: r.InputBytes, SharedInputBytes: r.SharedInputBytes}); err != nil {
			return nil, err
		}
	}
	tb, err := p.Predict(g)
	var inf *predict.InfeasibleError
	if err != nil && !errors.As(err, &inf) {
		return nil, err
	}
	ref := 0
	for c, name := range tb.Classes {
		if name == cat.Reference {
			ref = c
		}
	}
	out := make([]prediction, len(test))
	for i := range test {
		n := tb.At(i, ref)
		out[i] = prediction{runtime: n.Runtime.Value, memMiB: -1}
		if n.MemoryMiB.Source == predict.FromHistory {
			out[i].memMiB = n.MemoryMiB.Value
		}
	}
	return out, nil
}

// meanPrediction is the mean runtime and the mean observed peak memory of
// hist (memory -1 when none was observed).
func meanPrediction(hist []history.Record) prediction {
	var rt, mem float64
	nm := 0
	for _, r := range hist {
		rt += r.RuntimeSeconds
		if r.MemoryBytes > 0 {
			mem += float64(r.MemoryBytes) / (1 << 20)
			nm++
		}
	}
	p := prediction{runtime: rt / float64(len(hist)), memMiB: -1}
	if nm > 0 {
		p.memMiB = mem / float64(nm)
	}
	return p
}

// nnlsPrediction fits the Ernest-style model to hist's runtimes and to its
// observed peak memories against input bytes and evaluates both at x.
func nnlsPrediction(hist []history.Record, x float64) prediction {
	var xs, rts, mxs, mems []float64
	for _, r := range hist {
		xs = append(xs, float64(r.InputBytes))
		rts = append(rts, r.RuntimeSeconds)
		if r.MemoryBytes > 0 {
			mxs = append(mxs, float64(r.InputBytes))
			mems = append(mems, float64(r.MemoryBytes)/(1<<20))
		}
	}
	p := prediction{runtime: ernest(xs, rts, x), memMiB: -1}
	if len(mems) > 0 {
		p.memMiB = ernest(mxs, mems, x)
	}
	return p
}
