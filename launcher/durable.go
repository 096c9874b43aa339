package launcher

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/sdk"
)

// Durable asks Run to keep the run's state in Nomad (package runstate),
// so that the run can be resumed (Resume) by any launcher that reaches
// Nomad after this one dies.
type Durable struct {
	// Inputs are what the plan was made from, stored with it.
	Inputs runstate.Inputs
	// Lease identifies this launcher to others; a zero Lease means
	// runstate.NewLease("").
	Lease runstate.Lease
	// TTL is the lease period; zero means runstate.DefaultTTL. The
	// launcher renews its lease every third of it.
	TTL time.Duration
}

func (d *Durable) lease() runstate.Lease {
	if d.Lease.ID == "" {
		return runstate.NewLease(d.Lease.Name)
	}
	return d.Lease
}

// specOptions are the options of o that a resumed run keeps.
func specOptions(o Options) runstate.Options {
	return runstate.Options{Retries: o.Retries, FailFast: o.FailFast, NoLocality: o.NoLocality,
		PlacementTimeout: o.PlacementTimeout, NoReplan: o.Replanner == nil, RegisterConcurrency: o.RegisterConcurrency}
}

// create stores the new run's state in namespace ns, held by this
// launcher.
func (d *Durable) create(ctx context.Context, c *api.Client, ns string, p *plan.Plan, jobs []*api.Job, o Options) (*runstate.Held, error) {
	s := &runstate.Store{Client: c, Namespace: ns, TTL: d.TTL}
	spec := &runstate.Spec{Plan: p, Jobs: jobs, Options: specOptions(o), Inputs: d.Inputs}
	held, err := s.Create(ctx, spec, d.lease())
	if err != nil {
		return nil, stateError(c, p.Run, err)
	}
	return held, nil
}

// CheckNewRun returns the error Run with Durable gives for a run ID already
// stored in the namespace of jobs (see Run), and nil for a new one, so
// that a command refuses the ID before it prints or writes anything. It
// names the address when Nomad cannot be asked. It also refuses a
// namespace Nomad does not have (the jobs', else l.Namespace): Nomad
// validates such jobs and stores variables there, and refuses only the
// registration, so the run would be stored and then fail.
func (l *Launcher) CheckNewRun(ctx context.Context, run string, jobs []*api.Job) error {
	if err := checkNamespace(ctx, l.Client, cmp.Or(namespaceOf(jobs), l.Namespace)); err != nil {
		return err
	}
	s := &runstate.Store{Client: l.Client, Namespace: namespaceOf(jobs)}
	if err := s.CheckNew(ctx, run); err != nil {
		return stateError(l.Client, run, err)
	}
	return nil
}

// checkNamespace fails when Nomad answers that namespace ns does not
// exist. "" (the client's), "default" and "*" are not asked; an answer
// other than 404 (a token that may not read namespaces) passes, and the
// run's own requests report it.
func checkNamespace(ctx context.Context, c *api.Client, ns string) error {
	if ns == "" || ns == api.DefaultNamespace || ns == api.AllNamespacesNamespace {
		return nil
	}
	_, _, err := c.Namespaces().Info(ns, (&api.QueryOptions{}).WithContext(ctx))
	if IsNotFound(err) {
		return fmt.Errorf("namespace %q does not exist on the Nomad agent at %s (the graph's namespace, else -namespace or NOMAD_NAMESPACE); nothing was submitted", ns, c.Address())
	}
	return nil
}

// stateError explains an error of the run state store: a run already
// stored, or a Nomad API error in words (see ConnectError).
func stateError(c *api.Client, run string, err error) error {
	var he *runstate.HeldError
	switch {
	case errors.Is(err, runstate.ErrExists):
		return fmt.Errorf("run %s is already stored in Nomad: continue it with 'shardwise run -resume %s', or remove it with 'shardwise stop -purge %s'", run, run, run)
	case errors.As(err, &he), errors.Is(err, runstate.ErrEnded), errors.Is(err, runstate.ErrNotFound),
		errors.Is(err, runstate.ErrCorrupt), errors.Is(err, runstate.ErrIncompatible):
		return err
	}
	return fmt.Errorf("run state of %s: %w", run, ConnectError(c, err))
}

