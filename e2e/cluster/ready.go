package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

const (
	// pollEvery is the interval between readiness checks.
	pollEvery = 250 * time.Millisecond
	// progressEvery is how often a long wait logs what it still waits for.
	progressEvery = 3 * time.Second
	// probeTimeout bounds each readiness request, so that an agent that
	// accepts a connection and never answers cannot stall a wait.
	probeTimeout = 5 * time.Second
)

// poll runs check until it reports nothing pending, one of the watched
// agents exits, check fails, or ctx ends; the error then names what was
// still pending.
func (c *Cluster) poll(ctx context.Context, what string, watch []*agent, check func() ([]string, error)) error {
	began := time.Now()
	lastReport := began
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if err := deadAgent(watch); err != nil {
			return fmt.Errorf("cluster: %s: %w", what, err)
		}
		pending, err := check()
		if err != nil {
			return fmt.Errorf("cluster: %s: %w", what, err)
		}
		if len(pending) == 0 {
			return nil
		}
		if time.Since(lastReport) >= progressEvery {
			lastReport = time.Now()
			c.opts.Logf("cluster: %s: after %s still waiting for: %s", what, time.Since(began).Round(time.Second), strings.Join(pending, "; "))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: %s: not ready after %s (%v): %s",
				what, time.Since(began).Round(time.Second), context.Cause(ctx), strings.Join(pending, "; "))
		case <-tick.C:
		}
	}
}

// deadAgent returns an error for the first of agents that has exited.
func deadAgent(agents []*agent) error {
	for _, a := range agents {
		if done, err := a.exited(); done {
			return fmt.Errorf("%s exited (%v); see %s", a.label, err, a.logPath)
		}
	}
	return nil
}

// waitReady waits for both leaders and every client node.
func (c *Cluster) waitReady(ctx context.Context) error {
	return c.poll(ctx, "start", c.agents(), func() ([]string, error) {
		var pending []string
		if p := c.consulPending(); p != "" {
			pending = append(pending, p)
		}
		if p := c.leaderPending(); p != "" {
			return append(pending, p), nil
		}
		return append(pending, c.nodesPending(c.classes)...), nil
	})
}

// consulPending is "" once Consul reports a Raft leader.
func (c *Cluster) consulPending() string {
	resp, err := c.probeHTTP.Get(c.consulAddr + "/v1/status/leader")
	if err != nil {
		return fmt.Sprintf("consul: %v", err)
	}
	defer resp.Body.Close()
	var leader string
	if err := json.NewDecoder(resp.Body).Decode(&leader); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("consul: /v1/status/leader: HTTP %d, %v", resp.StatusCode, err)
	}
	if leader == "" {
		return "consul: no leader"
	}
	return c.connectPending()
}

// connectPending is "" once Consul's Connect CA has a root: the shard
// drivers get their channel TLS identities from it when they start.
func (c *Cluster) connectPending() string {
	resp, err := c.probeHTTP.Get(c.consulAddr + "/v1/agent/connect/ca/roots")
	if err != nil {
		return fmt.Sprintf("consul connect: %v", err)
	}
	defer resp.Body.Close()
	var roots struct{ Roots []json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&roots); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("consul connect: /v1/agent/connect/ca/roots: HTTP %d, %v", resp.StatusCode, err)
	}
	if len(roots.Roots) == 0 {
		return "consul connect: no CA root yet"
	}
	return ""
}

// leaderPending is "" once the Nomad server reports a leader.
func (c *Cluster) leaderPending() string {
	leader, err := c.probe.Status().Leader()
	switch {
	case err != nil:
		return fmt.Sprintf("nomad server: %v", err)
	case leader == "":
		return "nomad server: no leader"
	}
	return ""
}

// nodesPending checks the node of each class and records the IDs of the
// ready ones; it returns what is still missing.
func (c *Cluster) nodesPending(classes []Class) []string {
	stubs, _, err := c.probe.Nodes().List(nil)
	if err != nil {
		return []string{fmt.Sprintf("nomad nodes: %v", err)}
	}
	byName := make(map[string]*api.NodeListStub, len(stubs))
	for _, s := range stubs {
		byName[s.Name] = s
	}
	var pending []string
	for _, cl := range classes {
		if p := c.nodePending(cl, byName[cl.Name]); p != "" {
			pending = append(pending, "nomad client "+cl.Name+": "+p)
			continue
		}
		c.mu.Lock()
		c.nodes[cl.Name] = byName[cl.Name].ID
		c.mu.Unlock()
	}
	return pending
}

// nodePending is "" when the node of class cl is ready as configured.
func (c *Cluster) nodePending(cl Class, s *api.NodeListStub) string {
	switch {
	case s == nil:
		return "node not registered"
	case s.Status == api.NodeStatusInit:
		c.nudge(cl.Name)
		return fmt.Sprintf("node status %q", s.Status)
	case s.Status != api.NodeStatusReady:
		return fmt.Sprintf("node status %q", s.Status)
	case s.NodeClass != cl.nodeClass():
		return fmt.Sprintf("node class %q, want %q", s.NodeClass, cl.nodeClass())
	case s.NodePool != cl.pool():
		return fmt.Sprintf("node pool %q, want %q", s.NodePool, cl.pool())
	case !driverHealthy(s, "raw_exec"):
		return "raw_exec driver not healthy"
	case c.shard && !driverHealthy(s, ShardDriver):
		return "shard driver not healthy" + driverDescription(s, ShardDriver)
	case cl.GPUs > 0:
		return c.gpuPending(cl, s.ID)
	}
	return ""
}

