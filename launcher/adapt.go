package launcher

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner/plan"
)

// Replanner re-plans shards just before the launcher submits them: the
// closed loop of Shardwise's flow (history and the cluster's current load
// back into placement). Run calls it from its one goroutine before every
// submission wave, never concurrently.
type Replanner interface {
	// Replan returns the jobs of req.Next to submit differently, one Move
	// per job; none keeps the plan. An error is logged and the plan kept:
	// a re-planning failure does not fail the run.
	Replan(ctx context.Context, req ReplanRequest) ([]Move, error)
}

// ReplanRequest is what a Replanner sees before a submission wave.
type ReplanRequest struct {
	// Plan is the run's plan with every earlier move applied (moved
	// shards on their new class). Read only.
	Plan *plan.Plan
	// Next are the shards about to be submitted, in plan order: every
	// piece of each job whose upstream shards are complete.
	Next []*plan.Shard
	// Pending are all shards not submitted yet, Next included.
	Pending []*plan.Shard
	// Done are the completed shards, with how they ran (actual runtime,
	// node class), in plan order.
	Done []ShardResult
	// Active are the shards submitted and not finished, in plan order:
	// what holds or waits for an instance of each class (late binding,
	// plan.Binder).
	Active []ActiveShard
	// Now is when the request was made.
	Now time.Time
}

// ActiveShard is a shard submitted and not finished.
type ActiveShard struct {
	Shard, Class string
	// Running is set once its allocation runs; Since is when it started
	// running, else when it was submitted.
	Running bool
	Since   time.Time
}

// Move replaces one job of a wave before its first submission.
type Move struct {
	// Job is the job to submit instead; its ID must be the replaced job's.
	Job *api.Job
	// Shards are the job's shards as re-planned, in allocation index
	// order, with the same IDs as before.
	Shards []*plan.Shard
	// Reason says in words why the job moved, e.g. "no ready node in
	// memory-intensive".
	Reason string
}

// Replan is one move the launcher made, for the report and the run's
// stored progress.
type Replan = runstate.Replan

// Resize is one memory raise of a job's retry after an OOM kill.
type Resize = runstate.Resize

// OOMRetryFunc returns the memory, in MiB, to register a failed
// allocation's job again with, and true, when the allocation was
// OOM-killed; false leaves the retry as it was. a is the allocation as
// /v1/allocation/:id returns it (with its Job and task events).
// replan.OOMRetry is one.
type OOMRetryFunc func(a *api.Allocation) (mib int64, ok bool)

// replan asks the Replanner about the units of the ready groups and
// applies its moves. A failed Replan, or a move that does not fit the
// unit or that Nomad refuses, is logged and the plan kept.
func (r *runner) replan(ctx context.Context, groups []*group) {
	req := r.replanRequest(ctx, groups)
	moves, err := r.o.Replanner.Replan(ctx, req)
	if err != nil {
		r.log.Warn("re-planning failed; keeping the plan", "error", err)
		return
	}
	for _, m := range moves {
		if err := r.applyMove(ctx, m); err != nil {
			r.log.Warn("re-plan move not applied; keeping the plan", "error", err)
		}
	}
}

// replanRequest describes the run for a Replanner before the given
// groups are submitted.
func (r *runner) replanRequest(ctx context.Context, groups []*group) ReplanRequest {
	cur := *r.plan
	cur.Shards = make([]*plan.Shard, len(r.plan.Shards))
	next := map[*unit]bool{}
	for _, g := range groups {
		for _, u := range g.units {
			next[u] = true
		}
	}
	end := time.Now()
	req := ReplanRequest{Plan: &cur, Now: end}
	for i, s := range r.plan.Shards {
		u := r.t.byID[s.ID]
		cs := u.shards[u.pieceOf(s.ID)]
		cur.Shards[i] = cs
		switch {
		case next[u]:
			req.Next = append(req.Next, cs)
			req.Pending = append(req.Pending, cs)
		case u.state == Pending:
			req.Pending = append(req.Pending, cs)
		case u.piece(u.pieceOf(s.ID)).state == Complete:
			req.Done = append(req.Done, r.result(ctx, cs, u, end))
		case u.state == Submitted || u.state == Running:
			req.Active = append(req.Active, r.active(cs, u))
		}
	}
	return req
}

// active describes shard s of unit u, submitted and not finished: running
// since its allocation's first task start, else waiting since u was
// submitted.
func (r *runner) active(s *plan.Shard, u *unit) ActiveShard {
	a := ActiveShard{Shard: s.ID, Class: s.Class, Since: u.submitted}
	if al, ok := u.bestAlloc(u.pieceOf(s.ID)); ok && al.running() {
		if start, _ := al.span(); !start.IsZero() {
			a.Running, a.Since = true, start
		}
	}
	return a
}

