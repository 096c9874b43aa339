package predict

import "github.com/shardwise/shardwise/planner/graph"

// HistoryKind returns the workload profile history gives signature sig
// (the dominant-kind rule of decideKinds), or "" when sig has no record
// or no rule decides. Catalog discovery groups speed ratios by it.
func (p *Predictor) HistoryKind(sig string) graph.Kind {
	if m := p.models[sig]; m != nil {
		return m.kind
	}
	return ""
}
