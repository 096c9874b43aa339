package cluster

import (
	"context"
	"fmt"
)

// AddClient starts one more Nomad client, of class cl, in the running
// cluster and waits until its node is ready (the shard driver healthy when
// the cluster loads it). Close stops it with the others. cl.Name must be
// new. Not to be called concurrently with itself or Close.
func (c *Cluster) AddClient(ctx context.Context, cl Class) error {
	if _, dup := c.clients[cl.Name]; dup {
		return fmt.Errorf("cluster: add client: a client named %q runs already", cl.Name)
	}
	var p portPicker
	np, err := p.nomad()
	if err == nil && c.shard {
		c.channelPorts[cl.Name], err = p.tcp()
	}
	p.release()
	if err != nil {
		return fmt.Errorf("cluster: nomad client %s ports: %w", cl.Name, err)
	}
	a, err := c.clientAgent(cl, np, c.serverRPC, c.consulHTTP, agentEnv(c.consulHTTP, string(c.dir)))
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.clients[cl.Name] = a
	c.addrs[cl.Name] = fmt.Sprintf("http://127.0.0.1:%d", np.HTTP)
	c.classes = append(c.classes, cl)
	c.mu.Unlock()
	if err := c.start(a); err != nil {
		return err
	}
	return c.poll(ctx, "add client "+cl.Name, []*agent{a}, func() ([]string, error) {
		return c.nodesPending([]Class{cl}), nil
	})
}
