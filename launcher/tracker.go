package launcher

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner/plan"
)

// unit is one Nomad job of the run and the shards it holds.
type unit struct {
	id  string
	job *api.Job
	// shards are the job's shards in allocation index order (a split
	// job's pieces by Split.Index; any other job has one).
	shards  []*plan.Shard
	service bool
	// count is the group's allocation count.
	count int
	// deps are the units, outside the unit's group, that must be complete
	// before the group is submitted.
	deps  []*unit
	group *group

	state State
	// attempt counts registrations: 1 after the first submit.
	attempt int
	// since is the Raft index after which allocations belong to the
	// current attempt: the job's modify index at registration.
	since  uint64
	allocs map[string]allocInfo
	job0   jobInfo
	// reason says why the unit failed or is not placed yet.
	reason string
	// failedAlloc is the allocation whose failure ended the last attempt.
	failedAlloc string
	submitted   time.Time
	finished    time.Time
	// note says why the unit was re-planned; shown when it is submitted.
	note string
	// blockedSince is when Nomad first reported that it could not place
	// the current attempt's allocations; zero once one is placed.
	blockedSince time.Time
	// never, when set, says why Nomad can never place the job as it is
	// (or that it was not placed within the placement timeout): a final
	// failure.
	never string
	// memoryMiB, when set, overrides the memory of the job's task (a
	// retry after an OOM kill).
	memoryMiB int
	// pieces are how each allocation index ran, once the unit ended (from
	// the stored progress when Nomad has collected the job).
	pieces []runstate.Piece
	// taskSeconds are a fused shard's per-task runtimes, read from its
	// complete allocation (readTaskTimes); nil when not read.
	taskSeconds []float64
	// reruns counts the unit's runs again after a consumer found its
	// outputs gone; holds the times the unit (a consumer) was held until
	// such a producer ran again (lostUpstream).
	reruns, holds int
	// free counts the registrations that re-runs and holds caused: they
	// do not count against the retries.
	free int
	// registering: the unit's registration is queued or in flight
	// (registrar); its events wait until it is recorded.
	registering bool
	// rerun, when set, says why the next registration happens (a re-run
	// or the end of a hold); it becomes the unit's reason then.
	rerun string
	// oomChecked is the failed allocation of the current attempt the
	// runner asked OOMRetry about while Nomad was to reschedule it;
	// noReschedule is set to it when it was OOM-killed, so the attempt
	// fails without waiting for Nomad to place it again with the same
	// memory (see awaitsReschedule).
	oomChecked, noReschedule string
}

// group is a set of units joined by streaming channels, submitted
// together.
type group struct {
	units []*unit
	// replanned: the Replanner was asked about the group (submitReady).
	replanned bool
}

// tracker holds the run's units and decides, from what Nomad reports,
// which units to submit, retry or give up on. It does no I/O.
type tracker struct {
	units  []*unit
	byJob  map[string]*unit
	byID   map[string]*unit // by shard ID
	groups []*group
	// retries is how often a unit is registered again after Nomad gave
	// up on it.
	retries int
}

// verdict is what settle decided about a unit.
type verdict int

const (
	// keep: nothing to do.
	keep verdict = iota
	// retry: Nomad gave up; register the job again.
	retry
	// giveUp: Nomad gave up and the retries are spent.
	giveUp
	// done: the unit has just become complete.
	done
)

// newTracker builds the units of p from jobs, one per job ID, and their
// submission groups and dependencies. It returns an error for a shard
// whose job is missing, a job that holds no shard, a job with other than
// one task group, an upstream shard not in the plan, or dependencies that
// form a cycle once streaming shards are grouped.
func newTracker(p *plan.Plan, jobs []*api.Job, retries int) (*tracker, error) {
	if retries < 0 {
		return nil, fmt.Errorf("retries %d: must not be negative", retries)
	}
	t := &tracker{byJob: map[string]*unit{}, byID: map[string]*unit{}, retries: retries}
	for i, j := range jobs {
		if err := t.addJob(i, j); err != nil {
			return nil, err
		}
	}
	for _, s := range p.Shards {
		u := t.byJob[s.Job]
		if u == nil {
			return nil, fmt.Errorf("shard %s: job %q is not among the jobs", s.ID, s.Job)
		}
		u.shards = append(u.shards, s)
		t.byID[s.ID] = u
	}
	for _, u := range t.units {
		if len(u.shards) == 0 {
			return nil, fmt.Errorf("job %s holds no shard of plan %s", u.id, p.Run)
		}
		sort.SliceStable(u.shards, func(a, b int) bool { return pieceIndex(u.shards[a]) < pieceIndex(u.shards[b]) })
	}
	t.makeGroups(p.Channels)
	if err := t.makeDeps(); err != nil {
		return nil, err
	}
	return t, nil
}

