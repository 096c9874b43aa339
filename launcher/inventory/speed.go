package inventory

import (
	"math"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
)

// SpeedEstimate is one class's speed for one workload profile and where
// it came from.
type SpeedEstimate struct {
	Kind  graph.Kind
	Speed float64
	// N is the number of task signatures the estimate is the median of;
	// 0 means no history paired this class with the reference class for
	// this profile, and Speed is the default 1.0.
	N int
	// Reference marks the reference class, whose speeds are 1.0 by
	// definition.
	Reference bool
}

// Default reports whether the speed is the default 1.0 for want of data.
func (s SpeedEstimate) Default() bool { return s.N == 0 && !s.Reference }

// estimateSpeeds sets every class's speeds (EstimateSpeeds) and records
// their sources in the report.
func (r *Report) estimateSpeeds(records []history.Record) {
	est := EstimateSpeeds(r.Catalog, r.nodeNames(), records)
	for i, cl := range r.Catalog.Classes {
		cl.Speed = map[graph.Kind]float64{}
		for _, e := range est[cl.Name] {
			cl.Speed[e.Kind] = e.Speed
		}
		r.Classes[i].Speeds = est[cl.Name]
	}
}

// nodeNames maps each class name to its node names.
func (r *Report) nodeNames() map[string][]string {
	out := map[string][]string{}
	for _, c := range r.Classes {
		out[c.Name] = c.Nodes
	}
	return out
}

// EstimateSpeeds estimates each class's relative speed per workload
// profile from history. The estimator:
//
//  1. Each successful record is attributed to a class: by its node (name
//     or ID) when exactly one class has that node, else by its node class
//     when exactly one class has it, else by its executor name; records
//     with neither node class nor executor (imported traces) ran on the
//     reference class, as the predictor reads them.
//  2. Each signature gets the workload profile history gives it (the
//     predictor's dominant-kind rule, predict.Predictor.HistoryKind).
//  3. For class c and profile k, every signature of profile k with
//     successful records on both c and the reference class gives the
//     ratio median runtime on the reference / median runtime on c; the
//     speed is the median of these ratios and n is their number.
//
// The reference class has speed 1.0 for every profile; a class and
// profile with n = 0 get 1.0, reported as a default. gpu is estimated only
// for classes with GPUs. Medians are predict.Quantile's (type 7).
func EstimateSpeeds(cat *catalog.Catalog, nodes map[string][]string, records []history.Record) map[string][]SpeedEstimate {
	runtimes := attribute(cat, nodes, records) // class -> signature -> runtimes
	var kindOf func(string) graph.Kind
	if p, err := predict.New(cat, records); err == nil {
		kindOf = p.HistoryKind
	} else {
		kindOf = func(string) graph.Kind { return "" }
	}
	out := map[string][]SpeedEstimate{}
	ref := runtimes[cat.Reference]
	for _, cl := range cat.Classes {
		for _, k := range kinds(cl) {
			e := SpeedEstimate{Kind: k, Speed: 1, Reference: cl.Name == cat.Reference}
			if !e.Reference {
				var ratios []float64
				for sig, mine := range runtimes[cl.Name] {
					theirs, ok := ref[sig]
					if !ok || kindOf(sig) != k {
						continue
					}
					m, _ := predict.Quantile(mine, 0.5)
					rm, _ := predict.Quantile(theirs, 0.5)
					if m > 0 && rm > 0 {
						ratios = append(ratios, rm/m)
					}
				}
				if v, ok := predict.Quantile(ratios, 0.5); ok {
					e.Speed, e.N = round3(v), len(ratios)
				}
			}
			out[cl.Name] = append(out[cl.Name], e)
		}
	}
	return out
}

// attribute returns, per class name and signature, the runtimes (s) of
// the successful records that ran on the class (step 1 of EstimateSpeeds).
func attribute(cat *catalog.Catalog, nodes map[string][]string, records []history.Record) map[string]map[string][]float64 {
	byNode := map[string][]string{}
	byNodeClass := map[string][]string{}
	for _, cl := range cat.Classes {
		for _, n := range nodes[cl.Name] {
			byNode[n] = append(byNode[n], cl.Name)
		}
		byNodeClass[cl.Placement.NodeClass] = append(byNodeClass[cl.Placement.NodeClass], cl.Name)
	}
	out := map[string]map[string][]float64{}
	for i := range records {
		rec := &records[i]
		if !rec.OK() || rec.RuntimeSeconds <= 0 {
			continue
		}
		class := classOf(rec, cat, byNode, byNodeClass)
		if class == "" {
			continue
		}
		if out[class] == nil {
			out[class] = map[string][]float64{}
		}
		out[class][rec.Signature] = append(out[class][rec.Signature], rec.RuntimeSeconds)
	}
	return out
}

func classOf(rec *history.Record, cat *catalog.Catalog, byNode, byNodeClass map[string][]string) string {
	if c := byNode[rec.Node]; len(c) == 1 {
		return c[0]
	}
	if rec.NodeClass != "" {
		if c := byNodeClass[rec.NodeClass]; len(c) == 1 {
			return c[0]
		}
	}
	if rec.Executor != "" {
		if cat.Class(rec.Executor) != nil {
			return rec.Executor
		}
		return ""
	}
	if rec.NodeClass == "" && rec.Node == "" {
		return cat.Reference
	}
	return ""
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
