// Package sdk holds the contracts between Shardwise's components, each in
// one place, as nomad-autoscaler's sdk does for its plugins: the Nomad job
// meta keys the translator writes and the launcher and feedback service
// read, the task drivers jobs may use, and the shard driver's task config,
// which translator/nomadjob fills and the driver decodes.
//
// It imports nothing from Shardwise, so that every component (the driver
// included, which must not depend on the planner) can import it.
package sdk
