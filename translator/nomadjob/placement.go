package nomadjob

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
)

// Attributes Shardwise constrains on.
const (
	attrNodeClass    = "${node.class}"
	attrDeviceMemory = "${device.attr.memory}"
)

// groupConstraints returns the class's placement as group constraints: the
// node class first, then the class's own constraints in catalog order.
func groupConstraints(class *catalog.Class) []*api.Constraint {
	var out []*api.Constraint
	if nc := class.Placement.NodeClass; nc != "" {
		out = append(out, api.NewConstraint(attrNodeClass, "=", nc))
	}
	return append(out, constraints(class.Placement.Constraints)...)
}

// checkTargets rejects a class whose constraints Nomad cannot resolve
// (catalog.CheckTarget): Nomad would accept the job and never place it. A
// loaded catalog has been checked already; this guards catalogs built in
// code.
func checkTargets(class *catalog.Class) error {
	check := func(cs []catalog.Constraint, device bool) error {
		for _, c := range cs {
			if c.Attribute != "" {
				if err := catalog.CheckTarget(c.Attribute, device); err != nil {
					return fmt.Errorf("class %s: constraint attribute: %w", class.Name, err)
				}
			}
			if strings.HasPrefix(c.Value, "${") {
				if err := catalog.CheckTarget(c.Value, device); err != nil {
					return fmt.Errorf("class %s: constraint value: %w", class.Name, err)
				}
			}
		}
		return nil
	}
	if err := check(class.Placement.Constraints, false); err != nil {
		return err
	}
	if d := class.Placement.Device; d != nil {
		return check(d.Constraints, true)
	}
	return nil
}

// constraints converts catalog constraints; an empty operator means "=".
func constraints(cs []catalog.Constraint) []*api.Constraint {
	var out []*api.Constraint
	for _, c := range cs {
		op := c.Operator
		if op == "" {
			op = "="
		}
		out = append(out, api.NewConstraint(c.Attribute, op, c.Value))
	}
	return out
}

// maxResources returns, field by field, the largest request of the shards:
// the one ask a group of split pieces makes for every allocation.
func maxResources(shards []*plan.Shard) plan.Resources {
	r := shards[0].Resources
	for _, s := range shards[1:] {
		o := s.Resources
		r.CPU.Value = math.Max(r.CPU.Value, o.CPU.Value)
		r.MemoryMiB.Value = math.Max(r.MemoryMiB.Value, o.MemoryMiB.Value)
		r.Cores = max(r.Cores, o.Cores)
		r.MemoryMaxMiB = max(r.MemoryMaxMiB, o.MemoryMaxMiB)
		r.DiskMiB = max(r.DiskMiB, o.DiskMiB)
		r.GPUs = max(r.GPUs, o.GPUs)
		r.GPUMemoryMiB = max(r.GPUMemoryMiB, o.GPUMemoryMiB)
	}
	return r
}

// resources builds the task's resources block from the shard's predicted
// needs: cores (whole cores) when the shard reserves any, else cpu in MHz;
// memory in MiB; memory_max in MiB on classes that allow oversubscription;
// and the class's device when the shard needs GPUs. Predictions are rounded
// up; zero means Nomad's default (100 MHz, 300 MiB).
func resources(r plan.Resources, class *catalog.Class, o Options) (*api.Resources, error) {
	out := &api.Resources{}
	if r.Cores < 0 {
		return nil, fmt.Errorf("cores %d: must not be negative", r.Cores)
	}
	if r.Cores > 0 {
		out.Cores = new(r.Cores)
	} else {
		cpu, err := roundUp(r.CPU.Value, "cpu_mhz", defaultCPUMHz, minCPUMHz)
		if err != nil {
			return nil, err
		}
		out.CPU = new(int(cpu))
	}
	mem, err := roundUp(r.MemoryMiB.Value, "memory_mib", defaultMemoryMiB, minMemoryMiB)
	if err != nil {
		return nil, err
	}
	out.MemoryMB = new(int(mem))
	memMax, err := memoryMax(mem, r.MemoryMaxMiB, class, o.MemoryMaxFactor)
	if err != nil {
		return nil, err
	}
	if memMax > 0 {
		out.MemoryMaxMB = new(int(memMax))
	}
	dev, err := device(r, class)
	if err != nil {
		return nil, err
	}
	if dev != nil {
		out.Devices = []*api.RequestedDevice{dev}
	}
	return out, nil
}

// roundUp rounds a prediction up to whole units: zero gives def, anything
// else at least floor. It returns an error for a negative, NaN or infinite
// prediction, or one beyond 2^31 units.
func roundUp(v float64, field string, def, floor int64) (int64, error) {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0) || v < 0:
		return 0, fmt.Errorf("%s %v: must be a finite, non-negative number", field, v)
	case v > math.MaxInt32:
		return 0, fmt.Errorf("%s %v: too large", field, v)
	case v == 0:
		return def, nil
	}
	// Shave float noise so 512.0000000001 MiB stays 512.
	return max(int64(math.Ceil(v-1e-9)), floor), nil
}

