package inventory

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/units"
)

// shape is one node's allocatable resources: fingerprinted (or
// advertised) minus reserved. CPU MHz, memory and disk MiB.
type shape struct {
	CPU       int
	Cores     int
	MemoryMiB int64
	DiskMiB   int64
	// GPUs are the node's healthy GPU devices per model, in model order.
	GPUs []gpuModel
}

// gpuModel is one GPU model on a node: Nomad's "vendor/type/name", the
// number of healthy instances and each one's memory (MiB, 0 if the
// device reports no memory attribute).
type gpuModel struct {
	ID        string
	Count     int
	MemoryMiB int64
}

func (s shape) key() string { return fmt.Sprintf("%+v", s) }

// text prints the shape as a person reads it.
func (s shape) text() string {
	t := fmt.Sprintf("%d MHz, %d cores, %s memory, %s disk", s.CPU, s.Cores,
		units.FormatBytes(s.MemoryMiB<<20), units.FormatBytes(s.DiskMiB<<20))
	for _, g := range s.GPUs {
		t += fmt.Sprintf(", %d x %s (%s)", g.Count, g.ID, units.FormatBytes(g.MemoryMiB<<20))
	}
	return t
}

// shapeOf reads a node's allocatable shape; cores are the reservable
// cores when Nomad reports them, else all cores.
func shapeOf(n *api.Node) shape {
	res := n.NodeResources
	s := shape{
		CPU:       int(res.Cpu.CpuShares),
		Cores:     int(res.Cpu.TotalCpuCores),
		MemoryMiB: res.Memory.MemoryMB,
		DiskMiB:   res.Disk.DiskMB,
	}
	if k := len(res.Cpu.ReservableCpuCores); k > 0 {
		s.Cores = k
	}
	if rr := n.ReservedResources; rr != nil {
		s.CPU -= int(rr.Cpu.CpuShares)
		s.MemoryMiB -= int64(rr.Memory.MemoryMB)
		s.DiskMiB -= int64(rr.Disk.DiskMB)
	}
	for _, d := range res.Devices {
		if d.Type != "gpu" {
			continue
		}
		if c := healthy(d); c > 0 {
			s.GPUs = append(s.GPUs, gpuModel{ID: deviceID(d), Count: c, MemoryMiB: memoryMiB(d.Attributes["memory"])})
		}
	}
	sort.Slice(s.GPUs, func(i, j int) bool { return s.GPUs[i].ID < s.GPUs[j].ID })
	return s
}

func deviceID(d *api.NodeDeviceResource) string {
	return strings.Join([]string{d.Vendor, d.Type, d.Name}, "/")
}

func healthy(d *api.NodeDeviceResource) int {
	n := 0
	for _, inst := range d.Instances {
		if inst.Healthy {
			n++
		}
	}
	return n
}

// memoryMiB converts a device memory attribute to MiB; 0 when absent or
// in a unit that is not a byte size.
func memoryMiB(a *api.Attribute) int64 {
	if a == nil {
		return 0
	}
	var v float64
	switch {
	case a.IntVal != nil:
		v = float64(*a.IntVal)
	case a.FloatVal != nil:
		v = *a.FloatVal
	default:
		return 0
	}
	mult := map[string]float64{"B": 1, "KB": 1e3, "KiB": 1 << 10, "MB": 1e6, "MiB": 1 << 20,
		"GB": 1e9, "GiB": 1 << 30, "TB": 1e12, "TiB": 1 << 40}[a.Unit]
	return int64(v * mult / (1 << 20))
}

// group is the nodes of one executor class: same node class, node pool
// and shape.
type group struct {
	nodeClass, pool string
	shape           shape
	nodes           []*api.Node
	name            string
	// pin are constraints that tell this group's nodes from the other
	// shapes of the same node class (empty when the class has one shape).
	pin []catalog.Constraint
}

