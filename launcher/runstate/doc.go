// Package runstate keeps a run's durable state in Nomad itself, as Nomad
// Variables (/v1/var, Nomad 1.4 and later), so that a run outlives the
// process that drives it: any launcher that can reach Nomad can read the
// run back and continue it.
//
// # Layout
//
// A run's variables live in the namespace of its jobs, under
// shardwise/runs/<run> (a run ID's '.' is written '~', since Nomad's
// variable paths allow [A-Za-z0-9-_~/]):
//
//	shardwise/runs/<run>                 the head: status, holder's lease,
//	                                     progress, and where the spec is
//	shardwise/runs/<run>/spec/<n>/<i>    the spec (plan, jobs, options,
//	                                     inputs), written once, in chunks
//	shardwise/runs/<run>/progress/<g>/<i> progress too big for the head
//
// Every value is JSON compressed with zstd (klauspost/compress) and
// base64-encoded, split into items of at most ChunkBytes so that each
// variable stays under Nomad's 64 KiB limit. The head records each
// blob's chunk paths and SHA-256, so a reader detects a missing or
// corrupt chunk instead of acting on half a state.
//
// # Holding a run
//
// Only the holder of a run's lease drives it. Every write of the head is
// a check-and-set on the head's modify index (?cas=N), so two launchers
// can never both write progress: the second one's write conflicts and it
// learns who holds the run. A lease expires (Lease.Expires) unless its
// holder renews it, so a launcher that died (kill -9, a lost node) lets
// another pick the run up after at most one lease period. Progress chunks
// are written before the head that names them, and the old ones removed
// after, so a reader never sees a head naming chunks that are not there.
//
// # Errors
//
// Reading an unknown run returns an error wrapping ErrNotFound; a state
// written by an incompatible version of Shardwise one wrapping
// ErrIncompatible; a state that does not decode one wrapping ErrCorrupt;
// a run another launcher holds a *HeldError; a run that has ended (or was
// stopped) one wrapping ErrEnded. Errors of the Nomad API (unreachable
// agent, ACL refusal) are wrapped with the variable path.
package runstate
