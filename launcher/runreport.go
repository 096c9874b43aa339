package launcher

import (
	"context"
	"time"

	"github.com/shardwise/shardwise/planner/plan"
)

// notify reports every shard whose state changed since the last call,
// every unit whose reason (a placement problem, a retry) changed, and
// (as a Placed change) every shard whose allocation changed.
func (r *runner) notify() {
	now := time.Now()
	var changes []Change
	for _, u := range r.t.units {
		for i, s := range u.shards {
			// Each piece is judged on its own allocation: pieces of one
			// job are placed, run and end at different times.
			p := u.piece(i)
			old, seen := r.prev[s.ID]
			alloc, started, finished := u.allocOf(i)
			placed := false
			if seen && old == p.state && (p.reason == "" || r.prevReason[s.ID] == p.reason) {
				r.prevReason[s.ID] = p.reason
				if alloc == r.prevAlloc[s.ID] {
					continue
				}
				placed = true
			}
			if !seen && p.state == Pending {
				r.prev[s.ID] = Pending
				continue
			}
			changes = append(changes, Change{Shard: s.ID, Job: u.id, Class: s.Class, From: old, To: p.state,
				Attempt: u.attempt, Node: p.alloc.NodeName, Reason: p.reason, Time: now,
				Alloc: alloc, Started: started, Finished: finished, Placed: placed})
			r.prev[s.ID], r.prevReason[s.ID], r.prevAlloc[s.ID] = p.state, p.reason, alloc
		}
	}
	if len(changes) == 0 {
		return
	}
	snap := r.snapshot()
	// Metrics first: whoever reads the progress may scrape them at once.
	for _, c := range changes {
		if c.To == Running && !c.Placed {
			r.o.Metrics.running(c.Job, c.Time)
		}
	}
	r.o.Metrics.states(snap)
	for _, c := range changes {
		r.o.Progress.Change(c, snap)
	}
}

// snapshot counts the shards in each state, each piece of a split job
// by its own state.
func (r *runner) snapshot() Snapshot {
	s := Snapshot{Run: r.plan.Run, Graph: r.plan.Graph, Shards: len(r.plan.Shards), Start: r.start,
		Elapsed: time.Since(r.start), Predicted: seconds(r.plan.MakespanSeconds)}
	for _, u := range r.t.units {
		for _, st := range u.pieceStates() {
			s.Counts[st]++
		}
	}
	return s
}

// report builds the run's report, reading the class of each node a shard
// ran on.
func (r *runner) report() *Report {
	ctx, cancel := context.WithTimeout(context.Background(), r.o.StopTimeout)
	defer cancel()
	rep := &Report{Run: r.plan.Run, Graph: r.plan.Graph, Start: r.start, End: time.Now(),
		PredictedSeconds: r.plan.MakespanSeconds, Failure: r.failure, Stopped: r.stopped,
		Replans: r.replans, Resizes: r.resizes, Reruns: r.reruns}
	for _, s := range r.plan.Shards {
		u := r.t.byID[s.ID]
		rep.Shards = append(rep.Shards, r.result(ctx, u.shards[u.pieceOf(s.ID)], u, rep.End))
	}
	return rep
}

// result is how shard s of unit u ran, as of end: its class and
// prediction are the unit's current ones (after any move).
func (r *runner) result(ctx context.Context, s *plan.Shard, u *unit, end time.Time) ShardResult {
	i := u.pieceOf(s.ID)
	p := u.piece(i)
	res := ShardResult{Shard: s.ID, Job: u.id, Class: s.Class, State: p.state,
		Service: u.service, Attempts: u.attempt, PredictedSeconds: s.RuntimeSeconds.Value}
	if p.placed {
		a := p.alloc
		res.Alloc, res.NodeID, res.Node = a.ID, a.NodeID, a.NodeName
		res.NodeClass, _, _ = r.nodes.lookup(ctx, a.NodeID)
		res.Actual = actual(a, end)
		if p.state == Complete && len(u.shards) == 1 {
			res.TaskSeconds = u.taskSeconds
		}
	} else if i < len(u.pieces) {
		pc := u.pieces[i]
		res.Alloc, res.NodeID, res.Node, res.NodeClass, res.Actual = pc.Alloc, pc.NodeID, pc.Node, pc.NodeClass, pc.Actual
		res.TaskSeconds = pc.TaskSeconds
	}
	return res
}

// actual is the allocation's run time: first task start to last task
// finish, or to end while a task still runs.
func actual(a allocInfo, end time.Time) time.Duration {
	start, finish := a.span()
	if start.IsZero() {
		return 0
	}
	if a.running() || finish.Before(start) {
		finish = end
	}
	return finish.Sub(start)
}

// allocOf returns the allocation that best shows how piece i runs (see
// bestAlloc), with its first task start and last task finish, or, for a
// unit restored after Nomad collected its job, the stored piece's
// allocation.
func (u *unit) allocOf(i int) (id string, started, finished time.Time) {
	if a, ok := u.bestAlloc(i); ok {
		started, finished = a.span()
		if a.running() {
			finished = time.Time{}
		}
		return a.ID, started, finished
	}
	if i < len(u.pieces) {
		return u.pieces[i].Alloc, time.Time{}, time.Time{}
	}
	return "", time.Time{}, time.Time{}
}
