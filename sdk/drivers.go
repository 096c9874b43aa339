package sdk

import (
	"fmt"
	"slices"
)

// Task drivers a Shardwise job may use.
const (
	// DriverRawExec runs the shard's command on the host without isolation.
	DriverRawExec = "raw_exec"
	// DriverExec runs the shard's command in Nomad's chroot and cgroups.
	DriverExec = "exec"
	// DriverShard is Shardwise's own task driver (nomad-driver-shard),
	// which receives the shard's tasks and channels in its config
	// (TaskConfig) and runs the tasks itself.
	DriverShard = "shard"
	// DefaultDriver is the driver of a plan whose graph and options name
	// none.
	DefaultDriver = DriverRawExec
)

// Drivers returns the valid task drivers, in the order messages list them.
func Drivers() []string { return []string{DriverRawExec, DriverExec, DriverShard} }

// ValidDriver reports whether d is one of Drivers.
func ValidDriver(d string) bool { return slices.Contains(Drivers(), d) }

// PickDriver returns the first non-empty of flagValue (a command-line or
// option choice) and graphValue (the graph's driver attribute), else
// DefaultDriver. It does not check the result: see CheckDriver.
func PickDriver(flagValue, graphValue string) string {
	switch {
	case flagValue != "":
		return flagValue
	case graphValue != "":
		return graphValue
	default:
		return DefaultDriver
	}
}

// CheckDriver returns an error naming the valid drivers when d is not one
// of them.
func CheckDriver(d string) error {
	if ValidDriver(d) {
		return nil
	}
	return fmt.Errorf("unknown driver %q: want %q, %q or %q", d, DriverRawExec, DriverExec, DriverShard)
}
