package simulate

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
)

// Options tune a simulation. The zero value runs the plan's predictions
// exactly and records no events.
type Options struct {
	// Actual, when set, gives the runtimes the shards really take (see
	// Actual): the plan is played with them instead of its predictions
	// (RuntimeSeconds), which stay what the plan was built from. Every
	// task of every shard must have one on its shard's class.
	Actual Actual
	// Noise is the relative standard deviation (coefficient of variation)
	// of the lognormal factor each shard's runtime is multiplied by; 0.2
	// means runtimes are off by about ±20%. 0 runs predicted runtimes
	// exactly. It must be finite and not negative.
	Noise float64
	// Seed seeds the noise generator. Equal seeds give equal runtimes.
	Seed uint64
	// Binder, when set, late-binds every shard's class when it becomes
	// ready (see Binder); it needs Actual, for the runtime on the class a
	// shard moves to. Channel transfers then take the bandwidth of the
	// classes their ends have when the transfer starts (the consumer's
	// planned class, if it has not been bound yet).
	Binder Binder
	// Dispatch models the launcher between a shard's being ready and its
	// job's being registered with Nomad (see Dispatch). The zero value
	// registers at once: a ready shard joins its class's queue the moment
	// it is ready.
	Dispatch Dispatch
	// RecordEvents asks Run to return every event in Result.Events.
	RecordEvents bool
}

// Dispatch is the launcher's part of a shard's way from ready to placed,
// measured apart from the class's start-up (catalog.Class.Startup, the
// allocation's placed -> running) because the two are paid differently:
// every shard pays the launcher's reaction and its registration, which
// hold no instance, while a shard whose class is full when its job is
// registered waits in Nomad's queue and, placed the moment a slot frees,
// pays only the start-up there. A shard that becomes ready at r is handed
// to the registrar at r + ReactionSeconds; the registrar registers jobs
// in place.DispatchBefore order (ready time, then plan order), at most
// RegisterConcurrency at a time, each taking RegisterSeconds; a
// registered shard joins its class's queue (ordered by registration time,
// then plan order) and holds an instance from its placement for its
// class's start-up plus its runtime. An instance whose shard finished at
// f takes its next shard from f + ReleaseSeconds (Nomad's hand-over of the
// slot). docs/simulator.md says how the values are estimated from a real
// run's Nomad timestamps.
type Dispatch struct {
	// ReactionSeconds is the launcher's reaction: from a shard's last
	// upstream finish to the launcher's starting its registration
	// (event delivery and the launcher's own work), in seconds.
	ReactionSeconds float64
	// RegisterSeconds is one job registration's duration (Nomad's write
	// and evaluation), in seconds.
	RegisterSeconds float64
	// RegisterConcurrency is how many registrations are in flight at once
	// (launcher.Options.RegisterConcurrency); 0 or less means no bound.
	RegisterConcurrency int
	// ReleaseSeconds is how long an instance stays unavailable after its
	// shard finished, in seconds: the client reports the allocation
	// complete, Nomad unblocks the evaluations waiting for capacity and
	// the scheduler runs again before a queued allocation is placed on
	// the freed slot. The shard's completion (its downstream shards'
	// readiness, its channels) is not delayed; a shard registered once the
	// release is over is placed at once.
	ReleaseSeconds float64
	// PlaceSeconds is the scheduler's time per placement of a shard that
	// finds a free instance when its job is registered, in seconds: such
	// placements go one at a time (Nomad's leader applies plans one after
	// another), so a wave of N registered shards is placed over N x
	// PlaceSeconds. A shard that waited in its class's queue for an
	// instance is placed when the instance is released (its wait for the
	// scheduler is part of ReleaseSeconds, measured the same way). The
	// instance is held from the scheduler's decision.
	PlaceSeconds float64
	// Congestion makes the release grow with the cluster's sustained
	// completion rate (see Congestion); the zero value keeps it at
	// ReleaseSeconds.
	Congestion Congestion
}

