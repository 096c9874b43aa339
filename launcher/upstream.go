package launcher

import (
	"maps"
	"slices"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/sdk"
)

// upstreamAllocs maps each upstream shard of u to the allocation that
// produced (complete) or produces (running, a streaming channel) its
// piece, as the run has seen it. An upstream with neither, e.g. a
// streaming producer registered in the same wave, is left out.
func (r *runner) upstreamAllocs(u *unit) map[string]string {
	out := map[string]string{}
	for _, s := range u.shards {
		for _, up := range s.Upstream {
			d := r.t.byID[up]
			if d == nil {
				continue
			}
			a, ok := d.bestAlloc(d.pieceOf(up))
			if ok && (a.complete() || a.running()) {
				out[up] = a.ID
			}
		}
	}
	return out
}

// withUpstreamAllocs returns j with "from_alloc" set on every input
// channel of its shard-driver tasks whose producing shard ("from") has an
// allocation in allocs, so that the consumer reads only that
// allocation's Consul registration of the channel, never a stale one of
// an earlier allocation. It does not share the parts it changes; a job
// without such an input is returned as it is.
func withUpstreamAllocs(j *api.Job, allocs map[string]string) *api.Job {
	if len(allocs) == 0 {
		return j
	}
	c := *j
	c.TaskGroups = slices.Clone(j.TaskGroups)
	changed := false
	for i, tg := range c.TaskGroups {
		g := *tg
		g.Tasks = slices.Clone(tg.Tasks)
		for k, t := range g.Tasks {
			if t.Driver != sdk.DriverShard {
				continue
			}
			if cfg, ok := withInputAllocs(t.Config, allocs); ok {
				tc := *t
				tc.Config = cfg
				g.Tasks[k] = &tc
				changed = true
			}
		}
		c.TaskGroups[i] = &g
	}
	if !changed {
		return j
	}
	return &c
}

// withInputAllocs returns a copy of a shard task config with from_alloc
// set on the inputs allocs names, and whether it changed anything.
func withInputAllocs(cfg map[string]any, allocs map[string]string) (map[string]any, bool) {
	ins, ok := cfg["inputs"].([]any)
	if !ok {
		return cfg, false
	}
	out := slices.Clone(ins)
	changed := false
	for i, v := range ins {
		in, ok := v.(map[string]any)
		if !ok {
			continue
		}
		from, _ := in["from"].(string)
		id := allocs[from]
		if id == "" {
			continue
		}
		m := maps.Clone(in)
		m["from_alloc"] = id
		out[i] = m
		changed = true
	}
	if !changed {
		return cfg, false
	}
	c := maps.Clone(cfg)
	c["inputs"] = out
	return c, true
}
