package driver

import (
	"context"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	pstructs "github.com/hashicorp/nomad/plugins/shared/structs"
)

const (
	// consulTimeout bounds one Consul health probe.
	consulTimeout = 5 * time.Second
)

// fingerprintCadence is when the driver probes Consul for its health.
type fingerprintCadence struct {
	// period is how often a healthy driver reports its health.
	period time.Duration
	// unhealthy is how often an unhealthy driver probes Consul again:
	// the node takes shard tasks again within seconds of Consul's return,
	// not up to period later.
	unhealthy time.Duration
	// grace is how long a healthy driver keeps probing, every step, a
	// Consul that stopped answering before it reports itself unhealthy:
	// an agent restart (seconds) does not take the node out of service.
	// Nomad learns of a health change only with the client's next node
	// update, seconds later, so an outage reported at once would keep the
	// node out for longer than the outage lasted.
	grace, step time.Duration
}

// defaultCadence is every driver's fingerprint cadence.
var defaultCadence = fingerprintCadence{period: 30 * time.Second, unhealthy: 2 * time.Second,
	grace: 6 * time.Second, step: time.Second}

// Fingerprint reports the driver's health now and then at the driver's
// fingerprintCadence (period, or unhealthy while unhealthy) until ctx or
// the driver ends. The
// driver is healthy when Consul answers with a leader: without Consul no
// channel can be registered or found. A healthy driver reports itself
// unhealthy only once Consul has not answered for the cadence's grace.
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
	healthy := false // as last reported
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.ctx.Done():
			return
		case <-timer.C:
		}
		fp := d.fingerprint(ctx)
		if healthy && fp.Health != drivers.HealthStateHealthy {
			fp = d.confirmUnhealthy(ctx, fp)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.ctx.Done():
			return
		case ch <- fp:
		}
		healthy = fp.Health == drivers.HealthStateHealthy
		if healthy {
			timer.Reset(d.cadence.period)
		} else {
			timer.Reset(d.cadence.unhealthy)
		}
	}
}

// confirmUnhealthy probes again every step, for up to the cadence's grace after
// fp (an unhealthy fingerprint of a driver that was healthy); it returns
// the first healthy fingerprint, else the last unhealthy one.
func (d *Driver) confirmUnhealthy(ctx context.Context, fp *drivers.Fingerprint) *drivers.Fingerprint {
	deadline := time.Now().Add(d.cadence.grace)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return fp
		case <-d.ctx.Done():
			return fp
		case <-time.After(d.cadence.step):
		}
		if fp = d.fingerprint(ctx); fp.Health == drivers.HealthStateHealthy {
			return fp
		}
	}
	return fp
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
