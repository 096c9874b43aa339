package feedback

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/internal/ctxutil"
	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/history"
)

// Defaults of Config.
const (
	DefaultInterval   = time.Second
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
)

// Config configures a Service. Client and Store are required.
type Config struct {
	Client *api.Client
	Store  *Store
	// Namespace to follow; "" means every namespace ("*").
	Namespace string
	// Run, when set, restricts the service to the allocations of that run
	// (jobs whose shardwise_run meta is Run): 'run -feedback' records its
	// own run, not every Shardwise allocation the cluster still holds.
	Run string
	// Interval between stats samples of each running allocation;
	// DefaultInterval when 0.
	Interval time.Duration
	// MinBackoff and MaxBackoff bound the wait before reconnecting to a
	// broken event stream (doubling from min to max); defaults when 0.
	MinBackoff, MaxBackoff time.Duration
	// Metrics receives the service's metrics; NewMetrics() when nil.
	Metrics *Metrics
	Logger  hclog.Logger
	// OnCommit, when set, is called (from the service's goroutine, after
	// the commit) with every batch of records written to the store.
	OnCommit func([]history.Record)
	// OnConnect, when set, is called after every (re)connect of the
	// event stream and its reconcile pass, with the index resumed from.
	OnConnect func(index uint64)
	// FailFirstConnect makes Run return the error of its first attempt
	// to connect (open the event stream and reconcile) instead of
	// retrying, so that a wrong address or token is reported at start-up.
	// Once connected, a broken stream is retried with backoff as usual.
	FailFirstConnect bool
}

// Service follows Nomad's event stream and records every terminal
// allocation of a Shardwise job in the store. See the package docs.
type Service struct {
	cfg   Config
	log   hclog.Logger
	m     *Metrics
	nomad *nomadCache

	mu      sync.Mutex       // guards tracked and serialises commits
	tracked map[string]Usage // running allocations being sampled
	poke    chan struct{}    // asks the sampler for a round now
	// connected is set once a session has connected and reconciled
	// (written and read by the follow goroutine only).
	connected bool
	// unmeasured holds the runs already told in the log that their
	// allocations' memory and CPU are not recorded (guarded by mu).
	unmeasured map[string]bool
}

