package launcher

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/sdk"
)

// Job event types of Nomad's event stream that end a job.
const (
	eventJobDeregistered      = "JobDeregistered"
	eventJobBatchDeregistered = "JobBatchDeregistered"
)

// Defaults for zero Options fields.
const (
	DefaultStderrBytes   = 4096
	DefaultStreamTimeout = time.Minute
	DefaultStopTimeout   = 30 * time.Second
	// DefaultConnectTimeout bounds the first request of a run.
	DefaultConnectTimeout = 15 * time.Second
)

// Launcher runs shard plans on the Nomad cluster its client talks to.
type Launcher struct {
	// Client is the Nomad API client; its namespace and region apply to
	// jobs that name none.
	Client *api.Client
	// Namespace is where Resume and Watch read the run's stored state
	// (-namespace, else NOMAD_NAMESPACE); "" is the client's, and errors
	// then name it "default".
	Namespace string
}

// Options tune a run. The zero value is usable.
type Options struct {
	// Retries is how many more times the launcher registers a job after
	// Nomad has given up on it (its restart and reschedule policies are
	// spent). Zero means none.
	Retries int
	// Progress shows the run; nil shows nothing.
	Progress Progress
	// Metrics, when set, receives the run's Prometheus metrics (shards by
	// state, submission latency, re-plans, retries).
	Metrics *Metrics
	// StderrBytes is how much of a failed task's stderr to read, in
	// bytes; zero means 4096.
	StderrBytes int64
	// StreamTimeout is how long the event stream may stay broken before
	// the run fails; zero means one minute.
	StreamTimeout time.Duration
	// StopTimeout bounds the stopping of the run's jobs after a failure
	// or cancellation; zero means 30 seconds.
	StopTimeout time.Duration
	// ConnectTimeout bounds the run's first request, which checks that
	// Nomad answers; zero means 15 seconds.
	ConnectTimeout time.Duration
	// FailFast turns off Nomad's restarts and reschedules in the
	// submitted jobs, so that a failed task fails its attempt at once;
	// the launcher's Retries still apply. Meant for development and tests.
	FailFast bool
	// NoLocality leaves out the node affinities that keep channel data
	// local.
	NoLocality bool
	// Replanner, when set, is asked before every submission wave whether
	// the shards about to be submitted should move (see Replanner).
	Replanner Replanner
	// OOMRetry, when set, sizes a retry after an OOM kill: the job is
	// registered again asking for the memory it returns.
	OOMRetry OOMRetryFunc
	// PlacementTimeout, when positive, fails a shard whose allocations
	// Nomad has not been able to place for this long (counted from the
	// first placement failure of the attempt), with the latest placement
	// failure as the reason. Zero waits, as Nomad's blocked evaluations
	// do, until capacity frees up. A job Nomad can never place on the
	// cluster's nodes fails at once either way.
	PlacementTimeout time.Duration
	// Logger receives the launcher's decisions (moves, memory raises) and
	// warnings; nil logs nothing.
	Logger hclog.Logger
	// Durable, when set, keeps the run's state in Nomad Variables as it
	// goes (see Durable and Resume). Run then refuses a run ID already
	// stored.
	Durable *Durable
	// RegisterConcurrency is how many job registrations the launcher has
	// in flight at once, across waves of ready shards (and how many jobs
	// it validates at once before the run); zero means
	// DefaultRegisterConcurrency. Keep it below the HTTP client's
	// connections per agent (MaxAgentConns for the CLI's client).
	RegisterConcurrency int
	// HandOver, with Durable, makes a cancelled run leave its jobs as
	// they are and give its lease up, so that the next launcher (a
	// launcher job's next allocation) resumes it at once, instead of
	// stopping the jobs.
	HandOver bool
}

