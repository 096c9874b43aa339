package launcher

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/api"
)

// ConnectError wraps err, the error of a request to the Nomad agent of c,
// with what failed in words: the address that could not be reached, a
// token the agent refused, or an answer that is not Nomad's. Errors of
// other kinds are returned as they are, with the address.
func ConnectError(c *api.Client, err error) error {
	if err == nil {
		return nil
	}
	addr := c.Address()
	var ue api.UnexpectedResponseError
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &ue) && ue.HasStatusCode():
		return responseError(addr, ue.StatusCode(), err)
	}
	var ne net.Error
	var ope *net.OpError
	var ue2 *url.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach the Nomad agent at %s: connection refused (is it running? set -address or NOMAD_ADDR): %w", addr, err)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("cannot reach the Nomad agent at %s: timed out (check -address or NOMAD_ADDR): %w", addr, err)
	case errors.As(err, &ope):
		return fmt.Errorf("cannot reach the Nomad agent at %s (check -address or NOMAD_ADDR): %w", addr, err)
	case errors.As(err, &ue2) && strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("the Nomad agent at %s speaks HTTP, not HTTPS (use an http:// address): %w", addr, err)
	case errors.As(err, &ue2) && strings.Contains(err.Error(), "certificate"):
		return fmt.Errorf("TLS with the Nomad agent at %s failed (check -ca-cert, -client-cert, -tls-server-name): %w", addr, err)
	case errors.As(err, &ue2):
		return fmt.Errorf("request to the Nomad agent at %s failed: %w", addr, err)
	}
	return fmt.Errorf("Nomad agent at %s: %w", addr, err)
}

// IsNotFound reports whether err is the Nomad agent's 404 (an object that
// is not, or no longer, there).
func IsNotFound(err error) bool {
	var ue api.UnexpectedResponseError
	return errors.As(err, &ue) && ue.StatusCode() == http.StatusNotFound
}

// responseError explains an HTTP error status from the agent at addr.
func responseError(addr string, code int, err error) error {
	switch code {
	case 401, 403:
		return fmt.Errorf("the Nomad agent at %s refused the request: the ACL token (-token or NOMAD_TOKEN) is missing, unknown or lacks permission: %w", addr, err)
	case 404, 405:
		return fmt.Errorf("%s does not answer like a Nomad agent's HTTP API (check -address or NOMAD_ADDR): %w", addr, err)
	case 400:
		return fmt.Errorf("the Nomad agent at %s rejected the request: %w", addr, err)
	}
	return fmt.Errorf("the Nomad agent at %s answered with an error: %w", addr, err)
}

// nodeCache remembers each node's class, reading a node from Nomad the
// first time it is asked for.
type nodeCache struct {
	c     *api.Client
	class map[string]string
	name  map[string]string
}

func newNodeCache(c *api.Client) *nodeCache {
	return &nodeCache{c: c, class: map[string]string{}, name: map[string]string{}}
}

// lookup returns the node's class and name, reading the node on first
// use; ok is false when it cannot be read.
func (n *nodeCache) lookup(ctx context.Context, id string) (class, name string, ok bool) {
	if c, ok := n.class[id]; ok {
		return c, n.name[id], true
	}
	node, _, err := n.c.Nodes().Info(id, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil || node == nil {
		return "", "", false
	}
	n.class[id], n.name[id] = node.NodeClass, node.Name
	return node.NodeClass, node.Name, true
}

// classOf returns lookup as the class function affinities takes.
func (n *nodeCache) classOf(ctx context.Context) func(string) (string, bool) {
	return func(id string) (string, bool) {
		c, _, ok := n.lookup(ctx, id)
		return c, ok
	}
}

// AllocationAt reads allocation id (in namespace ns) as Nomad has it at
// Raft index index or later: the index of the event or list entry that
// showed it. Nomad v1.6.1 publishes a change's events before it commits
// the change to its state store (nomad/state/state_changes.go, txn.Commit),
// so a plain read right after the event, on a loaded machine, can return
// the allocation as it was before: running, without the Terminated event
// and OOM verdict that ended it. It blocks (at most allocWaitTime) until
// Nomad's allocations are at index; index 0 reads at once.
func AllocationAt(ctx context.Context, c *api.Client, id, ns string, index uint64) (*api.Allocation, error) {
	a, _, err := c.Allocations().Info(id, AtIndex(ns, index).WithContext(ctx))
	return a, err
}

// allocWaitTime bounds AllocationAt's wait for an index that Nomad has
// published but not yet committed (milliseconds in practice).
const allocWaitTime = 30 * time.Second

// AtIndex returns the query options of a read in namespace ns that
// answers with Nomad's state at Raft index index or later: a blocking
// query on index-1 (Nomad blocks while its index is at most WaitIndex),
// bounded by allocWaitTime. index 0 reads at once.
func AtIndex(ns string, index uint64) *api.QueryOptions {
	q := &api.QueryOptions{Namespace: ns}
	if index > 0 {
		q.WaitIndex, q.WaitTime = index-1, allocWaitTime
	}
	return q
}
