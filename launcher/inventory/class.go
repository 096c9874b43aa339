package inventory

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/units"
)

// addGroup adds the executor class (or classes, one per GPU model) of g
// to the catalog.
func (r *Report) addGroup(g *group) {
	drivers := commonDrivers(g.nodes)
	models := g.shape.GPUs
	if len(models) > 1 {
		var ids []string
		for _, m := range models {
			ids = append(ids, fmt.Sprintf("%d x %s", m.Count, m.ID))
		}
		r.Notes = append(r.Notes, fmt.Sprintf(
			"nodes of %s have %d GPU models (%s): one executor class per model, each requesting only its model, since no single model has the summed count",
			g.name, len(models), strings.Join(ids, ", ")))
	}
	variants := []*gpuModel{nil}
	if len(models) > 0 {
		variants = variants[:0]
		for i := range models {
			variants = append(variants, &models[i])
		}
	}
	for _, m := range variants {
		cl := r.newClass(g, m)
		r.Catalog.Classes = append(r.Catalog.Classes, cl)
		cr := ClassReport{Name: cl.Name, NodeClass: g.nodeClass, NodePool: g.pool, Drivers: drivers,
			Devices: deviceTexts(g.nodes[0])}
		for _, n := range g.nodes {
			cr.Nodes = append(cr.Nodes, n.Name)
		}
		sort.Strings(cr.Nodes)
		for _, d := range drivers {
			cr.Shard = cr.Shard || d == ShardDriver
		}
		r.Classes = append(r.Classes, cr)
	}
}

// newClass returns the executor class of group g, requesting GPU model m
// (nil: no GPU).
func (r *Report) newClass(g *group, m *gpuModel) *catalog.Class {
	name := g.name
	if m != nil && len(g.shape.GPUs) > 1 {
		name += "-" + sanitize(m.ID[strings.LastIndex(m.ID, "/")+1:])
	}
	cl := &catalog.Class{
		Name: name,
		Description: fmt.Sprintf("Discovered from Nomad: %s in node class %q, node pool %q.",
			plural(len(g.nodes), "node"), g.nodeClass, g.pool),
		Placement: catalog.Placement{NodeClass: g.nodeClass, NodePool: g.pool,
			Constraints: append([]catalog.Constraint(nil), g.pin...)},
		Shape: catalog.Shape{CPU: g.shape.CPU, Cores: g.shape.Cores, MemoryMiB: g.shape.MemoryMiB,
			DiskMiB: g.shape.DiskMiB},
		Instances:      len(g.nodes),
		BandwidthBytes: bandwidth(g.nodes[0]),
		Startup:        catalog.DefaultStartupSeconds * time.Second,
	}
	if m != nil {
		cl.Shape.GPUs, cl.Shape.GPUMemoryMiB = m.Count, m.MemoryMiB
		cl.Placement.Device = &catalog.Device{Name: m.ID}
		if m.MemoryMiB > 0 {
			cl.Placement.Device.Constraints = []catalog.Constraint{{
				Attribute: "${device.attr.memory}", Operator: ">=", Value: fmt.Sprintf("%d MiB", m.MemoryMiB)}}
		}
	}
	return cl
}

// bandwidth is the node's fastest network in bytes/s (Nomad reports
// MBits), or the catalog's default when it reports none.
func bandwidth(n *api.Node) float64 {
	best := 0
	for _, nw := range n.NodeResources.Networks {
		if nw != nil && nw.MBits != nil && *nw.MBits > best {
			best = *nw.MBits
		}
	}
	if best == 0 {
		return catalog.DefaultBandwidthBytes
	}
	return float64(best) * 1e6 / 8
}

// commonDrivers returns the drivers detected and healthy on every node.
func commonDrivers(nodes []*api.Node) []string {
	count := map[string]int{}
	for _, n := range nodes {
		for name, d := range n.Drivers {
			if d != nil && d.Detected && d.Healthy {
				count[name]++
			}
		}
	}
	var out []string
	for name, c := range count {
		if c == len(nodes) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// deviceTexts describes every device group of node n with its healthy
// count and attributes.
func deviceTexts(n *api.Node) []string {
	var out []string
	for _, d := range n.NodeResources.Devices {
		t := fmt.Sprintf("%s x%d", deviceID(d), healthy(d))
		var attrs []string
		for k, a := range d.Attributes {
			if k == "memory" {
				attrs = append(attrs, "memory "+units.FormatBytes(memoryMiB(a)<<20))
				continue
			}
			attrs = append(attrs, k+" "+a.String())
		}
		sort.Strings(attrs)
		if len(attrs) > 0 {
			t += " (" + strings.Join(attrs, ", ") + ")"
		}
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
