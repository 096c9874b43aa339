package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/launcher/replan"
	"github.com/shardwise/shardwise/planner/history"
)

// recordWait bounds how long a run with Feedback waits, after the run, for the
// in-process feedback service to record the run's allocations.
const recordWait = 30 * time.Second

// loop is run's closed loop: the history store the Replanner reads and,
// with -feedback, the feedback service writing it during the run.
type loop struct {
	store *feedback.Store
	log   hclog.Logger

	svc  *feedback.Service // the feedback service; nil without one
	stop func()            // ends the service and waits for it; nil without one

	mu        sync.Mutex
	committed map[string]bool // allocation IDs the service recorded
	changed   chan struct{}   // closed and replaced on every commit
}

// openLoop opens the run's history store: HistoryDB with Feedback
// (created if missing, and added to the planning history), else the first
// store among the plan's Histories; none when there is neither. With
// Feedback it starts the feedback service on client, which records the
// allocations of run req.Run (which must be set) until close.
func openLoop(ctx context.Context, req *RunRequest, client *api.Client, log hclog.Logger) (*loop, error) {
	l := &loop{log: log, committed: map[string]bool{}, changed: make(chan struct{})}
	path := firstStore(req.Histories)
	if req.Feedback {
		path = req.HistoryDB
	}
	if path == "" {
		return l, nil
	}
	open := feedback.OpenExisting
	if req.Feedback {
		open = feedback.Open
	}
	store, err := open(ctx, path)
	if err != nil {
		return nil, err // it names the store and its path
	}
	l.store = store
	if req.Feedback && !slices.Contains(req.Histories, path) {
		req.Histories = append(req.Histories, path)
	}
	if req.Feedback {
		if err := l.startService(client, req.Run); err != nil {
			store.Close()
			return nil, err
		}
	}
	return l, nil
}

// firstStore returns the first SQLite store among paths, or "".
func firstStore(paths []string) string {
	for _, p := range paths {
		if feedback.IsStorePath(p) {
			return p
		}
	}
	return ""
}

// startService runs the feedback service on the store in the background,
// recording the allocations of run only.
func (l *loop) startService(client *api.Client, run string) error {
	svc, err := feedback.New(feedback.Config{Client: client, Store: l.store, Run: run,
		Logger: l.log.Named("feedback"), OnCommit: l.onCommit})
	if err != nil {
		return fmt.Errorf("feedback service: %w", err)
	}
	l.svc = svc
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := svc.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			l.log.Warn("feedback service stopped", "error", err)
		}
	}()
	l.stop = func() { cancel(); <-done }
	return nil
}

// onCommit notes the allocations of a committed batch.
func (l *loop) onCommit(recs []history.Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		l.committed[r.Alloc] = true
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// replanner returns the run's Replanner over the store, with the run's
// planning switches; nil without a store, with NoReplan or for a baseline
// method (plan.Method.Replanned: HEFT and single class plans are not
// re-planned nor late-bound). extra are the history records besides the
// store's.
func (l *loop) replanner(req *RunRequest, res *Planned, client *api.Client, extra []history.Record) launcher.Replanner {
	if l.store == nil || req.NoReplan || !req.Method.Replanned() {
		return nil
	}
	return &replan.Replanner{Graph: res.Graph, Catalog: res.Catalog, Extra: extra, Jobs: res.JobOptions(),
		NoFusion: req.NoFusion, NoBatch: req.NoBatch, NoGuard: req.NoGuard,
		Advisor: &replan.ClusterAdvisor{Client: client, Store: l.store}, Logger: l.log.Named("replan")}
}

// awaitRecords makes sure the service has recorded every allocation of
// rep that ended (complete, failed or OOM-killed), and writes how many it
// recorded. The launcher saw them end, so Nomad holds them terminal: the
// ones the service has not recorded from its event stream yet (it may
// still be catching up) it records now from Nomad (Service.Record).
// Should that fail, it waits, up to recordWait, for the stream. Without a
// service it does nothing.
func (l *loop) awaitRecords(rep *launcher.Report, w io.Writer) {
	if l.stop == nil || rep == nil {
		return
	}
	want := endedAllocs(rep)
	ctx, cancel := context.WithTimeout(context.Background(), recordWait)
	defer cancel()
	l.noteStored(ctx, want)
	if missing := l.uncommitted(want); len(missing) > 0 {
		recs, err := l.svc.Record(ctx, missing)
		if err != nil {
			l.log.Warn("recording the run's ended allocations from Nomad failed; waiting for the event stream", "error", err)
		}
		for _, r := range recs {
			l.log.Debug("recorded an ended allocation the event stream had not delivered yet", "alloc", r.Alloc)
		}
	}
	for {
		l.mu.Lock()
		changed := l.changed
		l.mu.Unlock()
		missing := len(l.uncommitted(want))
		if missing == 0 {
			fmt.Fprintf(w, "History: recorded %d allocations of run %s in %s\n", len(want), rep.Run, l.store.Path())
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			l.log.Warn("feedback service did not record every allocation of the run in time", "missing", missing, "waited", recordWait)
			return
		}
	}
}

// noteStored counts as committed the allocations among ids that the
// store held already (recorded before a resumed run, say).
func (l *loop) noteStored(ctx context.Context, ids []string) {
	for _, id := range l.uncommitted(ids) {
		if had, err := l.store.Has(ctx, id); err == nil && had {
			l.mu.Lock()
			l.committed[id] = true
			l.mu.Unlock()
		}
	}
}

// uncommitted returns the allocations among ids the service has not
// committed.
func (l *loop) uncommitted(ids []string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, id := range ids {
		if !l.committed[id] {
			out = append(out, id)
		}
	}
	return out
}

// endedAllocs lists the allocations of rep's shards that ran to an end,
// and those OOM-killed before a retry.
func endedAllocs(rep *launcher.Report) []string {
	var out []string
	for _, s := range rep.Shards {
		if s.Alloc != "" && !s.Service && (s.State == launcher.Complete || s.State == launcher.Failed) {
			out = append(out, s.Alloc)
		}
	}
	for _, z := range rep.Resizes {
		out = append(out, z.Alloc)
	}
	return out
}

// close stops the service and closes the store.
func (l *loop) close() {
	if l.stop != nil {
		l.stop()
	}
	if l.store != nil {
		if err := l.store.Close(); err != nil {
			l.log.Warn("close the history store", "error", err)
		}
	}
}
