package feedback

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"

	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
)

// Accuracy is the predictor's error on the records of one task signature
// on one executor class.
type Accuracy struct {
	Signature string `json:"signature"`
	Executor  string `json:"executor"`
	Records   int    `json:"records"`
	// RuntimeN successful records carried a runtime prediction; the
	// median and 90th percentile of their absolute percentage error,
	// 100 x |actual - predicted| / actual.
	RuntimeN      int     `json:"runtime_n"`
	RuntimeMdAPE  float64 `json:"runtime_mdape_percent"`
	RuntimeP90APE float64 `json:"runtime_p90_ape_percent"`
	// MemoryN records carried a memory prediction (else their memory
	// limit stands for it) and an observed peak. MemoryUnderRate is the
	// fraction of them OOM-killed or peaking above the prediction;
	// OverProvision the median of predicted / peak over the others.
	MemoryN         int     `json:"memory_n"`
	MemoryUnderRate float64 `json:"memory_under_rate"`
	OverProvision   float64 `json:"memory_over_provision_ratio"`
}

// Report computes Accuracy per (signature, executor) over records,
// sorted by signature then executor. Records carrying no prediction at
// all are counted in Records only.
func Report(records []history.Record) []Accuracy {
	type key struct{ sig, exec string }
	groups := map[key][]history.Record{}
	for _, r := range records {
		k := key{r.Signature, r.Executor}
		groups[k] = append(groups[k], r)
	}
	out := make([]Accuracy, 0, len(groups))
	for k, recs := range groups {
		a := Accuracy{Signature: k.sig, Executor: k.exec, Records: len(recs)}
		a.runtime(recs)
		a.memory(recs)
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y Accuracy) int {
		return cmp.Or(cmp.Compare(x.Signature, y.Signature), cmp.Compare(x.Executor, y.Executor))
	})
	return out
}

func (a *Accuracy) runtime(recs []history.Record) {
	var apes []float64
	for _, r := range recs {
		if r.OK() && r.PredictedRuntimeSeconds > 0 && r.RuntimeSeconds > 0 {
			apes = append(apes, 100*math.Abs(r.RuntimeSeconds-r.PredictedRuntimeSeconds)/r.RuntimeSeconds)
		}
	}
	a.RuntimeN = len(apes)
	a.RuntimeMdAPE, a.RuntimeP90APE = percentile(apes, 0.5), percentile(apes, 0.9)
}

func (a *Accuracy) memory(recs []history.Record) {
	var under int
	var ratios []float64
	for _, r := range recs {
		pred := r.PredictedMemoryBytes
		if pred == 0 {
			pred = r.MemoryLimitBytes
		}
		if pred == 0 || (r.MemoryBytes == 0 && !r.OOMKilled) {
			continue
		}
		a.MemoryN++
		if r.OOMKilled || r.MemoryBytes > pred {
			under++
			continue
		}
		ratios = append(ratios, float64(pred)/float64(r.MemoryBytes))
	}
	if a.MemoryN > 0 {
		a.MemoryUnderRate = float64(under) / float64(a.MemoryN)
	}
	a.OverProvision = percentile(ratios, 0.5)
}

// percentile is the q-quantile of xs by linear interpolation between
// order statistics; 0 for no values. xs is sorted in place.
func percentile(xs []float64, q float64) float64 {
	if v, ok := predict.Quantile(xs, q); ok {
		return v
	}
	return 0
}

// WriteReport writes rows as an aligned table; "-" marks a figure with no
// data behind it.
func WriteReport(w io.Writer, rows []Accuracy) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SIGNATURE\tEXECUTOR\tRECORDS\tRUNTIME N\tMdAPE\tP90 APE\tMEMORY N\tUNDER-PREDICTED\tOVER-PROVISION")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%d\t%s\t%s\n", r.Signature, dashIf(r.Executor == "", r.Executor),
			r.Records, r.RuntimeN, pct(r.RuntimeN, r.RuntimeMdAPE), pct(r.RuntimeN, r.RuntimeP90APE),
			r.MemoryN, pct(r.MemoryN, 100*r.MemoryUnderRate), ratio(r.OverProvision))
	}
	return tw.Flush()
}

func dashIf(empty bool, s string) string {
	if empty {
		return "-"
	}
	return s
}

func pct(n int, v float64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", v)
}

func ratio(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", v)
}