// addJob adds the unit of job j (the i-th job).
func (t *tracker) addJob(i int, j *api.Job) error {
	if j == nil || j.ID == nil || *j.ID == "" {
		return fmt.Errorf("job #%d has no ID", i)
	}
	if len(j.TaskGroups) != 1 {
		return fmt.Errorf("job %s has %d task groups, want 1", *j.ID, len(j.TaskGroups))
	}
	if t.byJob[*j.ID] != nil {
		return fmt.Errorf("duplicate job %s", *j.ID)
	}
	count := 1
	if c := j.TaskGroups[0].Count; c != nil {
		count = *c
	}
	u := &unit{id: *j.ID, job: j, count: count, allocs: map[string]allocInfo{},
		service: j.Type != nil && *j.Type == api.JobTypeService}
	t.units = append(t.units, u)
	t.byJob[u.id] = u
	return nil
}

// pieceIndex is a split piece's index, 0 for an unsplit shard.
func pieceIndex(s *plan.Shard) int {
	if s.Split != nil {
		return s.Split.Index
	}
	return 0
}

// makeGroups joins units linked by streaming channels (union-find).
func (t *tracker) makeGroups(channels []*plan.Channel) {
	parent := map[*unit]*unit{}
	var find func(*unit) *unit
	find = func(u *unit) *unit {
		if p, ok := parent[u]; ok && p != u {
			r := find(p)
			parent[u] = r
			return r
		}
		return u
	}
	for _, c := range channels {
		a, b := t.byID[c.From], t.byID[c.To]
		if c.Stream && a != nil && b != nil && find(a) != find(b) {
			parent[find(b)] = find(a)
		}
	}
	byRoot := map[*unit]*group{}
	for _, u := range t.units {
		r := find(u)
		g := byRoot[r]
		if g == nil {
			g = &group{}
			byRoot[r] = g
			t.groups = append(t.groups, g)
		}
		g.units = append(g.units, u)
		u.group = g
	}
}

// makeDeps sets each unit's dependencies outside its group and checks
// that the groups form a DAG.
func (t *tracker) makeDeps() error {
	for _, u := range t.units {
		for _, s := range u.shards {
			for _, up := range s.Upstream {
				d := t.byID[up]
				if d == nil {
					return fmt.Errorf("shard %s: upstream shard %q is not in the plan", s.ID, up)
				}
				if d.group != u.group && !slices.Contains(u.deps, d) {
					u.deps = append(u.deps, d)
				}
			}
		}
	}
	return t.checkAcyclic()
}

// checkAcyclic returns an error naming a job on a dependency cycle between
// submission groups.
func (t *tracker) checkAcyclic() error {
	const (
		white = iota
		grey
		black
	)
	color := map[*group]int{}
	var visit func(g *group) *unit
	visit = func(g *group) *unit {
		color[g] = grey
		for _, u := range g.units {
			for _, d := range u.deps {
				switch color[d.group] {
				case grey:
					return d
				case white:
					if bad := visit(d.group); bad != nil {
						return bad
					}
				}
			}
		}
		color[g] = black
		return nil
	}
	for _, g := range t.groups {
		if color[g] == white {
			if bad := visit(g); bad != nil {
				return fmt.Errorf("job %s is on a dependency cycle (streaming channels join jobs that also wait for each other)", bad.id)
			}
		}
	}
	return nil
}

