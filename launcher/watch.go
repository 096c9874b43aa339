package launcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/sdk"
)

// eventJobRegistered is the Job topic's event type of a registration.
const eventJobRegistered = "JobRegistered"

// DefaultWatchPoll is how often Watch reads the run's stored state to
// learn that the run has ended.
const DefaultWatchPoll = 2 * time.Second

// watching is the state of a runner that follows a run another launcher
// drives (Watch).
type watching struct {
	store *runstate.Store
	head  *runstate.Head
	poll  time.Duration
}

// Watch follows run, whose state is stored in Nomad, without driving it:
// it rebuilds every shard's state as Resume does (the stored plan and
// progress, the run's jobs and allocations in Nomad), then follows
// Nomad's event stream, reporting each change to opts.Progress, until
// every shard has ended, the stored state says the run has ended (read
// every DefaultWatchPoll), or ctx ends (an error wrapping ErrStopped). It
// registers, stops and writes nothing: the launcher that drives the run
// (or none, for an orphaned run) is left alone; a job it registers, or
// registers again, is followed from that registration.
//
// It returns the report of the run as seen, and an error wrapping
// runstate.ErrNotFound for a run not stored, or naming the address when
// Nomad cannot be asked.
func (l *Launcher) Watch(ctx context.Context, run string, opts Options) (*Report, error) {
	if l.Client == nil {
		return nil, errors.New("launcher: a client is required")
	}
	o := opts.withDefaults()
	if _, err := CurrentIndex(ctx, l.Client, "", o.ConnectTimeout); err != nil {
		return nil, err
	}
	store := &runstate.Store{Client: l.Client, Namespace: l.Namespace}
	h, err := store.Load(ctx, run)
	if err != nil {
		return nil, stateError(l.Client, run, err)
	}
	spec, err := store.Spec(ctx, h)
	if err != nil {
		return nil, stateError(l.Client, run, err)
	}
	t, err := newTracker(spec.Plan, spec.Jobs, spec.Options.Retries)
	if err != nil {
		return nil, fmt.Errorf("launcher: stored state of run %s: %w", run, err)
	}
	ns := namespaceOf(spec.Jobs)
	start, err := CurrentIndex(ctx, l.Client, ns, o.ConnectTimeout)
	if err != nil {
		return nil, err
	}
	r := newRunner(l.Client, spec.Plan, t, o, ns)
	r.watch = &watching{store: store, head: h, poll: DefaultWatchPoll}
	r.start = h.Created
	if err := r.restore(ctx, h.Progress); err != nil {
		return nil, err
	}
	return r.run(ctx, start)
}

// WatchPlan returns the stored plan of run in namespace ns ("" for the
// client's), as Watch follows it.
func WatchPlan(ctx context.Context, c *api.Client, run, ns string) (*plan.Plan, *runstate.Head, error) {
	store := &runstate.Store{Client: c, Namespace: ns}
	h, err := store.Load(ctx, run)
	if err != nil {
		return nil, nil, stateError(c, run, err)
	}
	spec, err := store.Spec(ctx, h)
	if err != nil {
		return nil, nil, stateError(c, run, err)
	}
	return spec.Plan, h, nil
}

// watchLoop is the event loop of a watching runner: apply events until
// every unit has ended or the stored run has.
func (r *runner) watchLoop(ctx context.Context, msgs <-chan streamMsg) error {
	if err := r.handle(ctx, streamMsg{connected: true}); err != nil {
		return err
	}
	if r.watch.head.Status.Ended() {
		r.endWatch()
		return nil
	}
	tk := time.NewTicker(r.watch.poll)
	defer tk.Stop()
	for !r.watchDone() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrStopped, ctx.Err())
		case m := <-msgs:
			if err := r.handle(ctx, m); err != nil {
				return err
			}
		case <-tk.C:
			h, err := r.watch.store.Load(ctx, r.plan.Run)
			if err != nil {
				if ctx.Err() == nil {
					r.log.Warn("could not read the run's stored state; will try again", "error", err)
				}
				continue
			}
			r.watch.head = h
			if h.Status.Ended() {
				// Read the last word from Nomad before calling it a day.
				if err := r.handle(ctx, streamMsg{connected: true}); err != nil {
					return err
				}
				r.endWatch()
				return nil
			}
		}
	}
	return nil
}