// New checks cfg and returns a Service; it contacts nothing.
func New(cfg Config) (*Service, error) {
	if cfg.Client == nil || cfg.Store == nil {
		return nil, errors.New("feedback: Config needs a Nomad client and a store")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "*"
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &Service{
		cfg: cfg, log: cfg.Logger, m: cfg.Metrics, nomad: newNomadCache(cfg.Client, cfg.Run),
		tracked: map[string]Usage{}, poke: make(chan struct{}, 1), unmeasured: map[string]bool{},
	}, nil
}

// Metrics returns the service's metrics.
func (s *Service) Metrics() *Metrics { return s.m }

// Run follows the event stream until ctx ends (then it returns nil) or
// the store fails (then it returns the store's error, e.g. one wrapping
// ErrDiskFull; the event cursor is not advanced past what was committed,
// so a restarted service resumes without losing records). Nomad being
// unreachable is not an error: Run reconnects with backoff, resuming from
// the last committed event index; with Config.FailFirstConnect, Nomad
// being unreachable before the first connection is (see ConnectError).
func (s *Service) Run(ctx context.Context) error {
	if err := s.restore(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sampleErr := make(chan error, 1)
	go func() { sampleErr <- s.sample(ctx) }()
	err := s.follow(ctx)
	cancel()
	if serr := <-sampleErr; err == nil {
		err = serr
	}
	return err
}

// restore reloads the running usage saved by a previous run, dropping
// that of allocations already recorded.
func (s *Service) restore(ctx context.Context) error {
	usage, err := s.cfg.Store.RunningUsage(ctx)
	if err != nil {
		return err
	}
	for id, u := range usage {
		done, err := s.cfg.Store.Has(ctx, id)
		if err != nil {
			return err
		}
		if !done {
			s.tracked[id] = u
		}
	}
	s.m.tracked.Set(float64(len(s.tracked)))
	return nil
}

// follow is the stream loop: connect from the cursor, reconcile, handle
// batches; on a broken stream wait and do it again.
func (s *Service) follow(ctx context.Context) error {
	backoff := s.cfg.MinBackoff
	for connects := 0; ; connects++ {
		if connects > 0 {
			s.m.reconnects.Inc()
		}
		err := s.session(ctx, &backoff)
		if ctx.Err() != nil {
			return nil
		}
		var se *storeError
		if errors.As(err, &se) {
			return se.err
		}
		s.m.fail("stream")
		if s.cfg.FailFirstConnect && !s.connected {
			return &ConnectError{Err: err}
		}
		s.log.Warn("event stream broken; reconnecting", "error", err, "backoff", backoff)
		if !sleepCtx(ctx, backoff) {
			return nil
		}
		backoff = min(backoff*2, s.cfg.MaxBackoff)
	}
}

// ConnectError is Run's error when Config.FailFirstConnect is set and the
// first connection to Nomad fails; Err is the request's error.
type ConnectError struct{ Err error }

func (e *ConnectError) Error() string { return e.Err.Error() }
func (e *ConnectError) Unwrap() error { return e.Err }

// storeError marks an error of the store, which ends Run.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }

// cursor names the service's event cursor in the store: its own for a
// service restricted to one run.
func (s *Service) cursor() string {
	if s.cfg.Run == "" {
		return ""
	}
	return RunCursor(s.cfg.Run)
}

// session is one connection of the stream: it returns when the stream
// breaks, ctx ends or the store fails.
func (s *Service) session(ctx context.Context, backoff *time.Duration) error {
	from, err := s.cfg.Store.CursorIndex(ctx, s.cursor())
	if err != nil {
		return &storeError{err}
	}
	topics := map[api.Topic][]string{api.TopicAllocation: nil, api.TopicJob: nil}
	q := &api.QueryOptions{Namespace: s.cfg.Namespace}
	ch, err := s.cfg.Client.EventStream().Stream(ctx, topics, from+1, q)
	if err != nil {
		return fmt.Errorf("connect event stream: %w", err)
	}
	if err := s.reconcile(ctx, from); err != nil {
		return err
	}
	*backoff = s.cfg.MinBackoff
	s.connected = true
	s.log.Info("following Nomad events", "from_index", from)
	if s.cfg.OnConnect != nil {
		s.cfg.OnConnect(from)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case evs, ok := <-ch:
			if !ok {
				return errors.New("event stream closed")
			}
			if evs.Err != nil {
				return fmt.Errorf("event stream: %w", evs.Err)
			}
			if evs.IsHeartbeat() {
				continue
			}
			if err := s.handle(ctx, evs); err != nil {
				return err
			}
		}
	}
}

// reconcile catches up with what the stream cannot replay (events that
// left Nomad's buffer, or were lost when Nomad restarted): every terminal
// Shardwise allocation modified after index from and not yet recorded is
// recorded, and every running one is tracked. A store whose cursor is
// ahead of the cluster (a new cluster) is read from the start.
func (s *Service) reconcile(ctx context.Context, from uint64) error {
	stubs, qm, err := s.cfg.Client.Allocations().List((&api.QueryOptions{Namespace: s.cfg.Namespace}).WithContext(ctx))
	if err != nil {
		s.m.fail("nomad")
		return fmt.Errorf("list allocations: %w", err)
	}
	if qm.LastIndex < from {
		s.log.Warn("store cursor is ahead of the cluster; reading every allocation", "cursor", from, "cluster_index", qm.LastIndex)
		from = 0
	}
	var done []*api.Allocation
	for _, a := range stubs {
		switch {
		case terminal(a.ClientStatus) && a.ModifyIndex > from:
			full, err := s.finished(ctx, a.ID, a.Namespace, a.JobID, a.ModifyIndex)
			if err != nil {
				return err
			}
			if full != nil {
				done = append(done, full)
			}
		case a.ClientStatus == api.AllocClientStatusRunning:
			if err := s.maybeTrack(ctx, a.ID, a.Namespace, a.JobID); err != nil {
				return err
			}
		}
	}
	_, err = s.commit(ctx, done, 0)
	return err
}

// handle applies one batch of events and commits its records together
// with the batch's index.
func (s *Service) handle(ctx context.Context, evs *api.Events) error {
	var done []*api.Allocation
	for i := range evs.Events {
		e := &evs.Events[i]
		switch e.Topic {
		case api.TopicJob:
			if j, err := e.Job(); err == nil && j != nil && j.ID != nil {
				s.nomad.noteJob(j)
			}
		case api.TopicAllocation:
			a, err := e.Allocation()
			if err != nil || a == nil {
				continue
			}
			full, err := s.onAlloc(ctx, a)
			if err != nil {
				return err
			}
			if full != nil {
				done = append(done, full)
			}
		}
	}
	_, err := s.commit(ctx, done, evs.Index)
	return err
}

// onAlloc tracks a running Shardwise allocation and returns the full
// allocation of a terminal one not yet recorded.
func (s *Service) onAlloc(ctx context.Context, a *api.Allocation) (*api.Allocation, error) {
	switch {
	case terminal(a.ClientStatus):
		return s.finished(ctx, a.ID, a.Namespace, a.JobID, a.ModifyIndex)
	case a.ClientStatus == api.AllocClientStatusRunning:
		return nil, s.maybeTrack(ctx, a.ID, a.Namespace, a.JobID)
	}
	return nil, nil
}

func terminal(status string) bool {
	switch status {
	case api.AllocClientStatusComplete, api.AllocClientStatusFailed, api.AllocClientStatusLost:
		return true
	}
	return false
}

// maybeTrack starts sampling allocation id when its job is Shardwise's.
func (s *Service) maybeTrack(ctx context.Context, id, ns, jobID string) error {
	ok, err := s.nomad.isShardwise(ctx, ns, jobID, id)
	if err != nil {
		s.m.fail("nomad")
		return err
	}
	if !ok {
		return nil
	}
	s.mu.Lock()
	_, had := s.tracked[id]
	if !had {
		s.tracked[id] = Usage{}
	}
	s.m.tracked.Set(float64(len(s.tracked)))
	s.mu.Unlock()
	if !had {
		select {
		case s.poke <- struct{}{}:
		default:
		}
	}
	return nil
}

// finished returns the full allocation id when it is a Shardwise
// allocation not yet recorded that shows how it ended (Ended); nil when
// there is nothing to record yet. A lost allocation whose tasks are not
// dead is recorded once its client reports their end, which comes as an
// event of its own: recorded now, it would keep for good the task states
// of before its end (no exit code, no OOM kill), read as a success. The
// allocation is read at index, the ModifyIndex the event or list showed
// (launcher.AllocationAt: Nomad publishes an event before it commits it).
func (s *Service) finished(ctx context.Context, id, ns, jobID string, index uint64) (*api.Allocation, error) {
	if done, err := s.cfg.Store.Has(ctx, id); err != nil || done {
		if err != nil {
			return nil, &storeError{err}
		}
		s.untrack(id)
		return nil, nil
	}
	ok, err := s.nomad.isShardwise(ctx, ns, jobID, id)
	if err != nil || !ok {
		if err != nil {
			s.m.fail("nomad")
		}
		return nil, err
	}
	full, err := launcher.AllocationAt(ctx, s.cfg.Client, id, ns, index)
	if err != nil {
		s.m.fail("nomad")
		return nil, fmt.Errorf("read allocation %s: %w", id, err)
	}
	if !Ended(full) {
		s.log.Debug("allocation is terminal but its client has not reported its tasks' end; recording it when it does",
			"alloc", id, "client_status", full.ClientStatus)
		return nil, nil
	}
	return full, nil
}

func (s *Service) untrack(id string) {
	s.mu.Lock()
	delete(s.tracked, id)
	s.m.tracked.Set(float64(len(s.tracked)))
	s.mu.Unlock()
}

// Record writes the records of those allocations among ids that the
// store lacks, reading each from Nomad, and returns the records written.
// It is for the allocations a run saw end: the run's history must hold
// them whether or not their events have reached Run yet (the service's
// event stream is not the launcher's, and it may still be reconciling or
// replaying when the run ends). An allocation that does not show its
// end (Ended: not terminal, or lost with tasks its client has not
// reported dead), not a Shardwise allocation (of Config.Run when set) or
// unknown to Nomad is skipped. Record may be called while Run runs: both commit under one
// lock and neither writes an allocation the store already holds, so the
// usage sampled while it ran is kept. A store failure is returned as is;
// a Nomad failure wrapped with the allocation's ID.
func (s *Service) Record(ctx context.Context, ids []string) ([]history.Record, error) {
	var done []*api.Allocation
	for _, id := range ids {
		if had, err := s.cfg.Store.Has(ctx, id); err != nil || had {
			if err != nil {
				return nil, err
			}
			continue
		}
		a, _, err := s.cfg.Client.Allocations().Info(id, (&api.QueryOptions{Namespace: s.cfg.Namespace}).WithContext(ctx))
		if err != nil {
			if launcher.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("read allocation %s: %w", id, err)
		}
		if !Ended(a) {
			continue
		}
		ok, err := s.nomad.isShardwise(ctx, a.Namespace, a.JobID, a.ID)
		if err != nil {
			return nil, err
		}
		if ok {
			done = append(done, a)
		}
	}
	recs, err := s.commit(ctx, done, 0)
	var se *storeError
	if errors.As(err, &se) {
		err = se.err
	}
	return recs, err
}

// commit builds the records of done (with the usage sampled so far and
// what Nomad says of their nodes and IO) and writes them with index in
// one transaction; it returns the records written.
func (s *Service) commit(ctx context.Context, done []*api.Allocation, index uint64) ([]history.Record, error) {
	recs, err := s.commitLocked(ctx, done, index)
	if err == nil && len(recs) > 0 && s.cfg.OnCommit != nil {
		s.cfg.OnCommit(recs)
	}
	return recs, err
}

// commitLocked is commit's work under s.mu; it returns the records
// written. An allocation the store already holds is not written again:
// Run and Record may both have read it, and the first commit carried its
// sampled usage.
func (s *Service) commitLocked(ctx context.Context, done []*api.Allocation, index uint64) ([]history.Record, error) {
	infos := make([]NodeInfo, len(done))
	ios := make([]*IOReport, len(done))
	times := make([][]byte, len(done))
	timesErr := make([]error, len(done))
	for i, a := range done {
		infos[i] = s.nomad.node(ctx, a.NodeID)
		ios[i] = s.nomad.ioReport(ctx, a)
		times[i], timesErr[i] = s.nomad.taskTimes(ctx, a)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var recs, shards []history.Record
	var first []int      // index in recs of each shards' first record
	var drivers []string // each shards' task driver
	for i, a := range done {
		had, err := s.cfg.Store.Has(ctx, a.ID)
		if err != nil {
			s.m.fail("store")
			return nil, &storeError{err}
		}
		if had {
			continue
		}
		if r, ok := BuildRecord(a, s.tracked[a.ID], infos[i], ios[i]); ok {
			shards, first = append(shards, r), append(first, len(recs))
			drivers = append(drivers, taskDriver(a, r.Task))
			recs = append(recs, s.perTask(a, r, times[i], timesErr[i])...)
		}
	}
	if len(recs) == 0 && index == 0 {
		return nil, nil
	}
	if err := s.cfg.Store.Commit(ctx, Batch{Records: recs, EventIndex: index, Cursor: s.cursor()}); err != nil {
		s.m.fail("store")
		return nil, &storeError{err}
	}
	now := time.Now()
	for k := range shards {
		end := len(recs)
		if k+1 < len(first) {
			end = first[k+1]
		}
		delete(s.tracked, shards[k].Alloc)
		s.noteRecorded(shards[k], recs[first[k]:end], now)
		s.noteUnmeasured(shards[k], drivers[k])
	}
	s.m.tracked.Set(float64(len(s.tracked)))
	if index > 0 {
		s.m.index.Set(float64(index))
	}
	return recs, nil
}

// noteRecorded logs the records written of one allocation, recs, and
// counts them; the allocation's figures (prediction errors, lag) are
// observed once, from shard, its whole-allocation record: a fused shard's
// per-task records carry no predictions, and their ends are not the
// allocation's.
func (s *Service) noteRecorded(shard history.Record, recs []history.Record, now time.Time) {
	s.m.recorded(&shard, len(recs), now)
	for i := range recs {
		r := &recs[i]
		if r.ShardTasks > 0 {
			s.log.Info("recorded task of fused shard", "alloc", r.Alloc, "task", r.Task, "signature", r.Signature,
				"executor", r.Executor, "runtime_seconds", r.RuntimeSeconds, "shard_tasks", r.ShardTasks)
			continue
		}
		s.log.Info("recorded allocation", "alloc", r.Alloc, "signature", r.Signature,
			"executor", r.Executor, "runtime_seconds", r.RuntimeSeconds, "oom_killed", r.OOMKilled)
	}
}

// noteUnmeasured says once per run in the log that the allocations its
// task driver runs are recorded without memory and CPU (UsageMeasured).
// Called under s.mu.
func (s *Service) noteUnmeasured(r history.Record, driver string) {
	if UsageMeasured(driver) || s.unmeasured[r.Run] {
		return
	}
	s.unmeasured[r.Run] = true
	s.log.Info("allocations of this driver are recorded without memory or CPU figures, which the predictor then does not learn:"+
		" Nomad's stats for it count the driver's executor process and miss short-lived child processes",
		"run", r.Run, "driver", driver, "alloc", r.Alloc)
}

// perTask returns the records of allocation a, whose whole-allocation
// record is shard: one per task when its job names a fused shard's tasks
// and its task times (times, or the error reading them) are usable
// (TaskRecords), else shard alone, saying why in the log.
func (s *Service) perTask(a *api.Allocation, shard history.Record, times []byte, readErr error) []history.Record {
	meta := allocMeta(a)
	if !HasTaskManifest(meta) {
		return []history.Record{shard}
	}
	err := readErr
	var recs []history.Record
	if err == nil {
		recs, err = TaskRecords(shard, meta, times)
	}
	if err == nil {
		return recs
	}
	log := s.log.Warn
	if !shard.OK() {
		log = s.log.Info // a failed shard's times stop early, as expected
	}
	log("fused shard recorded as one record, not one per task: its task times are not usable",
		"alloc", a.ID, "signature", shard.Signature, "error", err)
	return []history.Record{shard}
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	return ctxutil.Sleep(ctx, d) == nil
}
