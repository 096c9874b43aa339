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

// registerAll registers the jobs of units us, Options.RegisterConcurrency
// at a time, starting them in us's order, and records every registration
// Nomad accepted in the tracker, in us's order, from the one goroutine
// that owns the run's state. Nomad therefore receives a wave's jobs in
// plan order up to the pool's width. After a failure no further
// registration starts; the units already registered are recorded (so that
// stopping the run stops them and a resumed run adopts them), the ones
// not started stay pending, and the first failure is returned.
func (r *runner) registerAll(ctx context.Context, us []*unit) error {
	if len(us) == 0 {
		return nil
	}
	// Build every submission first, here: it reads the tracker and the
	// node cache, which only this goroutine touches.
	jobs := make([]*api.Job, len(us))
	opts := make([]*api.WriteOptions, len(us))
	for i, u := range us {
		jobs[i], opts[i] = r.submission(ctx, u), r.writeOpts(ctx, u.job)
	}
	index := make([]uint64, len(us))
	at := make([]time.Time, len(us))
	errs := concurrently(len(us), r.o.RegisterConcurrency, func(i int) error {
		resp, _, err := r.c.Jobs().Register(jobs[i], opts[i])
		if err != nil {
			return fmt.Errorf("register job %s: %w", us[i].id, ConnectError(r.c, err))
		}
		index[i], at[i] = resp.JobModifyIndex, time.Now()
		return nil
	})
	for i, u := range us {
		if errs[i] != nil {
			continue
		}
		r.t.registered(u, index[i], at[i])
		// Re-runs and holds after lost outputs are not retries.
		r.o.Metrics.registered(u.id, u.attempt-u.free, at[i])
		if u.attempt == 1 && u.note != "" {
			u.reason = u.note
		}
	}
	return firstError(errs)
}
