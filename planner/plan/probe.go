package plan

import (
	"math"
	"slices"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
)

// ProbeMemoryFactor is how much more memory than predicted a probe shard
// asks for (bounded by its class's shape).
const ProbeMemoryFactor = 2

// Probe applies the probe-then-size rule to p for the signatures in
// probes (predict.Predictor.ProbeTypes: types whose shared input is
// larger than any history saw). For each, the probe is, among the shards
// holding a task of that type on a class that holds the most of them,
// the one with the least predicted runtime (earliest booked start, then
// plan order, on ties): the in-run correction (predict.Correction) is
// per class, and pooled over classes only for a class the type has not
// completed on, where its actual/predicted ratio can differ (on BWA
// large, a probe batch on gpu-accelerated over-corrected the batches on
// the other classes). It asks for ProbeMemoryFactor times
// its predicted memory, at most its class's MemoryMiB (catalog shape; no
// bound when 0). Every other shard holding a task of the type, unless it
// is upstream of the probe (which would make a cycle), waits for the probe
// (its ID is added to Upstream), so that the run's Correction has seen the
// type before sizing the rest. It returns the IDs of the probe shards, in
// the order of probes.
func Probe(p *Plan, g *graph.Graph, cat *catalog.Catalog, probes []string) []string {
	var ids []string
	for _, sig := range probes {
		holders := shardsOfSignature(p, g, sig)
		if len(holders) < 2 {
			continue
		}
		modal := map[string]int{}
		for _, i := range holders {
			modal[p.Shards[i].Class]++
		}
		probe := -1
		for _, i := range holders {
			if probe < 0 {
				probe = i
				continue
			}
			if ci, cp := modal[p.Shards[i].Class], modal[p.Shards[probe].Class]; ci != cp {
				if ci > cp {
					probe = i
				}
				continue
			}
			a, b := p.Shards[i], p.Shards[probe]
			if a.RuntimeSeconds.Value < b.RuntimeSeconds.Value ||
				(a.RuntimeSeconds.Value == b.RuntimeSeconds.Value && a.StartSeconds < b.StartSeconds) {
				probe = i
			}
		}
		ps := p.Shards[probe]
		mem := ps.Resources.MemoryMiB.Value * ProbeMemoryFactor
		if cl := cat.Class(ps.Class); cl != nil && cl.Shape.MemoryMiB > 0 {
			mem = math.Min(mem, float64(cl.Shape.MemoryMiB))
		}
		ps.Resources.MemoryMiB.Value = math.Max(ps.Resources.MemoryMiB.Value, mem)
		up := ancestors(p, probe)
		for _, i := range holders {
			if i == probe || up[i] || slices.Contains(p.Shards[i].Upstream, ps.ID) {
				continue
			}
			p.Shards[i].Upstream = append(p.Shards[i].Upstream, ps.ID)
		}
		ids = append(ids, ps.ID)
	}
	return ids
}

// shardsOfSignature lists, in plan order, the shards holding a task of
// signature sig.
func shardsOfSignature(p *Plan, g *graph.Graph, sig string) []int {
	var out []int
	for i, sh := range p.Shards {
		for _, name := range sh.Tasks {
			if t := g.Task(name); t != nil && t.Signature == sig {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// ancestors marks the shards shard i waits for, directly or not, through
// Upstream and channels.
func ancestors(p *Plan, i int) map[int]bool {
	index := make(map[string]int, len(p.Shards))
	for k, sh := range p.Shards {
		index[sh.ID] = k
	}
	preds := make([][]int, len(p.Shards))
	for k, sh := range p.Shards {
		for _, u := range sh.Upstream {
			if j, ok := index[u]; ok {
				preds[k] = append(preds[k], j)
			}
		}
	}
	for _, ch := range p.Channels {
		f, ok1 := index[ch.From]
		t, ok2 := index[ch.To]
		if ok1 && ok2 {
			preds[t] = append(preds[t], f)
		}
	}
	seen := map[int]bool{}
	stack := append([]int(nil), preds[i]...)
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[k] {
			continue
		}
		seen[k] = true
		stack = append(stack, preds[k]...)
	}
	return seen
}