// ready returns the groups that can be submitted now: every unit is
// pending and every dependency complete.
func (t *tracker) ready() []*group {
	var out []*group
	for _, g := range t.groups {
		if g.ready() {
			out = append(out, g)
		}
	}
	return out
}

// A group part of which an earlier launcher registered before it died is
// ready for its pending units.
func (g *group) ready() bool {
	pending := false
	for _, u := range g.units {
		pending = pending || u.state == Pending
		for _, d := range u.deps {
			if d.state != Complete {
				return false
			}
		}
	}
	return pending
}

// registered records that u's job was registered at Raft index since
// (the job's modify index): allocations created after it, and job states
// from it on, belong to this attempt.
func (t *tracker) registered(u *unit, since uint64, now time.Time) {
	u.attempt++
	u.since = since
	u.state = Submitted
	switch {
	case u.rerun != "":
		u.reason, u.rerun = u.rerun, ""
	case u.attempt > 1 && u.reason != "":
		u.reason = fmt.Sprintf("registered again (attempt %d of %d) after: %s", u.attempt-u.free, t.retries+1, u.reason)
	default:
		u.reason = ""
	}
	u.failedAlloc = ""
	u.oomChecked, u.noReschedule = "", ""
	// Pieces recorded of an earlier attempt no longer say how it runs.
	u.pieces, u.taskSeconds = nil, nil
	u.blockedSince = time.Time{}
	u.never = ""
	u.job0 = jobInfo{}
	if u.submitted.IsZero() {
		u.submitted = now
	}
	for id, a := range u.allocs {
		if a.CreateIndex <= since {
			delete(u.allocs, id)
		}
	}
}

// observeAlloc records an allocation update and returns its unit, or nil
// when the allocation is not of the run's current attempts or is older
// than what is already known.
func (t *tracker) observeAlloc(jobID string, a allocInfo) *unit {
	u := t.byJob[jobID]
	if u == nil || u.state == Pending || a.CreateIndex <= u.since {
		return nil
	}
	if old, ok := u.allocs[a.ID]; ok && old.ModifyIndex > a.ModifyIndex {
		return nil
	}
	u.allocs[a.ID] = a
	u.blockedSince = time.Time{}
	if a.ClientStatus != api.AllocClientStatusPending {
		u.reason = ""
	}
	return u
}

// observeJob records a job update and returns its unit, or nil when the
// update predates the current attempt or what is already known.
func (t *tracker) observeJob(jobID string, j jobInfo) *unit {
	u := t.byJob[jobID]
	if u == nil || u.state == Pending || (!j.Deleted && j.JobModifyIndex < u.since) {
		return nil
	}
	if !j.Deleted && j.ModifyIndex < u.job0.ModifyIndex {
		return nil
	}
	u.job0 = j
	return u
}

// observeBlocked records why Nomad could not place u's allocations yet,
// from an evaluation of the job version at jobModifyIndex (zero: unknown),
// and returns u, or nil when the evaluation is not of u's current attempt
// or u is not waiting for a placement.
func (t *tracker) observeBlocked(jobID string, jobModifyIndex uint64, reason string, now time.Time) *unit {
	u := t.byJob[jobID]
	if u == nil || (u.state != Submitted && u.state != Running) || (jobModifyIndex != 0 && jobModifyIndex < u.since) {
		return nil
	}
	u.reason = reason
	if u.blockedSince.IsZero() {
		u.blockedSince = now
	}
	return u
}

// unplaceable records that Nomad can never place u's job, and why; the
// next settle fails u for good.
func (t *tracker) unplaceable(u *unit, why string) {
	if u.state == Pending || u.state.terminal() {
		return
	}
	u.never = why
}

// placementTimeouts marks every unit whose allocations Nomad has failed
// to place for timeout or longer (never when timeout is zero) as never to
// be placed, with the latest placement failure, and returns them.
func (t *tracker) placementTimeouts(now time.Time, timeout time.Duration) []*unit {
	if timeout <= 0 {
		return nil
	}
	var out []*unit
	for _, u := range t.units {
		if u.state.terminal() || u.state == Pending || u.never != "" || u.blockedSince.IsZero() || now.Sub(u.blockedSince) < timeout {
			continue
		}
		u.never = fmt.Sprintf("not placed within the placement timeout (%s): %s", formatDur(timeout), u.reason)
		out = append(out, u)
	}
	return out
}

