// Package feedback closes Shardwise's loop: it watches the shards that
// the launcher runs on Nomad and writes what each allocation used into a
// history store that the predictor learns from. It is the stage after the
// launcher in the flow graph -> plan -> jobs -> runs -> history.
//
// # Service
//
// Service follows /v1/event/stream (Allocation and Job topics, every
// namespace by default). An allocation belongs to Shardwise when its job
// or group carries shardwise_signature and shardwise_run meta. While such
// an allocation runs, the service reads /v1/client/allocation/:id/stats
// every Config.Interval (and once as soon as it starts), keeping the mean
// and peak CPU percent, the mean CPU ticks (MHz in use) and the peak
// memory (RSS plus swap, or the cgroup's max usage where measured). When
// the allocation turns terminal (complete, failed or lost) the service
// reads it in full and commits one history.Record (see BuildRecord), or
// for a fused shard whose job names its tasks one record per task, timed by
// the shard's task times file (see TaskRecords). Under raw_exec, whose
// stats count Nomad's executor and miss short-lived children, the record
// leaves memory and CPU at 0, unmeasured (UsageMeasured), and the log says
// so once per run.
//
// # Store
//
// Store is one SQLite database (modernc.org/sqlite, pure Go) in WAL mode
// with a versioned schema (PRAGMA user_version; migrations run one
// transaction each on Open). Records are keyed by allocation ID, so
// replaying events writes no duplicates. The same transaction that writes
// an event batch's records advances the stored event cursor; the running
// usage of sampled allocations is saved after every sampling round. A
// service restricted to one run (Config.Run, as `run -feedback` starts it)
// keeps a cursor of its own (RunCursor), so it never moves a shared
// service's cursor past allocations of other runs it did not record.
//
// # Faults
//
// When the stream breaks (Nomad or the network gone) the service waits
// (MinBackoff doubling to MaxBackoff) and reconnects from the cursor, then
// reconciles: it lists allocations and records every terminal Shardwise
// allocation modified after the cursor that the store lacks (events a
// restarted Nomad no longer has), and resumes sampling the running ones.
// A restart of the service itself resumes the same way, with the usage
// saved so far. A full disk fails the transaction (rolled back; the error
// wraps ErrDiskFull) and ends Run, with the cursor still at the last
// committed batch.
//
// # Closed loop
//
// Advisor gives a launcher the current load per node class and blocked
// evaluations per executor class, the fresh history, and a predictor
// refitted from it; OOMRecord tells an OOM-killed shard's allocation
// (launcher/replan.OOMRetry sizes its retry). Report computes the predictor's error per signature and class
// from records that carry the predictions they were sized by.
package feedback
