package launcher

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/sdk"
)

// MaxReruns is how often the launcher runs one producer job again in a
// run because a consumer found its outputs gone (see lostUpstream). A
// re-run is not one of the producer's Options.Retries, nor is the held
// consumer's next registration one of the consumer's: neither failed.
// The bound stops a run whose producer's outputs keep vanishing (a node
// that loses its disk each time) from going round for ever.
const MaxReruns = 2

// Rerun is one producer job run again because a consumer found its
// outputs gone.
type Rerun = runstate.Rerun

// goneInputs returns the producers a's task events say are gone for good
// (the shard driver's sdk.UpstreamGoneTag in a task's exit message), each
// once.
func goneInputs(a allocInfo) []sdk.UpstreamGone {
	var out []sdk.UpstreamGone
	for _, ts := range a.TaskStates {
		if ts == nil {
			continue
		}
		for _, e := range ts.Events {
			if e == nil {
				continue
			}
			for _, g := range sdk.ParseUpstreamGone(eventText(e)) {
				if !slices.Contains(out, g) {
					out = append(out, g)
				}
			}
		}
	}
	return out
}

// eventText is every message a task event carries, as one string.
func eventText(e *api.TaskEvent) string {
	return strings.Join([]string{e.Message, e.DisplayMessage, e.DriverError, e.Details["exit_message"]}, "\n")
}

// lostUpstream judges a consumer u whose current attempt has an
// allocation whose task found an input gone for good. It returns the
// gone inputs, the producer units to run again (possibly none: a producer already running
// again, or one that has completed anew since the allocation the consumer
// was told to read), and ok when u is to be held (set pending, so that it
// is registered again, with the new from_alloc, once every producer is
// complete again). ok is false, and the tracker judges u as any failure,
// when no allocation says so, a named producer is not an upstream of
// another submission group, has failed, or was run again MaxReruns times,
// or when u was held as often as its producers may be run again.
func (t *tracker) lostUpstream(u *unit) (producers []*unit, gone []sdk.UpstreamGone, ok bool) {
	if u.service || (u.state != Submitted && u.state != Running) {
		return nil, nil, false
	}
	gone, consumer := t.goneOf(u)
	if len(gone) == 0 || u.holds >= MaxReruns*max(1, len(u.deps)) {
		return nil, nil, false
	}
	for _, g := range gone {
		d := t.byID[g.Shard]
		if d == nil || d.group == u.group || !slices.Contains(u.deps, d) {
			return nil, nil, false
		}
		switch d.state {
		case Pending, Submitted, Running:
			continue // running again already (for another consumer)
		case Complete:
		default:
			return nil, nil, false
		}
		if a, placed := d.placedAlloc(d.pieceOf(g.Shard)); placed && a.ID != g.Alloc {
			continue // u read an older allocation; the current one is there
		}
		if d.reruns >= MaxReruns {
			return nil, nil, false
		}
		if !slices.Contains(producers, d) {
			producers = append(producers, d)
		}
	}
	for _, d := range producers {
		d.state = Pending
		d.reruns++
		d.free++
		d.rerun = fmt.Sprintf("run again: its outputs were lost (consumer %s: upstream gone)", consumer)
	}
	names := make([]string, len(gone))
	for i, g := range gone {
		names[i] = g.Shard
	}
	u.state = Pending
	u.holds++
	u.free++
	u.reason = fmt.Sprintf("held until %s has run again: upstream gone", strings.Join(names, ", "))
	u.rerun = fmt.Sprintf("registered again after %s ran again (upstream gone)", strings.Join(names, ", "))
	return producers, gone, true
}

// goneOf returns the gone producers the allocations of u's current
// attempt report and the consumer shard (piece) that reported the first.
func (t *tracker) goneOf(u *unit) ([]sdk.UpstreamGone, string) {
	var out []sdk.UpstreamGone
	consumer := ""
	for _, id := range sortedAllocIDs(u.allocs) {
		a := u.allocs[id]
		for _, g := range goneInputs(a) {
			if slices.Contains(out, g) {
				continue
			}
			out = append(out, g)
			if consumer == "" {
				consumer = u.shards[max(0, min(a.Index, len(u.shards)-1))].ID
			}
		}
	}
	return out, consumer
}

// sortedAllocIDs returns the IDs of allocs in creation order, for a
// deterministic first report.
func sortedAllocIDs(allocs map[string]allocInfo) []string {
	ids := make([]string, 0, len(allocs))
	for id := range allocs {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := allocs[a].CreateIndex; c != allocs[b].CreateIndex {
			if c < allocs[b].CreateIndex {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return ids
}

// rerunUpstream acts on a consumer u that lostUpstream held for the gone
// inputs gone: it stops u's job, whose restarts and reschedules would
// wait for the lost data again, and records each producer run again;
// submitReady then registers the producers, and u once they are complete.
func (r *runner) rerunUpstream(ctx context.Context, u *unit, producers []*unit, gone []sdk.UpstreamGone) {
	if _, _, err := r.c.Jobs().Deregister(u.id, false, r.writeOpts(ctx, u.job)); err != nil {
		r.log.Warn("cannot stop the held consumer's job; Nomad may restart it meanwhile", "job", u.id, "error", ConnectError(r.c, err))
	}
	_, consumer := r.t.goneOf(u)
	now := time.Now()
	for _, d := range producers {
		rr := Rerun{Job: d.id, Consumer: consumer, Rerun: d.reruns, Pieces: len(d.shards), Time: now}
		for _, g := range gone {
			if r.t.byID[g.Shard] == d {
				rr.Shards = append(rr.Shards, g.Shard)
			}
		}
		r.reruns = append(r.reruns, rr)
		r.log.Info("running a producer again: its outputs were lost", "job", d.id, "consumer", consumer, "rerun", d.reruns)
	}
	r.log.Info("holding a consumer until its producers ran again", "job", u.id, "reason", u.reason)
}
