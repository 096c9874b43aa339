package nomadjob

import (
	"fmt"

	"github.com/shardwise/shardwise/sdk"
)

// Defaults applied by Options when a field is zero.
const (
	// DefaultShell interprets the script of a fused shard under raw_exec or
	// exec.
	DefaultShell = "/bin/sh"
	// DefaultMemoryMaxFactor is memory_max / memory on a class that allows
	// memory oversubscription, when the plan gives no memory_max_mib.
	DefaultMemoryMaxFactor = 1.5
)

// Nomad's defaults and minimums for a task's resources, used when the plan
// predicts nothing (zero) or less than Nomad accepts.
const (
	defaultCPUMHz    = 100 // Nomad's default cpu
	defaultMemoryMiB = 300 // Nomad's default memory
	minMemoryMiB     = 10  // Nomad rejects less
	minCPUMHz        = 1   // Nomad rejects less
)

// Options tune how Jobs builds jobs. The zero value is usable.
type Options struct {
	// Driver is the Nomad task driver of every job: "raw_exec", "exec" or
	// "shard". Empty means the plan's Driver, and "raw_exec" if that is
	// empty too.
	Driver string
	// Shell is the interpreter that runs a fused shard's script under
	// raw_exec or exec, invoked as Shell -c SCRIPT. Empty means "/bin/sh".
	Shell string
	// MemoryMaxFactor sets memory_max to memory x MemoryMaxFactor on classes
	// that allow oversubscription, capped at the class instance's memory.
	// Zero means 1.5. A shard's own MemoryMaxMiB takes precedence.
	MemoryMaxFactor float64
}

// resolve returns o with defaults filled in, taking the driver from the plan
// when o names none. It returns an error for an unknown driver or a
// MemoryMaxFactor below 1.
func (o Options) resolve(planDriver string) (Options, error) {
	o.Driver = sdk.PickDriver(o.Driver, planDriver)
	if err := sdk.CheckDriver(o.Driver); err != nil {
		return o, err
	}
	if o.Shell == "" {
		o.Shell = DefaultShell
	}
	if o.MemoryMaxFactor == 0 {
		o.MemoryMaxFactor = DefaultMemoryMaxFactor
	}
	if o.MemoryMaxFactor < 1 {
		return o, fmt.Errorf("memory_max factor %g: must be at least 1", o.MemoryMaxFactor)
	}
	return o, nil
}
