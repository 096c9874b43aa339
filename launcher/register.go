package launcher

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"
)

// DefaultRegisterConcurrency is how many job registrations (and, before a
// run, validations) the launcher has in flight at once when
// Options.RegisterConcurrency is zero. One registration is a Raft write
// plus an evaluation on the Nomad server, tens of milliseconds on an idle
// agent and seconds on a loaded one; one at a time, a wave of 1,000 ready
// shards took minutes to register. Eight keeps well inside the CLI's
// MaxAgentConns (16, the event stream and the run-state writes share
// them) and Nomad's limit of 100 connections per client address.
const DefaultRegisterConcurrency = 8

// errNotStarted marks a call that concurrently did not start because an
// earlier one failed.
var errNotStarted = errors.New("not started: an earlier request failed")

// concurrently calls fn(i) for every i in [0, n), at most limit calls at a
// time, starting them in order of i. Once a call has failed no further
// call starts (those in flight finish). It returns each call's error: nil
// for a success, errNotStarted for a call that never started.
func concurrently(n, limit int, fn func(i int) error) []error {
	errs := make([]error, n)
	if limit < 1 {
		limit = 1
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed bool
	)
	sem := make(chan struct{}, limit)
	for i := range n {
		sem <- struct{}{}
		mu.Lock()
		stop := failed
		mu.Unlock()
		if stop {
			<-sem
			for j := i; j < n; j++ {
				errs[j] = errNotStarted
			}
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				errs[i] = err
				mu.Lock()
				failed = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

// firstError is the first error of errs in index order that is not
// errNotStarted, or nil.
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil && !errors.Is(err, errNotStarted) {
			return err
		}
	}
	return nil
}

// registration is the outcome of one job registration, as the run loop
// receives it.
type registration struct {
	u     *unit
	index uint64
	at    time.Time
	err   error
}

// registrar keeps the run's registrations going without the run loop
// waiting for them: units queue up in the order they became ready and up
// to Options.RegisterConcurrency registrations are in flight at once,
// across waves. Waiting for each wave's registrations held the loop (and
// so every shard that became ready meanwhile) for one registration per
// event batch: on a loaded cluster, with one or two shards ready per
// batch, the launcher registered about three shards a second while
// hundreds waited (docs/launcher.md, "Registration pipeline"). All of it
// is the run loop's but done, which the registrations report on.
type registrar struct {
	queue []*unit
	busy  int
	done  chan registration
	// deferred are the events about units whose registration is queued
	// or in flight, applied once it is recorded: until then the tracker
	// cannot tell the new attempt's allocations from an old one's.
	deferred map[*unit][]api.Event
}

// enqueue queues the registration of each unit of us not already queued
// or in flight, in us's order, and starts what the concurrency allows.
func (r *runner) enqueue(ctx context.Context, us []*unit) {
	for _, u := range us {
		if u.registering {
			continue
		}
		u.registering = true
		r.reg.queue = append(r.reg.queue, u)
	}
	r.pump(ctx)
}

// pump starts queued registrations while fewer than
// Options.RegisterConcurrency are in flight. Each job is built here, on
// the loop, when its registration starts: it reads the tracker and the
// node cache.
func (r *runner) pump(ctx context.Context) {
	g := &r.reg
	if g.done == nil {
		g.done = make(chan registration, max(1, r.o.RegisterConcurrency))
	}
	for g.busy < max(1, r.o.RegisterConcurrency) && len(g.queue) > 0 {
		u := g.queue[0]
		g.queue = g.queue[1:]
		job, opts := r.submission(ctx, u), r.writeOpts(ctx, u.job)
		g.busy++
		register := r.register
		if register == nil {
			register = r.registerJob
		}
		go func() {
			res := registration{u: u}
			res.index, res.err = register(job, opts)
			res.at = time.Now()
			g.done <- res
		}()
	}
}

// registrations is the channel on which registrations in flight report.
func (r *runner) registrations() <-chan registration { return r.reg.done }

// recordRegistration records one registration's outcome in the tracker.
// A failed registration returns its error (the run ends; see abort),
// and no queued registration starts after it.
func (r *runner) recordRegistration(res registration) error {
	r.reg.busy--
	u := res.u
	u.registering = false
	if res.err != nil {
		for _, q := range r.reg.queue {
			q.registering = false
		}
		r.reg.queue = nil
		return res.err
	}
	r.t.registered(u, res.index, res.at)
	// Re-runs and holds after lost outputs are not retries.
	r.o.Metrics.registered(u.id, u.attempt-u.free, res.at)
	if u.attempt == 1 && u.note != "" {
		u.reason = u.note
	}
	return nil
}

// registered handles one registration's outcome on the run loop: it
// records it, applies the events about the job that came meanwhile, and
// starts the next registrations.
func (r *runner) registered(ctx context.Context, res registration) error {
	if err := r.recordRegistration(res); err != nil {
		return err
	}
	evs := r.reg.deferred[res.u]
	delete(r.reg.deferred, res.u)
	// handle settles the unit, reports it and queues what became ready.
	if err := r.handle(ctx, streamMsg{events: evs}); err != nil {
		return err
	}
	r.pump(ctx)
	return nil
}

// deferEvent keeps e, about job jobID, for later when that job's
// registration is queued or in flight, and reports whether it did.
func (r *runner) deferEvent(jobID string, e *api.Event) bool {
	u := r.t.byJob[jobID]
	if u == nil || !u.registering {
		return false
	}
	if r.reg.deferred == nil {
		r.reg.deferred = map[*unit][]api.Event{}
	}
	r.reg.deferred[u] = append(r.reg.deferred[u], *e)
	return true
}

// drainRegistrations waits for the registrations in flight, records the
// ones Nomad accepted (so that stopping the run stops them and a resumed
// run adopts them) and drops the queue: those units stay pending.
func (r *runner) drainRegistrations() {
	for _, q := range r.reg.queue {
		q.registering = false
	}
	r.reg.queue = nil
	for r.reg.busy > 0 {
		_ = r.recordRegistration(<-r.reg.done)
	}
}

// registerJob registers job with Nomad and returns the job's modify
// index.
func (r *runner) registerJob(job *api.Job, opts *api.WriteOptions) (uint64, error) {
	resp, _, err := r.c.Jobs().Register(job, opts)
	if err != nil {
		return 0, fmt.Errorf("register job %s: %w", *job.ID, ConnectError(r.c, err))
	}
	return resp.JobModifyIndex, nil
}