// settle moves u to the state its allocations and job show and says what
// the launcher must do about it.
func (t *tracker) settle(u *unit, now time.Time) verdict {
	if u.state == Pending || u.state.terminal() {
		return keep
	}
	if u.never != "" {
		// Retrying cannot help: the same job cannot be placed either.
		u.reason = u.never
		u.state = Failed
		u.finished = now
		return giveUp
	}
	if ok := t.finished(u); ok {
		u.state = Complete
		u.finished = now
		return done
	}
	if reason, failed, final := t.failure(u, now); failed {
		u.reason = reason
		// Registrations caused by lost upstream outputs are not retries.
		if !final && u.attempt-u.free <= t.retries {
			return retry
		}
		u.state = Failed
		u.finished = now
		return giveUp
	}
	for _, a := range u.allocs {
		if a.running() || a.complete() {
			u.state = Running
			return keep
		}
	}
	return keep
}

// doubtful reports whether u's batch job is dead while the tracker sees
// neither every allocation complete nor one failed, which happens only
// when events were lost.
func (t *tracker) doubtful(u *unit) bool {
	if u.service || u.state == Pending || u.state.terminal() {
		return false
	}
	if u.job0.Status != jobStatusDead || u.job0.Stop || u.job0.Deleted || u.job0.JobModifyIndex < u.since {
		return false
	}
	_, failed := latestFailed(u.allocs)
	return !failed && !t.finished(u)
}

// finished reports whether every allocation index of u has a complete
// (batch) or healthy (service) allocation.
func (t *tracker) finished(u *unit) bool {
	ok := make([]bool, u.count)
	n := 0
	for _, a := range u.allocs {
		good := a.complete()
		if u.service {
			good = a.healthy()
		}
		if good && a.Index >= 0 && a.Index < u.count && !ok[a.Index] {
			ok[a.Index] = true
			n++
		}
	}
	return n == u.count
}

// failure reports whether the current attempt has failed, why, and
// whether the failure is final (not to be retried): the job was stopped
// or purged by someone else (final), a batch job is dead without every
// allocation complete (and Nomad will not reschedule its latest failed
// allocation, judged at now), or a service allocation is unhealthy.
func (t *tracker) failure(u *unit, now time.Time) (reason string, failed, final bool) {
	j := u.job0
	switch {
	case j.Deleted:
		return "the job was purged from Nomad outside this run", true, true
	case j.Stop:
		return "the job was stopped outside this run", true, true
	}
	if u.service {
		for _, a := range u.allocs {
			if a.unhealthy() && a.DesiredStatus == api.AllocDesiredStatusRun {
				u.failedAlloc = a.ID
				return fmt.Sprintf("allocation %s is unhealthy", shortID(a.ID)), true, false
			}
		}
		return "", false, false
	}
	if j.Status != jobStatusDead || j.JobModifyIndex < u.since {
		return "", false, false
	}
	if a, ok := latestFailed(u.allocs); ok {
		if a.ID != u.noReschedule && a.nomadReschedules(j.Reschedule, now) {
			return "", false, false
		}
		u.failedAlloc = a.ID
		if a.ID == u.noReschedule {
			return fmt.Sprintf("allocation %s %s; not left to Nomad's reschedule, which would give it the same memory", shortID(a.ID), a.ClientStatus), true, false
		}
		return fmt.Sprintf("allocation %s %s and Nomad will not reschedule it", shortID(a.ID), a.ClientStatus), true, false
	}
	return "the job is dead but not every allocation completed", true, false
}

