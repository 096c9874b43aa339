// Package launcher runs a shard plan on Nomad: the stage after the
// translator in the flow graph -> plan -> jobs -> runs. It submits the
// plan's jobs through github.com/hashicorp/nomad/api in dependency order,
// follows them on Nomad's event stream until every shard has completed or
// one has failed for good, and reports what ran where against what the
// plan predicted.
//
// # Order
//
// Each Nomad job (one per plan.Shard.Job; the pieces of a split task share
// one) is a unit of submission. Jobs whose shards are joined by a
// streaming channel (plan.Channel.Stream) form one submission group and
// are registered together, since a stream needs both ends running. A
// group is registered when every shard that its shards wait for
// (plan.Shard.Upstream), outside the group, is complete.
//
// A batch job is complete when each of its allocations (count N for a
// split job) has completed; a service job counts as complete for its
// downstream shards once each of its allocations is running and healthy
// (the deployment's health, or a running task when the job has no
// deployment), and keeps running after the run ends.
//
// # Events
//
// Progress comes from /v1/event/stream (Job, Allocation and Evaluation
// topics, filtered to the run's jobs), not from polling. When the stream
// breaks, the launcher reconnects from the last index it saw, and after
// every connect it reads the current state of the submitted jobs once, so
// that events which fell out of Nomad's event buffer are not missed.
//
// # Data locality
//
// When a job is submitted after its upstream shards have run, and a node
// that ran an upstream shard also serves the job's class (it satisfies the
// job's ${node.class} constraint, or the job has none), the submitted job
// carries an affinity to that node on ${node.unique.id}, weighted by the
// share of the channel bytes that node produced, so that channel data can
// stay on the node as the plan's transfer costs assumed.
//
// # Failures
//
// Nomad's restart and reschedule policies, which the translator sets from
// the plan, act first. When Nomad gives up on a job (the job is dead
// without every allocation complete, or a service allocation is
// unhealthy), the launcher registers it again with a new
// shardwise_attempt meta value, up to Options.Retries times. On a final
// failure it reads the failed task's events and the tail of its stderr
// (alloc/logs/TASK.stderr.N through the client file system API), stops
// every job of the run still running, and returns a *FailedError. When ctx
// is cancelled it stops the run's jobs the same way. Stopped jobs are not
// purged: they stay in Nomad for inspection (nomad job status JOB) until
// Nomad's garbage collection or `shardwise stop -purge RUN`.
//
// A consumer whose input a completed producer can no longer serve (its
// node or channel data lost) fails with the shard driver's
// sdk.UpstreamGoneTag in its task events. The launcher then stops and
// holds the consumer, registers the producer's job again, and registers
// the consumer again, naming the new producer allocation, once the
// producer is complete: at most MaxReruns times per producer, spending
// neither job's retries, listed in Report.Reruns.
//
// # Closed loop
//
// Options.Replanner, when set, is asked before every submission wave which
// of the jobs about to be submitted should move to another executor class
// (package launcher/replan decides from fresh history and the cluster's
// load); a move replaces the job before its first registration, after
// Nomad has validated it, and is listed in Report.Replans. Options.OOMRetry,
// when set, is asked about a failed allocation before its job is retried:
// for an OOM kill the retry asks for the memory it returns, listed in
// Report.Resizes.
//
// # Runs
//
// Every job carries its run ID in the shardwise_run meta key, so Find,
// Status and Stop act on a run from any shell, by listing the jobs whose
// meta names it.
package launcher
