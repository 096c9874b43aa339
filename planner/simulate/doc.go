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
//   - Queueing. Ready shards wait in one queue per class, served in the
//     order the plan booked them (shard.StartSeconds, earliest first), then
//     by ready time, then by position in plan.Shards; a plan that books no
//     schedule (every StartSeconds 0) is served by ready time and plan
//     order. This is a launcher that releases the shards of a class in its
//     plan's order. A ready shard starts as soon as an instance of its
//     class is free and no shard ahead of it in the queue is waiting; it
//     takes the free instance with the lowest number. Nothing is pre-empted
//     and no instance is held back for a shard that is not ready yet, even
//     one booked earlier (greedy, work-conserving list scheduling).
//   - Events at one instant are all applied (finishes free instances,
//     channels arrive, shards become ready) before any shard is started at
//     that instant, so the result does not depend on the order of
//     simultaneous events.
//
// The simulator reads the plan's shards (Class, RuntimeSeconds, Upstream,
// and StartSeconds as a queue priority only) and channels (From, To,
// Bytes); it recomputes transfer times from the catalog and ignores the
// rest of the plan's predicted schedule (FinishSeconds, TransferSeconds,
// MakespanSeconds), which it can be compared with.
//
// The makespan is the latest finish over all shards (0 for an empty plan).
// A class's utilisation is its busy instance-seconds (start-up included)
// divided by Instances x makespan.
//
// Run is deterministic: the same plan, catalog and Options give the same
// Result, bit for bit. The event queue is a binary heap (container/heap)
// ordered by time and then by insertion order; time jumps from event to
// event, with no time step.
//
// See docs/simulator.md for the model's assumptions and limits.
package simulate