// awaitsReschedule returns the failed allocation of u's current attempt
// that Nomad is to reschedule, when failure waits for it (the batch job
// is dead, its latest failed allocation still has a reschedule) and the
// runner has not asked about it yet (oomChecked).
func (t *tracker) awaitsReschedule(u *unit, now time.Time) (string, bool) {
	j := u.job0
	if u.service || u.state == Pending || u.state.terminal() || j.Deleted || j.Stop ||
		j.Status != jobStatusDead || j.JobModifyIndex < u.since {
		return "", false
	}
	a, ok := latestFailed(u.allocs)
	if !ok || a.ID == u.oomChecked || !a.nomadReschedules(j.Reschedule, now) {
		return "", false
	}
	return a.ID, true
}

// latestFailed returns the failed allocation modified last.
func latestFailed(allocs map[string]allocInfo) (allocInfo, bool) {
	var best allocInfo
	found := false
	for _, a := range allocs {
		if a.failed() && (!found || a.ModifyIndex > best.ModifyIndex) {
			best, found = a, true
		}
	}
	return best, found
}

// piece is how one allocation index of a unit (a split job's piece, or
// the one shard of any other job) stands, judged from that index's own
// allocations: pieces of one job are placed, run and complete at
// different times.
type piece struct {
	state State
	// reason says why the piece waits or failed (the unit's reason, for
	// a piece it concerns); empty for one running, complete or stopped.
	reason string
	// alloc is the allocation that best shows how the piece runs (see
	// bestAlloc); placed says there is one.
	alloc  allocInfo
	placed bool
}

// piece returns how allocation index i of u stands:
//   - a pending or skipped unit's pieces are all pending or skipped;
//   - a piece with a complete (batch) or healthy (service) allocation is
//     complete, whatever became of the rest of its job;
//   - a piece of a submitted or running unit is running while its
//     allocation runs, else queued (Submitted): not placed yet, placed
//     and starting, or failed and waiting for Nomad's reschedule;
//   - a piece of a failed unit failed, unless the unit is split and the
//     piece's allocation neither failed nor was found unhealthy: that
//     piece is stopped with the job;
//   - a piece Nomad no longer knows (a collected job) is as the stored
//     progress recorded it (u.pieces), else as its unit.
func (u *unit) piece(i int) piece {
	p := piece{state: u.state}
	if u.state == Pending || u.state == Skipped {
		return p
	}
	p.alloc, p.placed = u.bestAlloc(i)
	a := p.alloc
	switch {
	case p.placed && ((!u.service && a.complete()) || (u.service && a.healthy())):
		p.state = Complete
	case !p.placed && i < len(u.pieces) && u.pieces[i].State != "" && u.state.terminal():
		if st, ok := parseState(u.pieces[i].State); ok {
			p.state = st
		}
	case u.state == Submitted || u.state == Running:
		p.state = Submitted
		if p.placed && a.running() {
			p.state = Running
		}
	case u.state == Failed && u.count > 1 && p.placed && !a.failed() && !a.unhealthy() && a.ID != u.failedAlloc:
		// A piece that was running when another piece failed did not
		// fail: the launcher stops it with the job.
		p.state = Stopped
	}
	if p.state == Submitted || p.state == Failed {
		p.reason = u.reason
	}
	if p.state == Submitted && p.reason == "" && p.placed {
		p.reason = a.restarting()
	}
	return p
}

// pieceStates returns the state of each of u's shards, in piece order
// (see piece).
func (u *unit) pieceStates() []State {
	out := make([]State, len(u.shards))
	for i := range u.shards {
		out[i] = u.piece(i).state
	}
	return out
}

// bestAlloc returns the allocation that best shows how piece i ran: a
// complete (or healthy) one, else a running one, else the one modified
// last.
func (u *unit) bestAlloc(i int) (allocInfo, bool) {
	var best allocInfo
	rank := -1
	for _, a := range u.allocs {
		if a.Index != i {
			continue
		}
		r := 0
		switch {
		case a.complete() || (u.service && a.healthy()):
			r = 3
		case a.running():
			r = 2
		case a.failed():
			r = 1
		}
		if r > rank || (r == rank && a.ModifyIndex > best.ModifyIndex) {
			best, rank = a, r
		}
	}
	return best, rank >= 0
}

// shortID returns the first 8 characters of a Nomad UUID, as the Nomad
// CLI shows them.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