// watchDone reports whether every unit has ended.
func (r *runner) watchDone() bool {
	for _, u := range r.t.units {
		if !u.state.terminal() {
			return false
		}
	}
	return true
}

// endWatch settles the units of a run that has ended: those never
// submitted were skipped, those whose job was stopped were stopped.
func (r *runner) endWatch() {
	for _, u := range r.t.units {
		switch {
		case u.state == Pending:
			u.state = Skipped
		case !u.state.terminal() && (u.job0.Stop || u.job0.Deleted || slices.Contains(r.watch.head.Progress.Stopped, u.id)):
			u.state = Stopped
		}
	}
	r.notify()
}

// watchSettle moves u to the state Nomad shows without acting on it: a
// failed attempt the driving launcher will retry keeps u waiting for the
// next registration, and a job stopped outside the driving launcher's
// retries is stopped, not failed.
func (r *runner) watchSettle(ctx context.Context, u *unit) error {
	if r.t.doubtful(u) {
		if err := r.refresh(ctx, u, map[*unit]bool{}); err != nil {
			return err
		}
	}
	if _, _, ok := r.t.lostUpstream(u); ok {
		// The driving launcher, judging the same events, holds the
		// consumer and runs its producers again: watchRegistration
		// follows their next registrations.
		return nil
	}
	r.t.settle(u, time.Now())
	if u.state == Failed && (u.job0.Stop || u.job0.Deleted) {
		u.state = Stopped
	}
	return nil
}

// watchRegistration follows a registration of one of the run's jobs by
// the driving launcher: a first submission, a retry (a higher
// shardwise_attempt meta), or a re-planned job (another shardwise_class).
func (r *runner) watchRegistration(j *api.Job) {
	if j == nil || j.ID == nil || j.JobModifyIndex == nil || (j.Stop != nil && *j.Stop) {
		return
	}
	u := r.t.byJob[*j.ID]
	if u == nil {
		return
	}
	attempt := 1
	if n, err := strconv.Atoi(j.Meta[sdk.MetaAttempt]); err == nil && n > 1 {
		attempt = n
	}
	if u.state != Pending && (attempt <= u.attempt || *j.JobModifyIndex <= u.since) {
		return
	}
	r.t.registered(u, *j.JobModifyIndex, time.Now())
	u.attempt = attempt
	if class := j.Meta[metaClass]; class != "" && len(u.shards) > 0 && class != u.shards[0].Class {
		moved := make([]*plan.Shard, len(u.shards))
		for i, s := range u.shards {
			c := *s
			c.Class = class
			moved[i] = &c
		}
		u.note = fmt.Sprintf("re-planned from %s to %s", u.shards[0].Class, class)
		u.shards = moved
		for _, s := range moved {
			r.t.byID[s.ID] = u
		}
	}
}

// watchNew follows the jobs of the run that the driving launcher
// registered while the stream was down (or before Watch started).
func (r *runner) watchNew(ctx context.Context) error {
	pending := false
	for _, u := range r.t.units {
		pending = pending || u.state == Pending
	}
	if !pending {
		return nil
	}
	stubs, err := Find(ctx, r.c, r.plan.Run, r.ns)
	if err != nil {
		return err
	}
	q := (&api.QueryOptions{Namespace: r.ns}).WithContext(ctx)
	for _, s := range stubs {
		u := r.t.byJob[s.ID]
		if u == nil || u.state != Pending {
			continue
		}
		j, _, err := r.c.Jobs().Info(s.ID, q)
		if err != nil {
			return fmt.Errorf("read job %s: %w", s.ID, ConnectError(r.c, err))
		}
		r.watchRegistration(j)
	}
	return nil
}
