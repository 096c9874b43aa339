package feedback

import (
	"context"
	"time"

	"github.com/hashicorp/nomad/api"
)

// sample takes a stats reading of every tracked allocation each
// Interval, and at once when maybeTrack adds one (so that a task shorter
// than Interval still gets a reading), and saves the running usage to the
// store after each round. It returns nil when ctx ends, or the store's
// error.
func (s *Service) sample(ctx context.Context) error {
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-s.poke:
		}
		if err := s.sampleRound(ctx); err != nil {
			return err
		}
	}
}

// sampleRound reads the stats of the allocations tracked now, outside the
// lock, then folds them in and saves them for those still tracked.
func (s *Service) sampleRound(ctx context.Context) error {
	s.mu.Lock()
	ids := make([]string, 0, len(s.tracked))
	for id := range s.tracked {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	readings := map[string]*api.AllocResourceUsage{}
	for _, id := range ids {
		st, err := s.cfg.Client.Allocations().Stats(&api.Allocation{ID: id}, (&api.QueryOptions{}).WithContext(ctx))
		if err != nil {
			// Finished, or its client is unreachable: no reading this
			// round. The event loop ends tracking.
			s.log.Trace("no stats", "alloc", id, "error", err)
			continue
		}
		readings[id] = st
	}
	if ctx.Err() != nil || len(readings) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := map[string]Usage{}
	for id, st := range readings {
		u, ok := s.tracked[id]
		if !ok {
			continue
		}
		u = u.Sample(st)
		s.tracked[id] = u
		changed[id] = u
	}
	if len(changed) == 0 {
		return nil
	}
	if err := s.cfg.Store.Commit(ctx, Batch{Usage: changed}); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		s.m.fail("store")
		return err
	}
	return nil
}
