// Package simulate runs a shard plan on a modelled cluster: a deterministic
// discrete-event simulation of a plan.Plan on the executor classes of a
// catalog.Catalog. It answers "how long would this plan take, and how busy
// would each class be" without Nomad, so that planners can be compared,
// their predictions stress-tested under runtime error, and schedules drawn
// as Gantt charts (WriteGanttSVG, WriteGanttHTML). LowerBound and SLR put a
// makespan in proportion to what no schedule can beat.
//
// # Model
//
// All times are float seconds from the start of the run; all sizes are
// bytes.
//
//   - Capacity. Class c has c.Instances identical instances, numbered from
//     0. An instance runs one shard at a time. Every shard of the plan (each
//     piece of a split task is a shard of its own) is one Nomad allocation
//     and occupies one instance of its class for c.Startup (start-up
//     latency: placement, image pull, artifact download) plus its runtime.
//   - Runtime. A shard's runtime is shard.RuntimeSeconds.Value, multiplied,
//     when Options.Noise > 0, by a lognormal factor with mean 1 and
//     coefficient of variation Options.Noise, drawn from a PCG generator
//     seeded with Options.Seed, one draw per shard in plan order. The noise
//     models prediction error; Noise 0 runs the plan's predictions exactly.
//   - Channels. A channel's transfer starts when its producer shard
//     finishes and lasts Bytes / min(bandwidth of the producer's class,
//     bandwidth of the consumer's class) seconds; a channel of 0 bytes
//     arrives at once. Transfers do not contend with one another or with
//     running shards (a link carries any number of transfers at once, each
//     at full bandwidth), and a transfer between shards of one class
//     still pays its time (data goes through shared storage, not memory).
//     Stream channels are modelled as ordinary transfers after the producer
//     ends, which over-estimates them.
//   - Readiness. A shard is ready when every shard in its Upstream has
//     finished and every channel into it has arrived; a shard with neither
//     is ready at time 0.
//   - Queueing (the one dispatch policy, place.DispatchBefore, which the
//     planner's own replay uses too). The launcher submits a shard's job
//     when its upstream shards have completed, and Nomad places a class's
//     queued allocations first come, first served on the first free node:
//     so ready shards wait in one queue per class, served by ready time,
//     then by position in plan.Shards, whatever start the plan booked
//     (StartSeconds is not read for dispatch). A ready shard starts as soon
//     as an instance of its class is free and no shard ahead of it in the
//     queue is waiting; it takes the free instance with the lowest number.
//     Nothing is pre-empted and no instance is held back.
//   - Runtimes. By default each shard runs its predicted RuntimeSeconds.
//     With Options.Actual the simulator takes what really happened
//     separately from the plan: a shard of several tasks (fused or batched)
//     runs the sum of its tasks' actual runtimes on its class, a piece of a
//     split task its share (items, else bytes, else 1/count) of the whole
//     task's.
//   - Events at one instant are all applied (finishes free instances,
//     channels arrive, shards become ready) before any shard is started at
//     that instant, so the result does not depend on the order of
//     simultaneous events.
//
// The simulator reads the plan's shards (Class, RuntimeSeconds or, with
// Options.Actual, Tasks and Split, Upstream) and channels (From, To,
// Bytes); it recomputes transfer times from the catalog and ignores the
// rest of the plan's predicted schedule (FinishSeconds, TransferSeconds,
// MakespanSeconds), which it can be compared with.
//
// The makespan is the latest finish over all shards (0 for an empty plan).
// A class's utilisation is its busy instance-seconds (start-up included)
// divided by Instances x makespan.
//
// Run is deterministic: the same plan, catalog and Options give the same
// Result, bit for bit. The event queue is a binary heap (planner/pq)
// ordered by time and then by insertion order; time jumps from event to
// event, with no time step.
//
// See docs/simulator.md for the model's assumptions and limits.
package simulate