func (o Options) withDefaults() Options {
	if o.Progress == nil {
		o.Progress = Discard
	}
	if o.StderrBytes <= 0 {
		o.StderrBytes = DefaultStderrBytes
	}
	if o.StreamTimeout <= 0 {
		o.StreamTimeout = DefaultStreamTimeout
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = DefaultStopTimeout
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.RegisterConcurrency <= 0 {
		o.RegisterConcurrency = DefaultRegisterConcurrency
	}
	return o
}

// Run submits jobs, the Nomad jobs of plan p (nomadjob.Jobs), in
// dependency order and follows them until every shard is complete, one
// has failed for good, or ctx is cancelled. It does not modify p or jobs.
//
// It returns the report and nil when every shard completed. On a final
// failure it stops the run's remaining jobs and returns the report (with
// Failure set) and a *FailedError. When ctx is cancelled it stops the
// run's jobs and returns the report and an error wrapping ErrStopped and
// ctx's error. It returns a nil report and an error for jobs that do not
// match p, and an error naming the address for a Nomad agent that cannot
// be reached or refuses the request.
func (l *Launcher) Run(ctx context.Context, p *plan.Plan, jobs []*api.Job, opts Options) (*Report, error) {
	if l.Client == nil || p == nil {
		return nil, errors.New("launcher: a client and a plan are required")
	}
	o := opts.withDefaults()
	t, err := newTracker(p, jobs, o.Retries)
	if err != nil {
		return nil, fmt.Errorf("launcher: %w", err)
	}
	ns := namespaceOf(jobs)
	start, err := CurrentIndex(ctx, l.Client, ns, o.ConnectTimeout)
	if err != nil {
		return nil, err
	}
	if err := validate(ctx, l.Client, jobs, ns, o.RegisterConcurrency); err != nil {
		return nil, err
	}
	if err := checkNodes(ctx, l.Client, jobs); err != nil {
		return nil, err
	}
	r := newRunner(l.Client, p, t, o, ns)
	if o.Durable != nil {
		if r.held, err = o.Durable.create(ctx, l.Client, ns, p, jobs, o); err != nil {
			return nil, err
		}
	}
	return r.run(ctx, start)
}

func newRunner(c *api.Client, p *plan.Plan, t *tracker, o Options, ns string) *runner {
	return &runner{
		c: c, plan: p, t: t, o: o, ns: ns, start: time.Now(),
		nodes: newNodeCache(c), prev: map[string]State{}, prevReason: map[string]string{}, prevAlloc: map[string]string{},
		log: o.Logger,
	}
}

// CurrentIndex checks that the Nomad agent of c answers within timeout
// (zero: no bound beyond ctx) and returns its current index of the jobs
// table in namespace ns ("" for the client's). Its error names the address
// and what failed (see ConnectError).
func CurrentIndex(ctx context.Context, c *api.Client, ns string, timeout time.Duration) (uint64, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	q := (&api.QueryOptions{Namespace: ns, Filter: `ID == ""`}).WithContext(ctx)
	_, meta, err := c.Jobs().List(q)
	if err != nil {
		return 0, ConnectError(c, err)
	}
	return meta.LastIndex, nil
}

// validate asks Nomad to validate every job before any is submitted, so
// that a job Nomad would refuse fails the run before anything ran, limit
// requests at a time. It returns an error naming the (first such) job and
// Nomad's complaints.
func validate(ctx context.Context, c *api.Client, jobs []*api.Job, ns string, limit int) error {
	errs := concurrently(len(jobs), limit, func(i int) error {
		j := jobs[i]
		resp, _, err := c.Jobs().Validate(j, (&api.WriteOptions{Namespace: ns}).WithContext(ctx))
		if err != nil {
			return fmt.Errorf("validate job %s: %w", *j.ID, ConnectError(c, err))
		}
		if len(resp.ValidationErrors) > 0 {
			return fmt.Errorf("Nomad refuses job %s: %s", *j.ID, strings.Join(resp.ValidationErrors, "; "))
		}
		if resp.Error != "" {
			return fmt.Errorf("Nomad refuses job %s: %s", *j.ID, resp.Error)
		}
		return nil
	})
	return firstError(errs)
}

// namespaceOf returns the namespace of the first job that names one, else
// "" (the client's namespace).
func namespaceOf(jobs []*api.Job) string {
	for _, j := range jobs {
		if j.Namespace != nil && *j.Namespace != "" {
			return *j.Namespace
		}
	}
	return ""
}

// runner is one run's loop state; all of it is touched by one goroutine.
type runner struct {
	c     *api.Client
	plan  *plan.Plan
	t     *tracker
	o     Options
	ns    string
	start time.Time
	nodes *nodeCache
	// prev is each shard's last reported state.
	prev       map[string]State
	prevReason map[string]string
	prevAlloc  map[string]string
	failure    *Failure
	stopped    []string
	log        hclog.Logger
	replans    []Replan
	resizes    []Resize
	reruns     []Rerun
	// held is the run's stored state when it is durable; resumed is set
	// when Resume rebuilt the units from Nomad; saved is the progress
	// last written, JSON.
	held    *runstate.Held
	resumed bool
	saved   string
	sv      *saver
	// reg is the registrations queued and in flight; register, when
	// set, replaces registerJob (tests).
	reg         registrar
	register    func(*api.Job, *api.WriteOptions) (uint64, error)
	renewTicker *time.Ticker
	// watch is set for a runner that follows a run without driving it
	// (Watch).
	watch *watching
}

// run is the event loop: submit what is ready, then apply events until
// the run ends.
func (r *runner) run(ctx context.Context, from uint64) (*Report, error) {
	sctx, cancel := context.WithCancel(ctx)
	msgs := make(chan streamMsg)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		newFollower(r.c, r.ns, r.jobIDs(), r.o.StreamTimeout).run(sctx, from+1, msgs)
	}()
	defer func() { cancel(); wg.Wait() }()

	snap := r.snapshot()
	r.o.Progress.Start(snap)
	r.o.Metrics.states(snap)
	loop := r.loop
	if r.watch != nil {
		loop = r.watchLoop
	}
	err := loop(ctx, msgs)
	if werr := r.waitSave(ctx); err == nil && werr != nil {
		err = fmt.Errorf("this launcher lost run %s: %w", r.plan.Run, werr)
	}
	snap = r.snapshot()
	r.o.Progress.Finish(snap)
	r.o.Metrics.states(snap)
	r.finish(ctx, err)
	return r.report(), err
}

