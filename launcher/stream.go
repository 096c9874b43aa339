package launcher

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/internal/ctxutil"
)

// maxKeyedJobs is the most jobs whose IDs are sent as topic filters; a
// larger run subscribes to whole topics and filters locally, keeping the
// request URL short.
const maxKeyedJobs = 64

// Reconnect back-off bounds.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// streamMsg is what the follower hands the run loop: a batch of events,
// a notice that the stream (re)connected, or the error that ended it.
type streamMsg struct {
	events    []api.Event
	connected bool
	err       error
}

// follower reads Nomad's event stream for a run's jobs from an index,
// reconnecting from the last index seen when the stream breaks.
type follower struct {
	es     *api.EventStream
	topics map[api.Topic][]string
	q      *api.QueryOptions
	// giveUp is how long the stream may stay broken before the follower
	// reports its last error and stops.
	giveUp time.Duration
}

// newFollower returns a follower of the Job, Allocation and Evaluation
// topics for jobIDs in namespace ns.
func newFollower(c *api.Client, ns string, jobIDs []string, giveUp time.Duration) *follower {
	topics := map[api.Topic][]string{api.TopicJob: nil, api.TopicAllocation: nil, api.TopicEvaluation: nil}
	if len(jobIDs) <= maxKeyedJobs {
		for t := range topics {
			topics[t] = append([]string(nil), jobIDs...)
		}
	}
	return &follower{es: c.EventStream(), topics: topics, q: &api.QueryOptions{Namespace: ns}, giveUp: giveUp}
}

// run streams events with an index of at least from into out until ctx
// ends or the stream stays broken for giveUp, which it reports as a final
// streamMsg with err set. It sends a connected message after every
// successful (re)connect. It returns when ctx is done, never blocking on
// out after that.
func (f *follower) run(ctx context.Context, from uint64, out chan<- streamMsg) {
	backoff := minBackoff
	var brokenSince time.Time
	for ctx.Err() == nil {
		ch, err := f.es.Stream(ctx, f.topics, from, f.q)
		if err == nil {
			brokenSince, backoff = time.Time{}, minBackoff
			if !send(ctx, out, streamMsg{connected: true}) {
				return
			}
			from, err = f.drain(ctx, ch, from, out)
		}
		if ctx.Err() != nil {
			return
		}
		if brokenSince.IsZero() {
			brokenSince = time.Now()
		}
		if time.Since(brokenSince) > f.giveUp {
			send(ctx, out, streamMsg{err: fmt.Errorf("lost the Nomad event stream for over %s: %w", f.giveUp, err)})
			return
		}
		if !wait(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// drain forwards event batches from ch until it closes or reports an
// error, dropping events older than from (Nomad replays the closest
// earlier batch when from is not in its buffer). It returns the index to
// resume from and the error that ended the stream.
func (f *follower) drain(ctx context.Context, ch <-chan *api.Events, from uint64, out chan<- streamMsg) (uint64, error) {
	for evs := range ch {
		if evs.Err != nil {
			return from, evs.Err
		}
		if evs.Index < from {
			continue
		}
		from = evs.Index + 1
		if !send(ctx, out, streamMsg{events: evs.Events}) {
			return from, ctx.Err()
		}
	}
	return from, fmt.Errorf("event stream closed")
}

// send delivers m unless ctx ends first.
func send(ctx context.Context, out chan<- streamMsg, m streamMsg) bool {
	select {
	case out <- m:
		return true
	case <-ctx.Done():
		return false
	}
}

// wait blocks for d or until ctx ends, reporting whether d passed.
func wait(ctx context.Context, d time.Duration) bool {
	return ctxutil.Sleep(ctx, d) == nil
}
