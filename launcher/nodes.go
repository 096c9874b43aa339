package launcher

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// nodeClassTarget is the constraint target that pins a job to a node
// class (translator/nomadjob writes one per job).
const nodeClassTarget = "${node.class}"

// checkNodes fails, before anything is submitted, when the node class a
// job is pinned to has no ready, eligible node in the job's node pool: the
// plan put shards on an executor class the cluster does not run (a
// catalog class with no client), and they would wait in Nomad's queue for
// ever. The error lists the missing classes with their jobs and the
// classes the cluster does have.
func checkNodes(ctx context.Context, c *api.Client, jobs []*api.Job) error {
	stubs, _, err := c.Nodes().List((&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("list nodes: %w", ConnectError(c, err))
	}
	ready := map[string]int{} // "class@pool" -> ready, eligible nodes
	for _, s := range stubs {
		if s.Status == api.NodeStatusReady && s.SchedulingEligibility == api.NodeSchedulingEligible {
			ready[s.NodeClass+"@"+poolOr(s.NodePool)]++
		}
	}
	missing := map[string][]string{}
	for _, j := range jobs {
		class, ok := jobNodeClass(j)
		if !ok {
			continue
		}
		key := class + "@" + poolOr(deref(j.NodePool))
		if ready[key] == 0 {
			missing[key] = append(missing[key], deref(j.ID))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(missing)) {
		class, pool, _ := strings.Cut(k, "@")
		parts = append(parts, fmt.Sprintf("node class %q in node pool %q has no ready node (jobs pinned to it: %s)",
			class, pool, strings.Join(missing[k], ", ")))
	}
	return fmt.Errorf("the cluster cannot run this plan, nothing was submitted: %s; ready nodes by class: %s",
		strings.Join(parts, "; "), readyClasses(ready))
}

// jobNodeClass returns the node class a job's "${node.class} =" constraint
// (on the job or any of its groups) pins it to.
func jobNodeClass(j *api.Job) (string, bool) {
	cons := append([]*api.Constraint(nil), j.Constraints...)
	for _, g := range j.TaskGroups {
		cons = append(cons, g.Constraints...)
	}
	for _, c := range cons {
		if c != nil && c.LTarget == nodeClassTarget && (c.Operand == "=" || c.Operand == "==") {
			return c.RTarget, true
		}
	}
	return "", false
}

func readyClasses(ready map[string]int) string {
	if len(ready) == 0 {
		return "none"
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(ready)) {
		class, pool, _ := strings.Cut(k, "@")
		out = append(out, fmt.Sprintf("%s (pool %s): %d", class, pool, ready[k]))
	}
	return strings.Join(out, ", ")
}

// poolOr is a node pool name, "default" when empty.
func poolOr(p string) string {
	if p == "" {
		return api.NodePoolDefault
	}
	return p
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