// loop submits ready groups and handles stream messages until every unit
// is complete, one has failed for good, or ctx ends.
func (r *runner) loop(ctx context.Context, msgs <-chan streamMsg) error {
	first := r.submitReady
	if r.resumed {
		// Judge the adopted jobs from Nomad before submitting anything.
		first = func(ctx context.Context) error { return r.handle(ctx, streamMsg{connected: true}) }
	}
	if err := first(ctx); err != nil {
		return r.abort(ctx, err)
	}
	renew := r.renewEvery()
	if r.renewTicker != nil {
		defer r.renewTicker.Stop()
	}
	if err := r.persist(ctx, true); err != nil {
		return r.abort(ctx, err)
	}
	if r.held != nil && r.sv == nil {
		// From here on the progress is written off the loop (saver).
		r.sv = newSaver(r.held.Save)
	}
	var tick <-chan time.Time
	if r.o.PlacementTimeout > 0 {
		tk := time.NewTicker(min(time.Second, r.o.PlacementTimeout))
		defer tk.Stop()
		tick = tk.C
	}
	for !r.allComplete() {
		select {
		case <-ctx.Done():
			return r.abort(ctx, ctx.Err())
		case now := <-tick:
			for _, u := range r.t.placementTimeouts(now, r.o.PlacementTimeout) {
				if err := r.settle(ctx, u); err != nil {
					return r.abort(ctx, err)
				}
			}
		case m := <-msgs:
			if err := r.handle(ctx, m); err != nil {
				return r.abort(ctx, err)
			}
		case <-renew:
			if err := r.persistLater(ctx, true); err != nil {
				return r.abort(ctx, err)
			}
			continue
		case res := <-r.registrations():
			if err := r.registered(ctx, res); err != nil {
				return r.abort(ctx, err)
			}
		case err := <-r.saveResults():
			if err := r.savedResult(ctx, err); err != nil {
				return r.abort(ctx, err)
			}
			continue
		case <-r.saveTimer():
			if err := r.saveDue(ctx); err != nil {
				return r.abort(ctx, err)
			}
			continue
		}
		if err := r.persistLater(ctx, false); err != nil {
			return r.abort(ctx, err)
		}
	}
	return nil
}

