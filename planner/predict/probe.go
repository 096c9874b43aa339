package predict

import (
	"sort"

	"github.com/shardwise/shardwise/planner/graph"
)

// ProbeTypes returns, sorted, the signatures of g's tasks whose shared
// input (Task.SharedInputBytes: a reference database, an index) is larger
// than any its history saw, by at least MinInputSpan: neither runtime nor
// memory can be read from history at that scale, so the run probes the
// type first (plan.Probe): one shard of it runs alone with generous
// memory, and the rest are sized from what it used (Correction). A
// signature without history is not a probe type: its tasks already get
// the defaults.
func (p *Predictor) ProbeTypes(g *graph.Graph) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range g.Tasks {
		m := p.models[t.Signature]
		if m == nil || m.n == 0 || seen[t.Signature] || t.SharedInputBytes <= 0 {
			continue
		}
		if float64(t.SharedInputBytes) >= MinInputSpan*m.maxShared {
			seen[t.Signature] = true
			out = append(out, t.Signature)
		}
	}
	sort.Strings(out)
	return out
}