// nudge makes the client of class send one RPC to the server, in the
// background, one at a time. A registered non-dev Nomad v1.6 client is
// "initializing" until its first heartbeat, which it sends a random 0-10 s
// after registering or at its next successful RPC, whichever comes first
// (client.go registerAndHeartbeat; rpc.go fireRpcRetryWatcher). The client
// agent forwards /v1/status/leader to the server as an RPC, which brings
// the heartbeat forward. Errors do not matter: without the nudge the node
// still becomes ready, later. (Before registration the client holds every
// RPC back, so a nudge cannot speed registration up.)
func (c *Cluster) nudge(class string) {
	c.mu.Lock()
	busy := c.nudging[class]
	c.nudging[class] = true
	c.mu.Unlock()
	if busy {
		return
	}
	go func() {
		defer func() {
			c.mu.Lock()
			delete(c.nudging, class)
			c.mu.Unlock()
		}()
		resp, err := c.probeHTTP.Get(c.addrs[class] + "/v1/status/leader")
		if err == nil {
			resp.Body.Close()
		}
	}()
}

// gpuPending is "" when the node reports the class's fake GPUs: an
// nvidia/gpu group with enough healthy instances and the memory attribute.
func (c *Cluster) gpuPending(cl Class, nodeID string) string {
	node, _, err := c.probe.Nodes().Info(nodeID, nil)
	if err != nil {
		return fmt.Sprintf("node info: %v", err)
	}
	if node.NodeResources == nil {
		return "no node resources"
	}
	for _, g := range node.NodeResources.Devices {
		if g.Vendor != "nvidia" || g.Type != "gpu" {
			continue
		}
		healthy := 0
		for _, d := range g.Instances {
			if d.Healthy {
				healthy++
			}
		}
		mem := g.Attributes["memory"]
		switch {
		case healthy < cl.GPUs:
			return fmt.Sprintf("%d healthy nvidia/gpu devices, want %d", healthy, cl.GPUs)
		case mem == nil || mem.IntVal == nil || *mem.IntVal != int64(cl.gpuMemoryMiB()) || mem.Unit != "MiB":
			return fmt.Sprintf("nvidia/gpu memory attribute %s, want %d MiB", attrText(mem), cl.gpuMemoryMiB())
		}
		return ""
	}
	return "no nvidia/gpu devices fingerprinted (fakegpu plugin not loaded?)"
}

// driverHealthy reports whether the node has driver name detected and
// healthy.
func driverHealthy(s *api.NodeListStub, name string) bool {
	d := s.Drivers[name]
	return d != nil && d.Detected && d.Healthy
}

// driverDescription is ": <health description>" of driver name on the
// node when it has one (why a driver is unhealthy), else "".
func driverDescription(s *api.NodeListStub, name string) string {
	if d := s.Drivers[name]; d != nil && d.HealthDescription != "" {
		return ": " + d.HealthDescription
	}
	return ""
}

func attrText(a *api.Attribute) string {
	if a == nil {
		return "missing"
	}
	return a.String()
}

// nodeModifyIndex returns the modify index of the class's node, or 0 if
// it never registered.
func (c *Cluster) nodeModifyIndex(class string) (uint64, error) {
	id := c.Nodes()[class]
	if id == "" {
		return 0, nil
	}
	node, _, err := c.probe.Nodes().Info(id, nil)
	if err != nil {
		return 0, fmt.Errorf("cluster: node %s of %s: %w", id, class, err)
	}
	return node.ModifyIndex, nil
}

// restartPending is nothing once the class's node has registered again
// (its modify index moved past before) and is ready.
func (c *Cluster) restartPending(class string, before uint64) ([]string, error) {
	now, err := c.nodeModifyIndex(class)
	if err != nil {
		return nil, err
	}
	if now <= before {
		return []string{"nomad client " + class + ": node has not registered again"}, nil
	}
	for _, cl := range c.classes {
		if cl.Name == class {
			return c.nodesPending([]Class{cl}), nil
		}
	}
	return nil, fmt.Errorf("no class %q", class)
}

// WaitNodeStatus waits until the server reports the node of class with
// the given status (api.NodeStatusReady, api.NodeStatusDown, ...). It
// polls the server only, so it may be used while the client is stopped.
func (c *Cluster) WaitNodeStatus(ctx context.Context, class, status string) error {
	id := c.Nodes()[class]
	if id == "" {
		return fmt.Errorf("cluster: no node for class %q", class)
	}
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	last := "unknown"
	for {
		node, _, err := c.probe.Nodes().Info(id, nil)
		if err == nil && node.Status == status {
			return nil
		}
		if err == nil {
			last = node.Status
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: node %s (%s) status %q, want %q: %w", id, class, last, status, context.Cause(ctx))
		case <-tick.C:
		}
	}
}