// abort ends the run after err: it stops the run's jobs and returns err,
// or, when ctx was cancelled, an error wrapping ErrStopped and ctx's
// error.
func (r *runner) abort(ctx context.Context, err error) error {
	r.drainRegistrations()
	var he *runstate.HeldError
	if errors.As(err, &he) {
		// Another launcher drives the run now: leave its jobs alone.
		r.notify()
		return fmt.Errorf("this launcher lost run %s: %w", r.plan.Run, err)
	}
	if ctx.Err() != nil && r.handOver() {
		r.notify()
		return fmt.Errorf("%w: %w (the run is left to the next launcher)", ErrStopped, ctx.Err())
	}
	r.stopAll()
	r.notify()
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ErrStopped, ctx.Err())
	}
	return err
}

// handle applies one stream message, settles the units it touched and
// submits what became ready.
func (r *runner) handle(ctx context.Context, m streamMsg) error {
	if m.err != nil {
		return m.err
	}
	touched := map[*unit]bool{}
	if m.connected && r.watch != nil {
		if err := r.watchNew(ctx); err != nil {
			return err
		}
	}
	if m.connected {
		if err := r.reconcile(ctx, touched); err != nil {
			return err
		}
	}
	for i := range m.events {
		if u := r.apply(ctx, &m.events[i]); u != nil {
			touched[u] = true
		}
	}
	for _, u := range r.t.units {
		if !touched[u] {
			continue
		}
		if err := r.settle(ctx, u); err != nil {
			return err
		}
	}
	r.notify()
	if r.watch != nil {
		return nil
	}
	return r.submitReady(ctx)
}

// noticePurge records u's job as purged when Nomad no longer has it.
// Nomad (v1.6.1, nomad/state/events.go) publishes no event when a job is
// purged (`nomad job stop -purge`, 'shardwise stop -purge'): the only
// sign on the stream is its allocations being stopped, so each stopped
// allocation of a unit's current attempt costs one read of the job.
// Without it the launcher waited for ever for a job that was gone.
func (r *runner) noticePurge(ctx context.Context, u *unit) {
	if u.state.terminal() || u.job0.Deleted {
		return
	}
	_, _, err := r.c.Jobs().Info(u.id, (&api.QueryOptions{Namespace: r.ns}).WithContext(ctx))
	if IsNotFound(err) {
		r.t.observeJob(u.id, jobInfo{Deleted: true})
	}
}

// apply records one event and returns the unit it concerns, or nil.
func (r *runner) apply(ctx context.Context, e *api.Event) *unit {
	switch e.Topic {
	case api.TopicAllocation:
		a, err := e.Allocation()
		if err != nil || a == nil || r.deferEvent(a.JobID, e) {
			return nil
		}
		u := r.t.observeAlloc(a.JobID, fromAlloc(a))
		if u != nil {
			r.o.Metrics.placed(u.id, time.Now())
			if a.DesiredStatus == api.AllocDesiredStatusStop || a.DesiredStatus == api.AllocDesiredStatusEvict {
				r.noticePurge(ctx, u)
			}
		}
		return u
	case api.TopicJob:
		j, deleted, err := e.DeregisteredJob()
		if err != nil || j == nil || j.ID == nil || r.deferEvent(*j.ID, e) {
			return nil
		}
		if r.watch != nil && e.Type == eventJobRegistered {
			r.watchRegistration(j)
		}
		if e.Type == eventJobDeregistered || e.Type == eventJobBatchDeregistered {
			// A stop carries the stopped job; a purge the job as it was.
			deleted = deleted || j.Stop == nil || !*j.Stop
		}
		return r.t.observeJob(*j.ID, fromJob(j, deleted))
	case api.TopicEvaluation:
		ev, err := e.Evaluation()
		if err != nil || ev == nil || len(ev.FailedTGAllocs) == 0 || r.deferEvent(ev.JobID, e) {
			return nil
		}
		u := r.t.observeBlocked(ev.JobID, ev.JobModifyIndex, placementReason(ev.FailedTGAllocs), time.Now())
		if u != nil {
			r.checkPlacement(ctx, u, ev)
		}
		return u
	}
	return nil
}