// groupNodes groups usable nodes by node class, pool and shape, names
// each group and notes in rep what it decided.
func groupNodes(nodes []*api.Node, rep *Report) []*group {
	byKey := map[string]*group{}
	var order []*group
	for _, n := range nodes {
		s := shapeOf(n)
		k := n.NodeClass + "\x00" + n.NodePool + "\x00" + s.key()
		g := byKey[k]
		if g == nil {
			g = &group{nodeClass: n.NodeClass, pool: n.NodePool, shape: s}
			byKey[k] = g
			order = append(order, g)
		}
		g.nodes = append(g.nodes, n)
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.nodeClass != b.nodeClass {
			return a.nodeClass < b.nodeClass
		}
		if a.pool != b.pool {
			return a.pool < b.pool
		}
		return a.shape.CPU*1000+int(a.shape.MemoryMiB) < b.shape.CPU*1000+int(b.shape.MemoryMiB)
	})
	nameGroups(order, rep)
	return order
}

// nameGroups names each group after its node class; a node class in
// several pools gets the pool appended, several shapes get -1, -2, ...
// in shape order, and nodes without a node class are named "unclassed".
func nameGroups(gs []*group, rep *Report) {
	perClass := map[string][]*group{}
	pools := map[string]map[string]bool{}
	for _, g := range gs {
		perClass[g.nodeClass] = append(perClass[g.nodeClass], g)
		if pools[g.nodeClass] == nil {
			pools[g.nodeClass] = map[string]bool{}
		}
		pools[g.nodeClass][g.pool] = true
	}
	for class, list := range perClass {
		base := sanitize(class)
		if class == "" {
			base = "unclassed"
			rep.Notes = append(rep.Notes, fmt.Sprintf(
				"%d node(s) have no node class (%s): their executor class is named %q and targets nodes by node pool only, so its shards may also land on other classes' nodes in that pool; give the nodes a node_class to pin them",
				countNodes(list), nodeNames(list), base))
		}
		shapes := 0
		for i, g := range list {
			g.name = base
			if len(pools[class]) > 1 {
				g.name += "-" + sanitize(g.pool)
			}
			if len(list) > len(pools[class]) {
				shapes++
				g.name = fmt.Sprintf("%s-%d", g.name, i+1)
			}
		}
		if shapes > 0 {
			pinShapes(list)
			var parts []string
			for _, g := range list {
				parts = append(parts, fmt.Sprintf("%s = %s: %s (%s)", g.name, g.shape.text(), plural(len(g.nodes), "node"), nodeNames([]*group{g})))
			}
			rep.Notes = append(rep.Notes, fmt.Sprintf(
				"node class %q has nodes of %d different shapes: one executor class per shape, pinned by node attributes: %s",
				class, len(list), strings.Join(parts, "; ")))
		}
	}
}

// pinAttrs are node attributes that tell shapes apart; a constraint is
// added for each one whose values differ between the groups of a class.
var pinAttrs = []string{"cpu.totalcompute", "memory.totalbytes", "cpu.numcores", "unique.storage.bytestotal"}

func pinShapes(list []*group) {
	for _, attr := range pinAttrs {
		values := map[string]bool{}
		ok := true
		for _, g := range list {
			v, has := g.nodes[0].Attributes[attr]
			if !has {
				ok = false
				break
			}
			values[v] = true
		}
		if !ok || len(values) < 2 {
			continue
		}
		for _, g := range list {
			g.pin = append(g.pin, catalog.Constraint{Attribute: "${attr." + attr + "}", Operator: "=", Value: g.nodes[0].Attributes[attr]})
		}
	}
}

var nameRE = regexp.MustCompile(`[^a-z0-9]+`)

// sanitize turns a Nomad name into a catalog class name ([a-z0-9] with
// inner hyphens).
func sanitize(s string) string {
	s = strings.Trim(nameRE.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if s == "" {
		return "default"
	}
	return s
}

func countNodes(gs []*group) int {
	n := 0
	for _, g := range gs {
		n += len(g.nodes)
	}
	return n
}

func nodeNames(gs []*group) string {
	var names []string
	for _, g := range gs {
		for _, n := range g.nodes {
			names = append(names, n.Name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
