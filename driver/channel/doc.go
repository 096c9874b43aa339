// Package channel moves the data on a shard plan's edges between the shard
// driver plugins of one run.
//
// A producer's driver publishes each output channel: a file or directory
// the task wrote (stored, hard-linked or copied, under Config.DataDir so that
// Nomad's garbage collection of the task directory does not lose it) or a
// stream served while the task runs (the task's output file as it grows,
// which survives a plugin restart, or with Config.MemoryStreams a bounded
// in-memory window fed from a named pipe). Each driver
// plugin process runs one Server that serves every channel it published.
// A consumer's driver finds the producer through the registry (Consul, see
// package registry), pulls the bytes with Fetch or FetchStream, verifies them
// and hands them to its task before (files) or while (streams) it runs.
//
// Every connection is mutual TLS 1.3 with Consul Connect identities
// (package connect; Config.InsecureChannels turns it off, loudly), the
// intentions deciding which services may pull. Inside it, the wire
// protocol is specified in docs/channels.md and in wire.go: a
// mutually authenticated handshake (HMAC-SHA256 over both peers' nonces
// with a per-run key, see RunKey), then length-prefixed frames, each with
// its stream offset and the CRC-32C of its uncompressed bytes, optionally
// zstd-compressed, and a final frame carrying the total size in bytes and
// the SHA-256 of the whole stream, authenticated with the run key. Clients
// write files to a ".part" file, fsync it and rename it only after the
// whole stream verified; after a broken connection they reconnect with the
// number of bytes durably written as the resume offset, with bounded retries
// and exponential backoff (RetryPolicy), and fail with ErrUpstreamGone once
// the retries are spent.
//
// Memory streams apply back-pressure: a producer may run at most the
// stream window (Config.StreamWindow bytes) ahead of what its consumer
// acknowledged as delivered, so memory stays bounded and a slow consumer
// slows the producer. File streams never hold the producer back.
package channel