// settle applies the tracker's verdict on u: retry it, or end the run on
// a final failure.
func (r *runner) settle(ctx context.Context, u *unit) error {
	if r.watch != nil {
		return r.watchSettle(ctx, u)
	}
	if u.registering {
		// Judged once its new registration is recorded.
		return nil
	}
	if r.t.doubtful(u) {
		// The job is dead with neither every allocation complete nor one
		// failed in view: an event may have been lost, so read the
		// allocations before judging.
		if err := r.refresh(ctx, u, map[*unit]bool{}); err != nil {
			return err
		}
	}
	if producers, gone, ok := r.t.lostUpstream(u); ok {
		r.rerunUpstream(ctx, u, producers, gone)
		return nil
	}
	r.skipOOMReschedule(ctx, u)
	switch r.t.settle(u, time.Now()) {
	case done:
		r.readTaskTimes(ctx, u)
	case retry:
		if err := r.resizeAfterOOM(ctx, u); err != nil {
			return err
		}
		return r.submit(ctx, u)
	case giveUp:
		if err := r.endedElsewhere(ctx, u); err != nil {
			return err
		}
		r.failure = r.describeFailure(ctx, u)
		return &FailedError{Shard: r.failure.Shard, Job: u.id, Reason: u.reason}
	}
	return nil
}

// submitReady registers every group that has become ready, after asking
// the Replanner, if any, about them: the whole wave at once, up to
// Options.RegisterConcurrency registrations in flight. A unit whose
// streaming producer in the group is not placed yet waits for a later
// call (heldBy): every allocation event leads here.
func (r *runner) submitReady(ctx context.Context) error {
	groups := r.t.ready()
	// A group stays ready while a unit of it is held (heldBy): ask the
	// Replanner about each group once.
	var fresh []*group
	for _, g := range groups {
		if !g.replanned {
			g.replanned = true
			fresh = append(fresh, g)
		}
	}
	if len(fresh) > 0 && r.o.Replanner != nil {
		r.replan(ctx, fresh)
	}
	var wave []*unit
	for _, g := range groups {
		for _, u := range g.units {
			if u.state != Pending || u.registering {
				continue // registered before a resume, or being registered
			}
			if r.heldBy(u) != "" {
				continue // registered once its producer is placed
			}
			wave = append(wave, u)
		}
	}
	r.enqueue(ctx, wave)
	return nil
}

// submit registers u's job (see registerAll), with the affinities that
// keep its input local, the upstream allocations its shard-driver inputs
// read from and, after the first attempt, a new shardwise_attempt meta
// value and the memory an OOM kill called for.
func (r *runner) submit(ctx context.Context, u *unit) error {
	r.enqueue(ctx, []*unit{u})
	return nil
}

// submission is u's job as submit registers it; u.job is not changed.
func (r *runner) submission(ctx context.Context, u *unit) *api.Job {
	var affs []*api.Affinity
	if !r.o.NoLocality {
		affs = affinities(r.t.nodeBytes(u, r.plan.Channels), nodeClass(u.job), r.nodes.classOf(ctx))
	}
	job := withSubmission(u.job, affs, u.attempt+1, r.o.FailFast)
	job = withUpstreamAllocs(job, r.upstreamAllocs(u))
	if u.memoryMiB > 0 {
		job = withMemory(job, u.memoryMiB)
	}
	return job
}

