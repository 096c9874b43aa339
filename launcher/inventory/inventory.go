// Package inventory builds an executor catalog from a Nomad cluster's
// nodes (`shardwise executors -discover`): one executor class per node
// class, node pool and distinct shape, with the class's instance count
// (its ready, eligible nodes), one node's allocatable resources as the
// instance shape, its GPUs as device requests, its enabled task drivers,
// and relative speeds estimated from history where history has data.
package inventory

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
)

// ShardDriver is the task driver name of nomad-driver-shard; the report
// says for each class whether its nodes run it.
const ShardDriver = "shard"

// Options tunes discovery.
type Options struct {
	// Records is the history the relative speeds are estimated from (see
	// EstimateSpeeds); nil gives every class the default speed 1.0.
	Records []history.Record
	// Reference names the executor class whose speeds are 1.0 by
	// definition. Empty means the default catalog's reference
	// ("cpu-heavy") when the cluster has such a class, else the first
	// class in name order.
	Reference string
}

// Report is what discovery found: the catalog, and how each of its
// classes was made.
type Report struct {
	Catalog *catalog.Catalog
	// Classes describes each catalog class, in catalog order.
	Classes []ClassReport
	// Excluded lists the nodes left out (down, ineligible, draining), in
	// node name order.
	Excluded []Excluded
	// Notes says what discovery decided on the user's behalf: nodes
	// without a node class, node classes split by shape, GPU models split
	// into separate classes, devices the catalog cannot express.
	Notes []string
}

// ClassReport is how one catalog class was made.
type ClassReport struct {
	Name      string
	NodeClass string
	NodePool  string
	// Nodes are the names of the class's nodes, sorted.
	Nodes []string
	// Drivers are the task drivers detected and healthy on every node of
	// the class, sorted; Shard says whether "shard" is among them.
	Drivers []string
	Shard   bool
	// Devices describes every device group of one node
	// ("nvidia/gpu/fake-80gib x2, memory 80 GiB").
	Devices []string
	// Speeds says where each profile's speed came from.
	Speeds []SpeedEstimate
}

// Excluded is a node discovery left out, and why.
type Excluded struct {
	Name, ID, NodeClass, Reason string
}

// Discover lists the cluster's nodes through c, reads each one's full
// record (resources, devices, drivers) and builds the catalog with
// FromNodes. Errors say the agent could not be reached or a node could
// not be read.
func Discover(ctx context.Context, c *api.Client, opts Options) (*Report, error) {
	q := (&api.QueryOptions{}).WithContext(ctx)
	stubs, _, err := c.Nodes().List(q)
	if err != nil {
		return nil, fmt.Errorf("list Nomad nodes: %w", launcher.ConnectError(c, err))
	}
	nodes := make([]*api.Node, 0, len(stubs))
	for _, s := range stubs {
		n, _, err := c.Nodes().Info(s.ID, q)
		if err != nil {
			return nil, fmt.Errorf("read Nomad node %s (%s): %w", s.Name, s.ID, launcher.ConnectError(c, err))
		}
		nodes = append(nodes, n)
	}
	return FromNodes(nodes, opts)
}

// FromNodes builds the catalog from node records: nodes that are not
// ready, not eligible or draining are excluded; the rest are grouped by
// node class, node pool and shape (see shapeOf), one executor class per
// group, and per GPU model when a node has several. It returns an error
// when no node is usable.
func FromNodes(nodes []*api.Node, opts Options) (*Report, error) {
	// Standalone: the file lists what the cluster has, nothing more, so
	// default classes the cluster lacks cannot be placed on.
	rep := &Report{Catalog: &catalog.Catalog{Standalone: true}}
	var usable []*api.Node
	for _, n := range nodes {
		if why := unusable(n); why != "" {
			rep.Excluded = append(rep.Excluded, Excluded{Name: n.Name, ID: n.ID, NodeClass: n.NodeClass, Reason: why})
			continue
		}
		usable = append(usable, n)
	}
	sort.Slice(rep.Excluded, func(i, j int) bool { return rep.Excluded[i].Name < rep.Excluded[j].Name })
	if len(usable) == 0 {
		return nil, fmt.Errorf("no ready, eligible node to build a catalog from (%d nodes, all excluded: %s)",
			len(nodes), excludedText(rep.Excluded))
	}
	for _, g := range groupNodes(usable, rep) {
		rep.addGroup(g)
	}
	if opts.Reference != "" && rep.Catalog.Class(opts.Reference) == nil {
		names := rep.Catalog.Names()
		sort.Strings(names)
		return nil, fmt.Errorf("reference class %q is not among the discovered classes: %s", opts.Reference, strings.Join(names, ", "))
	}
	rep.setReference(opts.Reference)
	rep.estimateSpeeds(opts.Records)
	if diags := rep.Catalog.Validate(); diags.HasErrors() {
		return nil, fmt.Errorf("discovered catalog is invalid: %s", diagText(diags))
	}
	return rep, nil
}

// diagText is diags' errors in words, "Summary: detail; ...": a
// discovered catalog has no file, so hcl.Diagnostics.Error's ranges would
// print as "<nil>".
func diagText(diags hcl.Diagnostics) string {
	var parts []string
	for _, d := range diags {
		switch {
		case d.Severity != hcl.DiagError:
		case d.Detail != "":
			parts = append(parts, d.Summary+": "+d.Detail)
		default:
			parts = append(parts, d.Summary)
		}
	}
	return strings.Join(parts, "; ")
}

// unusable says why a node cannot take shards, or "".
func unusable(n *api.Node) string {
	switch {
	case n.Status != api.NodeStatusReady:
		return "status " + n.Status
	case n.SchedulingEligibility != api.NodeSchedulingEligible:
		return "scheduling " + n.SchedulingEligibility
	case n.Drain:
		return "draining"
	case n.NodeResources == nil:
		return "no resources fingerprinted"
	}
	return ""
}

func excludedText(ex []Excluded) string {
	s := ""
	for i, e := range ex {
		if i > 0 {
			s += ", "
		}
		s += e.Name + " (" + e.Reason + ")"
	}
	return s
}

// setReference picks the reference class (see Options.Reference).
func (r *Report) setReference(want string) {
	cat := r.Catalog
	switch {
	case want != "":
		cat.Reference = want
	case cat.Class(catalog.Default().Reference) != nil:
		cat.Reference = catalog.Default().Reference
	default:
		names := cat.Names()
		sort.Strings(names)
		cat.Reference = names[0]
	}
}

// kinds are the profiles a discovered class gets a speed for; gpu only
// when it has GPUs.
func kinds(cl *catalog.Class) []graph.Kind {
	var out []graph.Kind
	for _, k := range graph.Kinds {
		if k != graph.KindGPU || cl.Shape.GPUs > 0 {
			out = append(out, k)
		}
	}
	return out
}