// memoryMax returns memory_max in MiB, or 0 for none. On a class with
// Oversubscribe it is the shard's own MemoryMaxMiB or mem x factor, capped
// at the instance's memory, and dropped when not above mem. A class
// without Oversubscribe must not be asked for more than mem.
func memoryMax(mem, asked int64, class *catalog.Class, factor float64) (int64, error) {
	if asked < 0 {
		return 0, fmt.Errorf("memory_max_mib %d: must not be negative", asked)
	}
	if !class.Oversubscribe {
		if asked > mem {
			return 0, fmt.Errorf("memory_max_mib %d above memory %d MiB, but class %s does not allow memory oversubscription", asked, mem, class.Name)
		}
		return 0, nil
	}
	m := asked
	if m == 0 {
		m = int64(math.Ceil(float64(mem) * factor))
	}
	if limit := class.Shape.MemoryMiB; limit > 0 {
		m = min(m, limit)
	}
	if m <= mem {
		return 0, nil
	}
	return m, nil
}

// device returns the class's device request for a shard that needs GPUs,
// nil for one that needs none. The catalog's device constraints are kept;
// when the shard needs a GPU memory the catalog does not already constrain,
// a "${device.attr.memory} >= N MiB" constraint is added.
func device(r plan.Resources, class *catalog.Class) (*api.RequestedDevice, error) {
	if r.GPUs < 0 {
		return nil, fmt.Errorf("gpus %d: must not be negative", r.GPUs)
	}
	if r.GPUs == 0 {
		return nil, nil
	}
	d := class.Placement.Device
	if d == nil || d.Name == "" {
		return nil, fmt.Errorf("needs %d GPUs but class %s has no device", r.GPUs, class.Name)
	}
	if n := class.Shape.GPUs; n > 0 && r.GPUs > n {
		return nil, fmt.Errorf("needs %d GPUs but an instance of class %s has %d", r.GPUs, class.Name, n)
	}
	cs := constraints(d.Constraints)
	if r.GPUMemoryMiB > 0 && !constrains(cs, attrDeviceMemory) {
		cs = append(cs, api.NewConstraint(attrDeviceMemory, ">=", fmt.Sprintf("%d MiB", r.GPUMemoryMiB)))
	}
	return &api.RequestedDevice{Name: d.Name, Count: new(uint64(r.GPUs)), Constraints: cs}, nil
}

// constrains reports whether any of cs targets attr.
func constrains(cs []*api.Constraint, attr string) bool {
	for _, c := range cs {
		if strings.TrimSpace(c.LTarget) == attr {
			return true
		}
	}
	return false
}

// Nomad's ephemeral disk rules (Nomad docs, "ephemeral_disk block" and
// "logs block"): the default size is 300 MiB, and the task logs (10 files of
// 10 MiB by default) must fit below it, so Nomad refuses a disk of 100 MiB
// or less.
const (
	nomadDefaultDiskMiB = 300
	nomadLogsMiB        = 100
)

// ephemeralDisk returns the group's ephemeral disk for a shard that needs
// size MiB of data: that plus room for the task logs, and never below
// Nomad's default, or nil (Nomad's default, 300 MiB) when size is zero or
// negative.
func ephemeralDisk(size int64) *api.EphemeralDisk {
	if size <= 0 {
		return nil
	}
	mib := max(size+nomadLogsMiB, nomadDefaultDiskMiB)
	return &api.EphemeralDisk{SizeMB: new(int(min(mib, math.MaxInt32)))}
}

// Restart and reschedule settings. A batch shard retries in place twice
// and then fails its allocation, which is rescheduled once elsewhere; a
// service shard keeps restarting (mode delay) and is rescheduled without
// limit with exponential back-off, Nomad's service defaults made explicit.
const (
	batchRestartAttempts    = 2
	batchRestartInterval    = 10 * time.Minute
	restartDelay            = 15 * time.Second
	serviceRestartAttempts  = 2
	serviceRestartInterval  = 30 * time.Minute
	batchRescheduleAttempts = 1
	batchRescheduleInterval = 24 * time.Hour
	batchRescheduleDelay    = 5 * time.Second
	serviceRescheduleDelay  = 30 * time.Second
	serviceRescheduleMax    = time.Hour
)

// restartPolicy returns the group's restart block for a job type.
func restartPolicy(jobType string) *api.RestartPolicy {
	if jobType == "service" {
		return &api.RestartPolicy{
			Attempts: new(serviceRestartAttempts),
			Interval: new(serviceRestartInterval),
			Delay:    new(restartDelay),
			Mode:     new("delay"),
		}
	}
	return &api.RestartPolicy{
		Attempts: new(batchRestartAttempts),
		Interval: new(batchRestartInterval),
		Delay:    new(restartDelay),
		Mode:     new("fail"),
	}
}

// reschedulePolicy returns the group's reschedule block for a job type.
func reschedulePolicy(jobType string) *api.ReschedulePolicy {
	if jobType == "service" {
		return &api.ReschedulePolicy{
			Delay:         new(serviceRescheduleDelay),
			DelayFunction: new("exponential"),
			MaxDelay:      new(serviceRescheduleMax),
			Unlimited:     new(true),
		}
	}
	return &api.ReschedulePolicy{
		Attempts:      new(batchRescheduleAttempts),
		Interval:      new(batchRescheduleInterval),
		Delay:         new(batchRescheduleDelay),
		DelayFunction: new("constant"),
		Unlimited:     new(false),
	}
}
