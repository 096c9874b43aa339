package cluster

import (
	"context"
	"fmt"
	"syscall"
)

// RestartConsul kills the cluster's Consul agent (SIGKILL, as a crash
// would) and starts it again on the same ports. A dev agent comes back
// with nothing: no service registrations, a new Connect CA and trust
// domain, no intentions. RestartConsul writes the channel intentions
// again and waits, as Start does, for a leader, the CA's root and every
// node ready (the shard drivers fingerprint healthy again), so that the
// next test finds the cluster as it was. When ctx has no deadline,
// DefaultStartTimeout applies.
func (c *Cluster) RestartConsul(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultStartTimeout)
		defer cancel()
	}
	if err := c.consul.stop(syscall.SIGKILL, stopGrace); err != nil {
		return fmt.Errorf("cluster: stop consul: %w", err)
	}
	c.opts.Logf("cluster: killed consul")
	if err := c.start(c.consul); err != nil {
		return err
	}
	err := c.poll(ctx, "consul restart", []*agent{c.consul, c.server}, func() ([]string, error) {
		if p := c.consulPending(); p != "" {
			return []string{p}, nil
		}
		return nil, nil
	})
	if err != nil {
		return err
	}
	if err := c.channelIntentions(ctx); err != nil {
		return err
	}
	return c.waitReady(ctx)
}