// Congestion is the part of Nomad's hand-over of a freed slot that grows
// with the cluster's throughput: the client's report, the blocked
// evaluations' unblocking and the scheduler's pass share the host with
// every other allocation's start and completion, and the measured
// hand-over stays flat up to a sustained rate and grows beyond it
// (docs/replay.md, "Hand-over"). An instance whose shard finished at t is
// released at
//
//	t + ReleaseSeconds + SecondsPerRate x max(0, r - KneePerSecond)
//
// where r is the number of shards that finished in (t - WindowSeconds, t]
// (every class; all of the instant t's finishes included) over
// WindowSeconds. The zero value (SecondsPerRate 0) adds nothing.
type Congestion struct {
	// WindowSeconds is the trailing window the rate is counted over, in
	// seconds; it must be positive when SecondsPerRate is.
	WindowSeconds float64
	// KneePerSecond is the completion rate (shards per second) up to
	// which the release is ReleaseSeconds.
	KneePerSecond float64
	// SecondsPerRate is the release's growth per shard per second of
	// completion rate above the knee, in seconds.
	SecondsPerRate float64
}

// extra is the release's growth at completion rate r, in seconds.
func (c Congestion) extra(r float64) float64 {
	return c.SecondsPerRate * max(0, r-c.KneePerSecond)
}

// registersAtOnce reports whether d registers every ready shard the
// moment it is ready (no reaction, no registration time).
func (d Dispatch) registersAtOnce() bool { return d.ReactionSeconds == 0 && d.RegisterSeconds == 0 }

func (d Dispatch) check() error {
	c := d.Congestion
	for _, v := range []float64{d.ReactionSeconds, d.RegisterSeconds, d.ReleaseSeconds, d.PlaceSeconds, c.WindowSeconds, c.KneePerSecond, c.SecondsPerRate} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: dispatch %+v: times and rates must be finite and >= 0", ErrInvalid, d)
		}
	}
	if c.SecondsPerRate > 0 && c.WindowSeconds == 0 {
		return fmt.Errorf("%w: dispatch %+v: congestion needs a window", ErrInvalid, d)
	}
	return nil
}

// Result is the outcome of one simulated run.
type Result struct {
	// MakespanSeconds is the time from the run's start (0) to the last
	// shard's finish, in seconds.
	MakespanSeconds float64
	// Shards holds each shard's simulated schedule, in plan order.
	Shards []ShardRun
	// Classes holds the use of every class the plan places a shard on, in
	// catalog order.
	Classes []ClassStats
	// BytesMoved is the sum of the plan's channel sizes, in bytes.
	BytesMoved int64
	// Allocations is the number of Nomad allocations the run makes: one per
	// shard, each split piece counted.
	Allocations int
	// Events lists every event in the order it was applied; nil unless
	// Options.RecordEvents was set.
	Events []Event
}

// ShardRun is one shard's simulated schedule. Times are seconds from the
// run's start.
type ShardRun struct {
	ID    string
	Class string
	// Instance is the number (0-based) of the class instance the shard ran
	// on.
	Instance int
	// ReadySeconds is when the shard's upstream shards had finished and its
	// input channels had arrived.
	ReadySeconds float64
	// RegisteredSeconds is when its job was registered and it joined its
	// class's queue: ReadySeconds plus the launcher's reaction and
	// registration (Options.Dispatch); ReadySeconds without a dispatch
	// model.
	RegisteredSeconds float64
	// StartSeconds is when the shard took its instance (the allocation was
	// placed); start-up latency begins here.
	StartSeconds float64
	// StartupSeconds is the class's start-up latency the shard paid.
	StartupSeconds float64
	// RuntimeSeconds is the simulated runtime (the plan's prediction, or
	// the actual one with Options.Actual), noise applied, start-up
	// excluded.
	RuntimeSeconds float64
	// FinishSeconds is StartSeconds + StartupSeconds + RuntimeSeconds.
	FinishSeconds float64
}

// WaitSeconds is the time the shard queued for an instance after it was
// ready, in seconds.
func (s ShardRun) WaitSeconds() float64 { return s.StartSeconds - s.ReadySeconds }

// ClassStats summarises one executor class over a run.
type ClassStats struct {
	Class     string
	Instances int
	// Shards is the number of shards that ran on the class.
	Shards int
	// InstancesUsed is the number of distinct instances that ran a shard;
	// they are instances 0 .. InstancesUsed-1.
	InstancesUsed int
	// BusySeconds is the sum over the class's shards of start-up plus
	// runtime, in instance-seconds.
	BusySeconds float64
	// StartupSeconds is the part of BusySeconds spent in start-up latency.
	StartupSeconds float64
	// Utilisation is BusySeconds / (Instances x makespan), in [0, 1]; 0
	// when the makespan is 0.
	Utilisation float64
}