// applyMove puts a move's job and shards in place of its unit's, after
// checking that they match the unit and that Nomad accepts the job.
func (r *runner) applyMove(ctx context.Context, m Move) error {
	if m.Job == nil || m.Job.ID == nil {
		return fmt.Errorf("move without a job")
	}
	u := r.t.byJob[*m.Job.ID]
	if u == nil || u.state != Pending {
		return fmt.Errorf("job %s: not a pending job of the run", *m.Job.ID)
	}
	if !sameShards(u.shards, m.Shards) {
		return fmt.Errorf("job %s: the move's shards are not the job's", u.id)
	}
	if len(m.Job.TaskGroups) != 1 {
		return fmt.Errorf("job %s: the move's job has %d task groups, want 1", u.id, len(m.Job.TaskGroups))
	}
	if err := validate(ctx, r.c, []*api.Job{m.Job}, r.ns, 1); err != nil {
		return err
	}
	rp := Replan{Job: u.id, From: u.shards[0].Class, To: m.Shards[0].Class, Reason: m.Reason, Time: time.Now()}
	for _, s := range m.Shards {
		rp.Shards = append(rp.Shards, s.ID)
	}
	u.job, u.shards = m.Job, slices.Clone(m.Shards)
	u.note = fmt.Sprintf("re-planned from %s (%s)", rp.From, rp.Reason)
	r.replans = append(r.replans, rp)
	r.o.Metrics.replanned(rp.From, rp.To)
	r.log.Info("re-planned", "job", u.id, "shards", rp.Shards, "from", rp.From, "to", rp.To, "reason", rp.Reason)
	return nil
}

// sameShards reports whether a and b hold the same shard IDs in the same
// order.
func sameShards(a, b []*plan.Shard) bool {
	return slices.EqualFunc(a, b, func(x, y *plan.Shard) bool { return x != nil && y != nil && x.ID == y.ID })
}

// skipOOMReschedule makes u's attempt fail at once, rather than wait for
// Nomad's reschedule, when the failed allocation Nomad is to reschedule
// was OOM-killed (OOMRetry says so): Nomad would place it again with the
// same memory, to be killed again, before the launcher's retry with more
// memory (resizeAfterOOM). It reads the allocation once; a read error
// leaves the allocation to Nomad.
func (r *runner) skipOOMReschedule(ctx context.Context, u *unit) {
	if r.o.OOMRetry == nil {
		return
	}
	id, ok := r.t.awaitsReschedule(u, time.Now())
	if !ok {
		return
	}
	u.oomChecked = id
	a, err := AllocationAt(ctx, r.c, id, r.ns, u.allocs[id].ModifyIndex)
	if err != nil {
		r.log.Debug("could not read a failed allocation; leaving it to Nomad's reschedule", "alloc", shortID(id), "error", err)
		return
	}
	if _, oom := r.o.OOMRetry(a); oom {
		u.noReschedule = id
	}
}

// resizeAfterOOM asks OOMRetry whether u's failed allocation was
// OOM-killed and, when it was, raises the memory u's next registration
// asks for. It reads the allocation from Nomad; a read error is returned.
func (r *runner) resizeAfterOOM(ctx context.Context, u *unit) error {
	if r.o.OOMRetry == nil || u.failedAlloc == "" {
		return nil
	}
	// At the index the tracker saw it fail: an earlier state has no OOM verdict.
	a, err := AllocationAt(ctx, r.c, u.failedAlloc, r.ns, u.allocs[u.failedAlloc].ModifyIndex)
	if err != nil {
		return fmt.Errorf("read allocation %s of job %s: %w", shortID(u.failedAlloc), u.id, ConnectError(r.c, err))
	}
	mib, ok := r.o.OOMRetry(a)
	cur := taskMemory(u.job, u.memoryMiB)
	if !ok || mib <= int64(cur) || mib > math.MaxInt32 {
		return nil
	}
	rs := Resize{Job: u.id, Shard: u.shards[max(0, min(allocIndex(a.Name), len(u.shards)-1))].ID,
		Alloc: a.ID, Attempt: u.attempt, FromMiB: cur, ToMiB: int(mib)}
	u.memoryMiB = rs.ToMiB
	u.reason = fmt.Sprintf("%s; OOM-killed at %d MiB, retrying with %d MiB", u.reason, rs.FromMiB, rs.ToMiB)
	r.resizes = append(r.resizes, rs)
	r.log.Info("raising memory after an OOM kill", "job", u.id, "alloc", shortID(a.ID), "from_mib", rs.FromMiB, "to_mib", rs.ToMiB)
	return nil
}

// taskMemory is the memory in MiB a registration of j asks for: override
// when set, else the first task's MemoryMB (0 when unset).
func taskMemory(j *api.Job, override int) int {
	if override > 0 {
		return override
	}
	for _, tg := range j.TaskGroups {
		for _, t := range tg.Tasks {
			if t.Resources != nil && t.Resources.MemoryMB != nil {
				return *t.Resources.MemoryMB
			}
		}
	}
	return 0
}

// withMemory returns j with every task asking for mib MiB of memory, not
// sharing the parts it changes. A memory_max is raised by the same
// factor, so that an oversubscribing task keeps its headroom.
func withMemory(j *api.Job, mib int) *api.Job {
	c := *j
	c.TaskGroups = slices.Clone(j.TaskGroups)
	for i, tg := range c.TaskGroups {
		g := *tg
		g.Tasks = slices.Clone(tg.Tasks)
		for k, t := range g.Tasks {
			tc := *t
			res := api.Resources{}
			if t.Resources != nil {
				res = *t.Resources
			}
			if res.MemoryMaxMB != nil && res.MemoryMB != nil && *res.MemoryMB > 0 {
				res.MemoryMaxMB = new(max(mib, int(math.Ceil(float64(*res.MemoryMaxMB)*float64(mib)/float64(*res.MemoryMB)))))
			}
			res.MemoryMB = new(mib)
			tc.Resources = &res
			g.Tasks[k] = &tc
		}
		c.TaskGroups[i] = &g
	}
	return &c
}