// Resume continues run from its state in Nomad, from any machine that
// reaches Nomad: it takes the run's lease, rebuilds every shard's state
// from Nomad (the jobs whose shardwise_run meta is run, their
// allocations, and the stored progress), and goes on as Run does. A shard
// that completed is never registered again; one that runs is followed;
// one that failed is retried or fails the run as Run's rules say; the
// rest are submitted in dependency order. The stored options (retries,
// fail-fast, locality, placement timeout) replace those of opts; the
// stored register concurrency applies unless opts sets one.
//
// It returns a *runstate.HeldError naming the holder when another live
// launcher drives the run, and an error wrapping runstate.ErrNotFound,
// ErrEnded, ErrCorrupt or ErrIncompatible for a run that cannot be
// resumed; in those cases nothing in Nomad has changed.
func (l *Launcher) Resume(ctx context.Context, run string, opts Options) (*Report, error) {
	if l.Client == nil {
		return nil, errors.New("launcher: a client is required")
	}
	o := opts.withDefaults()
	d := o.Durable
	if d == nil {
		d = &Durable{}
	}
	if _, err := CurrentIndex(ctx, l.Client, "", o.ConnectTimeout); err != nil {
		return nil, err
	}
	store := &runstate.Store{Client: l.Client, Namespace: l.Namespace, TTL: d.TTL}
	held, spec, err := store.Acquire(ctx, run, d.lease())
	if err != nil {
		return nil, stateError(l.Client, run, err)
	}
	o.Retries, o.FailFast, o.NoLocality = spec.Options.Retries, spec.Options.FailFast, spec.Options.NoLocality
	o.PlacementTimeout = spec.Options.PlacementTimeout
	if opts.RegisterConcurrency <= 0 && spec.Options.RegisterConcurrency > 0 {
		o.RegisterConcurrency = spec.Options.RegisterConcurrency
	}
	if spec.Options.NoReplan {
		o.Replanner = nil
	}
	release := func(err error) (*Report, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.StopTimeout)
		defer cancel()
		_ = held.Release(rctx, held.Head().Progress)
		return nil, err
	}
	t, err := newTracker(spec.Plan, spec.Jobs, o.Retries)
	if err != nil {
		return release(fmt.Errorf("launcher: stored state of run %s: %w", run, err))
	}
	ns := namespaceOf(spec.Jobs)
	start, err := CurrentIndex(ctx, l.Client, ns, o.ConnectTimeout)
	if err != nil {
		return release(err)
	}
	r := newRunner(l.Client, spec.Plan, t, o, ns)
	r.held, r.resumed = held, true
	r.start = held.Head().Created
	if err := r.restore(ctx, held.Head().Progress); err != nil {
		return release(err)
	}
	return r.run(ctx, start)
}

// restore sets every unit's state from the stored progress p and from
// Nomad: a job Nomad has is followed from its latest registration (its
// shardwise_attempt meta and job modify index), whatever p says, since
// the launcher may have died between registering a job and recording it;
// a job Nomad no longer has is complete when p says so (Nomad collected
// it) and failed when p says it was registered; any other is pending.
func (r *runner) restore(ctx context.Context, p *runstate.Progress) error {
	r.replans, r.resizes, r.reruns = p.Replans, p.Resizes, p.Reruns
	stubs, err := Find(ctx, r.c, r.plan.Run, r.ns)
	if err != nil {
		return err
	}
	inNomad := map[string]bool{}
	for _, s := range stubs {
		inNomad[s.ID] = true
	}
	q := (&api.QueryOptions{Namespace: r.ns}).WithContext(ctx)
	for _, u := range r.t.units {
		rec := p.Units[u.id]
		if rec != nil {
			u.restoreRecord(rec)
		}
		switch {
		case inNomad[u.id]:
			j, _, err := r.c.Jobs().Info(u.id, q)
			if err != nil {
				return fmt.Errorf("read job %s: %w", u.id, ConnectError(r.c, err))
			}
			if heldBefore(rec, j) {
				// Held (a consumer) or to run again (a producer) when the
				// launcher died, and not registered since: still so.
				u.state = Pending
				break
			}
			u.adopt(j)
		case rec != nil && rec.State == Complete.String():
			u.state = Complete
		case rec != nil && rec.Attempts > 0:
			u.state, u.reason = Failed, "registered by an earlier launcher, but Nomad no longer has the job (purged or collected before its end was recorded)"
		default:
			u.state, u.attempt = Pending, 0
		}
		r.log.Debug("restored", "job", u.id, "state", u.state, "attempt", u.attempt)
	}
	return nil
}