// Shard returns the run of the shard with the given ID, or nil.
func (r *Result) Shard(id string) *ShardRun {
	for i := range r.Shards {
		if r.Shards[i].ID == id {
			return &r.Shards[i]
		}
	}
	return nil
}

// Errors Run returns, wrapped with the names involved; test with errors.Is.
// A cycle is reported as a *CycleError.
var (
	ErrUnknownClass = errors.New("unknown executor class")
	ErrUnknownShard = errors.New("unknown shard")
	ErrInstances    = errors.New("class has no instances")
	ErrBandwidth    = errors.New("class has no bandwidth")
	ErrInvalid      = errors.New("invalid input")
)

// CycleError reports shards that wait on one another through Upstream or
// channels. Shards lists one cycle in dependency order, the first shard
// repeated at the end (a -> b -> a).
type CycleError struct {
	Shards []string
}

func (e *CycleError) Error() string {
	return "shard dependency cycle: " + strings.Join(e.Shards, " -> ")
}

// Run simulates plan p on the classes of cat and returns the schedule.
//
// It returns an error, and no result, if a shard names a class cat lacks
// (ErrUnknownClass), a shard's Upstream or a channel names a shard p lacks
// or two shards share an ID (ErrUnknownShard), a class a shard uses has no
// instances (ErrInstances), a channel carries bytes between classes one of
// which has no bandwidth (ErrBandwidth), a runtime, channel size, start-up
// latency or Options.Noise is negative or not finite (Noise: or its
// square not finite, above about 1.3e154) or a shard's
// StartSeconds is not finite (ErrInvalid), or the shards'
// dependencies form a cycle (*CycleError). p and cat are not modified.
func Run(p *plan.Plan, cat *catalog.Catalog, opts Options) (*Result, error) {
	if p == nil || cat == nil {
		return nil, fmt.Errorf("%w: nil plan or catalog", ErrInvalid)
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	m, err := newModel(p, cat, opts)
	if err != nil {
		return nil, err
	}
	return play(m, opts)
}

// check returns the error of options that no plan can be simulated with.
func (opts Options) check() error {
	// The lognormal's variance is log(1 + noise²): a noise whose square
	// overflows would make every runtime NaN and the simulation endless.
	if opts.Noise < 0 || math.IsNaN(opts.Noise) || math.IsInf(opts.Noise*opts.Noise, 0) {
		return fmt.Errorf("%w: noise %v: want a finite value >= 0 whose square is finite", ErrInvalid, opts.Noise)
	}
	return opts.Dispatch.check()
}

// play simulates model m, made for opts.
func play(m *model, opts Options) (*Result, error) {
	s := newSim(m, opts.RecordEvents)
	s.dispatchModel = opts.Dispatch
	if err := s.run(); err != nil {
		return nil, err
	}
	return s.result(), nil
}

// Prepared is a plan resolved against a catalog and checked once, to be
// simulated several times: the robust guard plays one plan in three
// scenarios, and resolving a plan of 10,000 shards costs about as much as
// simulating it. It is safe for concurrent use.
type Prepared struct {
	p   *plan.Plan
	cat *catalog.Catalog
	m   *model
}

// Prepare resolves p against cat for Prepared.Run. It returns the errors
// of Run that do not depend on the options (an unknown class or shard, a
// class without instances or bandwidth, an invalid runtime, size or
// start, a cycle). p and cat must not change while it is used.
func Prepare(p *plan.Plan, cat *catalog.Catalog) (*Prepared, error) {
	if p == nil || cat == nil {
		return nil, fmt.Errorf("%w: nil plan or catalog", ErrInvalid)
	}
	m, err := resolve(p, cat, false)
	if err != nil {
		return nil, err
	}
	return &Prepared{p: p, cat: cat, m: m}, nil
}

// Run is Run(p, cat, opts) for the prepared plan: the same result and the
// same errors. With a Binder, which may move a shard to any class, the
// plan is resolved again.
func (pr *Prepared) Run(opts Options) (*Result, error) {
	if opts.Binder != nil {
		return Run(pr.p, pr.cat, opts)
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	m, err := pr.m.forRun(opts)
	if err != nil {
		return nil, err
	}
	return play(m, opts)
}
