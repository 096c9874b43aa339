package launcher

import (
	"maps"
	"slices"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/sdk"
)

// upstreamAllocs maps each upstream shard of u to the allocation that
// produced (complete), produces (running, a streaming channel) or will
// produce (pending: placed, not started) its piece in its current
// attempt, as the run has seen it. An upstream without one is left out;
// submitReady does not register a unit while an upstream of its own
// submission group has none (heldBy).
func (r *runner) upstreamAllocs(u *unit) map[string]string {
	out := map[string]string{}
	for _, s := range u.shards {
		for _, up := range s.Upstream {
			d := r.t.byID[up]
			if d == nil {
				continue
			}
			if a, ok := d.placedAlloc(d.pieceOf(up)); ok {
				out[up] = a.ID
			}
		}
	}
	return out
}

// heldBy returns the first upstream shard of u that is in u's submission
// group (a streaming producer, registered in the same wave) and has no
// placed allocation yet, or "" when there is none. u is registered only
// after each such producer is placed, so that its first attempt already
// names the producer's allocation (from_alloc) and can never read a
// stale Consul registration of the channel. Shards form a DAG, so within
// a group some unit is never held and the wave always moves on.
func (r *runner) heldBy(u *unit) string {
	for _, s := range u.shards {
		for _, up := range s.Upstream {
			d := r.t.byID[up]
			if d == nil || d == u || d.group != u.group {
				continue
			}
			if _, ok := d.placedAlloc(d.pieceOf(up)); !ok {
				return up
			}
		}
	}
	return ""
}

// placedAlloc returns the allocation of piece i of the current attempt
// that holds or will hold its outputs: complete, else running, else
// pending and meant to run; ties go to the latest modified. Failed, lost
// and stopping allocations never qualify.
func (u *unit) placedAlloc(i int) (allocInfo, bool) {
	var best allocInfo
	rank := 0
	for _, a := range u.allocs {
		if a.Index != i {
			continue
		}
		r := 0
		switch {
		case a.complete():
			r = 3
		case a.running():
			r = 2
		case a.ClientStatus == api.AllocClientStatusPending && a.DesiredStatus == api.AllocDesiredStatusRun:
			r = 1
		}
		if r > rank || (r == rank && r > 0 && a.ModifyIndex > best.ModifyIndex) {
			best, rank = a, r
		}
	}
	return best, rank > 0
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
