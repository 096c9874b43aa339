package launcher

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shardwise/shardwise/launcher/runstate"
)

// saveInterval is the least time between the starts of two writes of a
// durable run's progress while it runs (renewals of the lease aside).
// The progress is the whole run's (about 400 bytes of JSON a finished
// job, 0.66 MB for 1,695 jobs: three 60 KiB chunk variables, a head and
// the old chunks' deletion, seven Raft writes); written after every
// event batch, on the run loop, it held registrations back by minutes on
// a loaded cluster (docs/launcher.md, "Durable state and throughput").
const saveInterval = time.Second

// saver writes a durable run's progress off the run loop: at most one
// write in flight, the latest progress only (changes made meanwhile are
// coalesced into the next write), and at most one write started per
// saveInterval. All fields but done are the run loop's.
type saver struct {
	// write stores a progress (runstate.Held.Save); tests replace it.
	write func(context.Context, *runstate.Progress) error
	// every is the least time between two writes' starts.
	every time.Duration
	// done receives the result of the write in flight.
	done     chan error
	inFlight bool
	// dirty: the run changed since the progress last handed to write;
	// renew: the lease is due for renewal whether or not it changed.
	dirty, renew bool
	// last is when the last write started; text is its JSON, which
	// becomes runner.saved once it succeeded.
	last time.Time
	text string
	// due fires when a write held back by every may start; nil when
	// none waits.
	due   <-chan time.Time
	timer *time.Timer
	// writes counts the writes started.
	writes int
}

// newSaver returns the saver of a run whose state write stores.
func newSaver(write func(context.Context, *runstate.Progress) error) *saver {
	return &saver{write: write, every: saveInterval, done: make(chan error, 1)}
}

// persistLater records that the run may have changed (and, with renew,
// that the lease is due) and starts a write when none is in flight and
// saveInterval has passed since the last one started. It never waits for
// Nomad. It returns only an error encoding the progress.
func (r *runner) persistLater(ctx context.Context, renew bool) error {
	s := r.sv
	if s == nil {
		return nil
	}
	s.dirty = true
	s.renew = s.renew || renew
	return r.startSave(ctx, time.Now())
}

// startSave starts a write of the current progress if one is called for
// and allowed now, else arms s.due for when it is.
func (r *runner) startSave(ctx context.Context, now time.Time) error {
	s := r.sv
	if s.inFlight || (!s.dirty && !s.renew) {
		return nil
	}
	if wait := s.every - now.Sub(s.last); !s.renew && wait > 0 && !s.last.IsZero() {
		if s.due == nil {
			s.timer = time.NewTimer(wait)
			s.due = s.timer.C
		}
		return nil
	}
	p := r.progress(ctx)
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode progress: %w", err)
	}
	s.dirty = false
	if !s.renew && string(b) == r.saved {
		return nil
	}
	s.renew = false
	s.inFlight, s.last, s.text = true, now, string(b)
	s.writes++
	write, done := s.write, s.done
	go func() { done <- write(ctx, p) }()
	return nil
}

// saveTimer is the channel that fires when a held-back write may start;
// nil when none waits.
func (r *runner) saveTimer() <-chan time.Time {
	if r.sv == nil {
		return nil
	}
	return r.sv.due
}

// saveDue starts the write that saveInterval held back.
func (r *runner) saveDue(ctx context.Context) error {
	r.sv.due, r.sv.timer = nil, nil
	return r.startSave(ctx, time.Now())
}

// saveResults is the channel on which the write in flight reports; nil
// without a durable state.
func (r *runner) saveResults() <-chan error {
	if r.sv == nil {
		return nil
	}
	return r.sv.done
}

// savedResult handles the result of the write in flight and starts the next
// one if the run changed meanwhile. It returns the store's error when
// this launcher lost the run; other write errors are logged, and the
// next change writes again, since Nomad keeps the truth about submitted
// jobs.
func (r *runner) savedResult(ctx context.Context, err error) error {
	s := r.sv
	s.inFlight = false
	switch {
	case err == nil:
		r.saved = s.text
	case lost(err):
		return err
	case ctx.Err() != nil:
		return nil
	default:
		s.dirty = true
		r.log.Warn("could not write the run's progress into Nomad; will try again", "error", err)
	}
	return r.startSave(ctx, time.Now())
}

// waitSave waits for the write in flight, if any, so that the run's last
// write (finish) follows it; it returns that write's error when this
// launcher lost the run.
func (r *runner) waitSave(ctx context.Context) error {
	s := r.sv
	if s == nil {
		return nil
	}
	if s.timer != nil {
		s.timer.Stop()
		s.due, s.timer = nil, nil
	}
	if !s.inFlight {
		return nil
	}
	err := <-s.done
	s.inFlight = false
	if err == nil {
		r.saved = s.text
		return nil
	}
	if lost(err) {
		return err
	}
	if ctx.Err() == nil {
		r.log.Warn("could not write the run's progress into Nomad", "error", err)
	}
	return nil
}