// heldBefore reports whether the stored record says a registered job
// was set pending again (lostUpstream) and Nomad's job j is still the
// registration it recorded, not a later one.
func heldBefore(rec *runstate.Unit, j *api.Job) bool {
	if rec == nil || rec.State != Pending.String() || rec.Attempts == 0 {
		return false
	}
	n, err := strconv.Atoi(j.Meta[sdk.MetaAttempt])
	if err != nil {
		n = 1
	}
	return n <= rec.Attempts
}

// restoreRecord applies what the stored progress says of u beyond what
// Nomad knows: a move, a raised memory, when it ran and how.
func (u *unit) restoreRecord(rec *runstate.Unit) {
	if rec.Job != nil && rec.Job.ID != nil && *rec.Job.ID == u.id && sameShards(u.shards, rec.Shards) {
		u.job, u.shards, u.note = rec.Job, rec.Shards, rec.Note
	}
	u.memoryMiB = rec.MemoryMiB
	u.attempt = rec.Attempts
	u.reruns, u.holds, u.free = rec.Reruns, rec.Holds, rec.Free
	u.submitted, u.finished = rec.Submitted, rec.Finished
	u.pieces = rec.Pieces
	if len(rec.Pieces) == 1 {
		u.taskSeconds = rec.Pieces[0].TaskSeconds
	}
}

// adopt follows u's job j as Nomad has it: its latest registration.
func (u *unit) adopt(j *api.Job) {
	u.state = Submitted
	u.attempt = 1
	if n, err := strconv.Atoi(j.Meta[sdk.MetaAttempt]); err == nil && n > 1 {
		u.attempt = n
	}
	if j.JobModifyIndex != nil {
		u.since = *j.JobModifyIndex
	}
	if m := taskMemory(j, 0); m > taskMemory(u.job, 0) && m > u.memoryMiB {
		u.memoryMiB = m
	}
	if u.submitted.IsZero() {
		u.submitted = time.Now()
	}
}

// progress is the run's progress as the stored state records it.
func (r *runner) progress(ctx context.Context) *runstate.Progress {
	p := &runstate.Progress{Units: map[string]*runstate.Unit{}, Replans: r.replans, Resizes: r.resizes, Reruns: r.reruns, Stopped: r.stopped}
	for _, u := range r.t.units {
		if u.attempt == 0 && u.note == "" && u.state != Complete {
			continue
		}
		rec := &runstate.Unit{Attempts: u.attempt, State: u.state.String(), Since: u.since, MemoryMiB: u.memoryMiB,
			Note: u.note, Submitted: u.submitted, Finished: u.finished, Reruns: u.reruns, Holds: u.holds, Free: u.free}
		if u.note != "" {
			rec.Job, rec.Shards = u.job, u.shards
		}
		if u.state.terminal() {
			rec.Pieces = r.pieces(ctx, u)
		}
		for _, st := range u.pieceStates() {
			if st == Complete {
				p.DoneShards++
			}
		}
		p.Units[u.id] = rec
	}
	return p
}