// writeOpts returns the write options for job j under ctx.
func (r *runner) writeOpts(ctx context.Context, j *api.Job) *api.WriteOptions {
	w := &api.WriteOptions{Namespace: r.ns}
	if j.Region != nil {
		w.Region = *j.Region
	}
	return w.WithContext(ctx)
}

// reconcile reads the current state of every submitted unit, for events
// that may have been missed while the stream was down.
func (r *runner) reconcile(ctx context.Context, touched map[*unit]bool) error {
	for _, u := range r.t.units {
		if u.state == Pending || u.state.terminal() || u.registering {
			continue
		}
		if err := r.refresh(ctx, u, touched); err != nil {
			return err
		}
	}
	return nil
}

// refresh reads u's job and allocations from Nomad into the tracker.
func (r *runner) refresh(ctx context.Context, u *unit, touched map[*unit]bool) error {
	q := (&api.QueryOptions{Namespace: r.ns}).WithContext(ctx)
	j, _, err := r.c.Jobs().Info(u.id, q)
	if err != nil {
		return fmt.Errorf("read job %s: %w", u.id, ConnectError(r.c, err))
	}
	if r.t.observeJob(u.id, fromJob(j, false)) != nil {
		touched[u] = true
	}
	allocs, _, err := r.c.Jobs().Allocations(u.id, false, q)
	if err != nil {
		return fmt.Errorf("read allocations of job %s: %w", u.id, ConnectError(r.c, err))
	}
	for _, stub := range allocs {
		a := fromStub(stub)
		if u.service {
			full, _, err := r.c.Allocations().Info(stub.ID, q)
			if err != nil {
				return fmt.Errorf("read allocation %s of job %s: %w", shortID(stub.ID), u.id, ConnectError(r.c, err))
			}
			a = fromAlloc(full)
		}
		if r.t.observeAlloc(u.id, a) != nil {
			r.o.Metrics.placed(u.id, time.Now())
			touched[u] = true
		}
	}
	return nil
}

// stopAll stops (does not purge) every job of the run that Nomad may
// still be running, marks those units Stopped and the unsubmitted ones
// Skipped. It uses a context of its own, so that it works after the
// run's context was cancelled.
func (r *runner) stopAll() {
	ctx, cancel := context.WithTimeout(context.Background(), r.o.StopTimeout)
	defer cancel()
	for _, u := range r.t.units {
		switch {
		case u.state == Pending:
			u.state = Skipped
		// A shard failed as never placeable still has a blocked evaluation
		// that would place it if capacity appeared: stop it too.
		case u.state == Submitted || u.state == Running || (u.state == Complete && u.service) ||
			(u.state == Failed && u.never != ""):
			_, _, err := r.c.Jobs().Deregister(u.id, false, r.writeOpts(ctx, u.job))
			if err == nil {
				r.stopped = append(r.stopped, u.id)
			}
			if u.state != Complete && u.state != Failed {
				u.state = Stopped
			}
		}
	}
}

// allComplete reports whether every unit is complete.
func (r *runner) allComplete() bool {
	for _, u := range r.t.units {
		if u.state != Complete {
			return false
		}
	}
	return true
}

// jobIDs returns the run's job IDs.
func (r *runner) jobIDs() []string {
	ids := make([]string, len(r.t.units))
	for i, u := range r.t.units {
		ids[i] = u.id
	}
	return ids
}

// Meta keys the launcher reads from jobs, as the translator writes them.
const (
	metaRun   = sdk.MetaRun
	metaShard = sdk.MetaShard
	metaClass = sdk.MetaClass
	metaGraph = sdk.MetaGraph
	metaUp    = sdk.MetaUpstream
)
