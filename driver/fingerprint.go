package driver

import (
	"context"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	pstructs "github.com/hashicorp/nomad/plugins/shared/structs"
)

const (
	// fingerprintPeriod is how often the driver reports its health.
	fingerprintPeriod = 30 * time.Second
	// consulTimeout bounds one Consul health probe.
	consulTimeout = 5 * time.Second
)

// Fingerprint reports the driver's health now and every fingerprintPeriod
// until ctx or the driver ends. The driver is healthy when Consul answers
// with a leader: without Consul no channel can be registered or found.
func (d *Driver) Fingerprint(ctx context.Context) (<-chan *drivers.Fingerprint, error) {
	ch := make(chan *drivers.Fingerprint)
	go d.fingerprintLoop(ctx, ch)
	return ch, nil
}

// fingerprintLoop sends fingerprints on ch until ctx or the driver ends,
// then closes ch.
func (d *Driver) fingerprintLoop(ctx context.Context, ch chan<- *drivers.Fingerprint) {
	defer close(ch)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.ctx.Done():
			return
		case <-timer.C:
		}
		fp := d.fingerprint(ctx)
		select {
		case <-ctx.Done():
			return
		case <-d.ctx.Done():
			return
		case ch <- fp:
		}
		timer.Reset(fingerprintPeriod)
	}
}

// Fingerprint attributes that say whether tasks are held to their
// allocated resources: resource_limits (bool), cgroup_version (1 or 2,
// when enforced) and resource_limits_reason (why not, when not).
const (
	attrLimits       = "driver.shard.resource_limits"
	attrCgroup       = "driver.shard.cgroup_version"
	attrLimitsReason = "driver.shard.resource_limits_reason"
)

// fingerprint builds one fingerprint, probing Consul.
func (d *Driver) fingerprint(ctx context.Context) *drivers.Fingerprint {
	cfg, _, _ := d.snapshot()
	attrs := map[string]*pstructs.Attribute{
		"driver.shard":         pstructs.NewBoolAttribute(true),
		"driver.shard.version": pstructs.NewStringAttribute(PluginVersion),
	}
	if e := d.enforcement(); e.Enforced() {
		attrs[attrLimits] = pstructs.NewBoolAttribute(true)
		attrs[attrCgroup] = pstructs.NewIntAttribute(int64(e.Version), "")
	} else {
		attrs[attrLimits] = pstructs.NewBoolAttribute(false)
		attrs[attrLimitsReason] = pstructs.NewStringAttribute(e.Reason)
	}
	pctx, cancel := context.WithTimeout(ctx, consulTimeout)
	defer cancel()
	if _, err := consulLeader(pctx, cfg.Consul); err != nil {
		attrs["driver.shard.consul"] = pstructs.NewBoolAttribute(false)
		return &drivers.Fingerprint{
			Attributes:        attrs,
			Health:            drivers.HealthStateUnhealthy,
			HealthDescription: err.Error(),
		}
	}
	attrs["driver.shard.consul"] = pstructs.NewBoolAttribute(true)
	return &drivers.Fingerprint{
		Attributes:        attrs,
		Health:            drivers.HealthStateHealthy,
		HealthDescription: drivers.DriverHealthy,
	}
}