// pieces returns how each of u's allocation indexes ran (its own state,
// allocation and run time), computed once u has ended and kept.
func (r *runner) pieces(ctx context.Context, u *unit) []runstate.Piece {
	if len(u.pieces) == len(u.shards) {
		return u.pieces
	}
	out := make([]runstate.Piece, len(u.shards))
	for i := range u.shards {
		p := u.piece(i)
		out[i].State = p.state.String()
		if a := p.alloc; p.placed {
			class, _, _ := r.nodes.lookup(ctx, a.NodeID)
			out[i].Alloc, out[i].NodeID, out[i].Node, out[i].NodeClass = a.ID, a.NodeID, a.NodeName, class
			out[i].Actual = actual(a, u.finished)
		}
	}
	if len(out) == 1 {
		out[0].TaskSeconds = u.taskSeconds
	}
	u.pieces = out
	return out
}

// persist writes the run's progress when it changed since the last write,
// or always with renew (which also renews the lease). It returns the
// store's error when this launcher lost the run (*runstate.HeldError, or
// ErrEnded when it was stopped); other write errors are logged, and the
// run goes on, since Nomad keeps the truth about submitted jobs.
func (r *runner) persist(ctx context.Context, renew bool) error {
	if r.held == nil {
		return nil
	}
	p := r.progress(ctx)
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode progress: %w", err)
	}
	if !renew && string(b) == r.saved {
		return nil
	}
	if err := r.held.Save(ctx, p); err != nil {
		if lost(err) {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		r.log.Warn("could not write the run's progress into Nomad; will try again", "error", err)
		return nil
	}
	r.saved = string(b)
	return nil
}

// lost reports whether err says this launcher no longer holds the run.
func lost(err error) bool {
	var he *runstate.HeldError
	return errors.As(err, &he) || errors.Is(err, runstate.ErrEnded)
}

// endedElsewhere returns an error wrapping runstate.ErrEnded, and marks u
// stopped, when u's job was stopped or purged outside this launcher
// because the run itself was ended elsewhere ('shardwise stop RUN' marks
// the stored run stopped, then stops its jobs). The job's stop event
// reaches the launcher before its next write of the run's state would
// learn of it; without this the launcher reported the shard failed, "the
// job was stopped outside this run". A run whose stored state is gone
// was purged ('shardwise stop -purge' removes the state before the jobs):
// runstate.RemovedError. Nil otherwise (a run not stored, the state
// unreadable, or the run still running: a job stopped or purged by hand
// is a final failure as before).
func (r *runner) endedElsewhere(ctx context.Context, u *unit) error {
	if r.held == nil || !(u.job0.Stop || u.job0.Deleted) {
		return nil
	}
	h, err := r.held.Store().Load(ctx, r.plan.Run)
	switch {
	case errors.Is(err, runstate.ErrNotFound):
		u.state, u.reason = Stopped, "its run's stored state was removed"
		return runstate.RemovedError(r.plan.Run)
	case err != nil || !h.Status.Ended():
		return nil
	}
	u.state, u.reason = Stopped, h.Outcome()
	return fmt.Errorf("run %s: %w (%s)", r.plan.Run, runstate.ErrEnded, h.Outcome())
}

// finish records how the run ended, unless this launcher lost it.
func (r *runner) finish(ctx context.Context, err error) {
	if r.held == nil || lost(err) {
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.o.StopTimeout)
	defer cancel()
	if errors.Is(err, ErrStopped) && r.handOver() {
		if rerr := r.held.Release(fctx, r.progress(fctx)); rerr != nil {
			r.log.Warn("could not give the run's lease up", "error", rerr)
		}
		return
	}
	status, reason := runstate.Complete, ""
	switch {
	case err == nil:
	case errors.Is(err, ErrStopped):
		status, reason = runstate.Stopped, "interrupted"
	default:
		status, reason = runstate.Failed, err.Error()
	}
	if ferr := r.held.Finish(fctx, status, reason, r.progress(fctx)); ferr != nil {
		r.log.Warn("could not record the end of the run in Nomad", "error", ferr)
	}
}

// renewEvery is how often the loop renews the lease; nil without state.
func (r *runner) renewEvery() <-chan time.Time {
	if r.held == nil {
		return nil
	}
	tk := time.NewTicker(r.held.Store().Period() / 3)
	r.renewTicker = tk
	return tk.C
}

// handOver reports whether a cancelled run is left to the next launcher.
func (r *runner) handOver() bool { return r.held != nil && r.o.HandOver }
