package plan

import (
	"maps"
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
		sizeProbe(ps, cat)
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

// sizeProbe raises probe shard ps's memory to ProbeMemoryFactor times its
// prediction, at most its class's MemoryMiB (no bound when 0).
func sizeProbe(ps *Shard, cat *catalog.Catalog) {
	mem := ps.Resources.MemoryMiB.Value * ProbeMemoryFactor
	if cl := cat.Class(ps.Class); cl != nil && cl.Shape.MemoryMiB > 0 {
		mem = math.Min(mem, float64(cl.Shape.MemoryMiB))
	}
	ps.Resources.MemoryMiB.Value = math.Max(ps.Resources.MemoryMiB.Value, mem)
}

// ProbeGraph returns a copy of g in which the probe's wait is part of the
// graph, for Build to schedule. For each probe shard of p (ids, as Probe
// returned them for the signatures probes), its tasks of a probed
// signature are the probe's tasks, and every other task of that
// signature that is not upstream of one of them gets a plain dependency
// (no data) on each: the type's other tasks start when all of the probe's
// have ended, so their in-run size comes from as many peaks as Probe's
// plan would give it. Probe adds the same wait after the schedule, so a
// plan built without it books the type's other shards from time 0 and
// batches them as if they did not wait. It also returns the probe's
// tasks, for SizeProbes. g is not modified; the copy shares its tasks and
// edges.
func ProbeGraph(p *Plan, g *graph.Graph, probes, ids []string) (*graph.Graph, []string, error) {
	cp := graph.New(g.Name)
	cp.Datacenters, cp.Region, cp.Namespace, cp.Priority, cp.Driver, cp.DefRange = g.Datacenters, g.Region, g.Namespace, g.Priority, g.Driver, g.DefRange
	for _, t := range g.Tasks {
		if err := cp.AddTask(t); err != nil {
			return nil, nil, err
		}
	}
	for _, e := range g.Edges {
		if err := cp.AddEdge(e); err != nil {
			return nil, nil, err
		}
	}
	var tasks []string
	seen := map[string]bool{} // one shard may hold the probes of two types
	for _, id := range ids {
		k := slices.IndexFunc(p.Shards, func(sh *Shard) bool { return sh.ID == id })
		if k < 0 || seen[id] {
			continue
		}
		seen[id] = true
		bySig := map[string][]int{}
		for _, name := range p.Shards[k].Tasks {
			if i := g.Index(name); i >= 0 && slices.Contains(probes, g.Tasks[i].Signature) {
				bySig[g.Tasks[i].Signature] = append(bySig[g.Tasks[i].Signature], i)
			}
		}
		for _, sig := range slices.Sorted(maps.Keys(bySig)) {
			probe := bySig[sig]
			up := make([]bool, len(g.Tasks))
			for _, i := range probe {
				up[i] = true
				// The copy's ancestors: the waits added for the types
				// before this one count, or two probed types that feed
				// each other would wait on each other (a cycle).
				taskAncestors(cp, i, up)
			}
			for i, t := range g.Tasks {
				if t.Signature != sig || up[i] {
					continue
				}
				for _, j := range probe {
					if err := cp.AddEdge(&graph.Edge{From: g.Tasks[j].Name, To: t.Name}); err != nil {
						return nil, nil, err
					}
				}
			}
			for _, j := range probe {
				tasks = append(tasks, g.Tasks[j].Name)
			}
		}
	}
	return cp, tasks, nil
}

// SizeProbes gives the shards of p holding the probe's tasks (ProbeGraph)
// the probe's memory (ProbeMemoryFactor times the prediction, at most the
// class's shape) and returns their IDs, in plan order.
func SizeProbes(p *Plan, cat *catalog.Catalog, tasks []string) []string {
	var ids []string
	for _, sh := range p.Shards {
		if slices.ContainsFunc(sh.Tasks, func(name string) bool { return slices.Contains(tasks, name) }) {
			sizeProbe(sh, cat)
			ids = append(ids, sh.ID)
		}
	}
	return ids
}

// taskAncestors marks in seen the tasks of g that task i waits for,
// directly or not.
func taskAncestors(g *graph.Graph, i int, seen []bool) {
	stack := []int{i}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range g.InIdx(k) {
			if u := g.Index(g.Edges[e].From); u >= 0 && !seen[u] {
				seen[u] = true
				stack = append(stack, u)
			}
		}
	}
}

// ProbeWaits turns the channels of p, a plan of ProbeGraph's copy of g,
// that carry only the probe's added dependencies (between tasks g does
// not join) into Upstream entries of their consumer shards, as Probe
// records the wait: the channels would carry no data, and there is one
// per pair of tasks, thousands on a large type, each a channel for the
// shard driver to set up. It returns the channels dropped.
func ProbeWaits(p *Plan, g *graph.Graph) int {
	type pair struct{ from, to string }
	joined := make(map[pair]bool, len(g.Edges))
	for _, e := range g.Edges {
		joined[pair{e.From, e.To}] = true
	}
	byID := make(map[string]*Shard, len(p.Shards))
	for _, sh := range p.Shards {
		byID[sh.ID] = sh
	}
	kept := p.Channels[:0]
	for _, ch := range p.Channels {
		if joined[pair{ch.FromTask, ch.ToTask}] || ch.Output != "" || ch.Bytes != 0 {
			kept = append(kept, ch)
			continue
		}
		if to := byID[ch.To]; to != nil && ch.From != ch.To && !slices.Contains(to.Upstream, ch.From) {
			to.Upstream = append(to.Upstream, ch.From)
		}
	}
	dropped := len(p.Channels) - len(kept)
	clear(p.Channels[len(kept):])
	p.Channels = kept
	return dropped
}
