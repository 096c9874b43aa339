package launcher

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// Evaluation status of a finished evaluation.
const evalStatusComplete = "complete"

// capacity is the most CPU and memory any node that could serve a job
// offers, once its reserved resources are taken off; ok is false when no
// node's resources are known.
type capacity struct {
	cpuMHz, memoryMiB int
	// cores is the most reservable cores of one node; diskMiB its
	// most allocatable disk.
	cores, diskMiB int
	nodes          int
	ok             bool
}

// neverPlaceable decides from an evaluation's placement metric of one task
// group whether Nomad can never place the group on the cluster as it is,
// and why. It is so when every evaluated node was filtered (by the job's
// constraints, its node class or missing devices: properties of the nodes,
// not of their current load), or when nodes were exhausted but the group
// asks for more CPU, memory, reservable cores or disk than any node
// serving the job has in all
// (ask and room; room.ok false means unknown, and then an exhausted node
// counts as merely busy). A node exhausted by current usage means the
// group waits in Nomad's queue, as a blocked evaluation does. No evaluated
// node at all (no node ready in the job's datacenters and pool) also
// waits: nodes may join.
func neverPlaceable(group, class string, m *api.AllocationMetric, ask api.Resources, room capacity) (string, bool) {
	if m == nil || m.NodesEvaluated <= 0 || len(m.QuotaExhausted) > 0 {
		return "", false
	}
	where := "no node"
	if class != "" {
		where = "no node of class " + class
	}
	if m.NodesExhausted == 0 && m.NodesFiltered >= m.NodesEvaluated {
		return fmt.Sprintf("group %s can never be placed: %s satisfies its constraints and devices; all %d nodes evaluated are filtered out (%s)",
			group, where, m.NodesEvaluated, strings.Join(metricWhy(m), "; ")), true
	}
	if m.NodesFiltered+m.NodesExhausted < m.NodesEvaluated || !room.ok {
		return "", false
	}
	var short []string
	if ask.MemoryMB != nil && *ask.MemoryMB > room.memoryMiB {
		short = append(short, fmt.Sprintf("%d MiB memory, more than any of the %d nodes that could serve it has (at most %d MiB)",
			*ask.MemoryMB, room.nodes, room.memoryMiB))
	}
	if ask.CPU != nil && *ask.CPU > room.cpuMHz {
		short = append(short, fmt.Sprintf("%d MHz CPU, more than any of the %d nodes that could serve it has (at most %d MHz)",
			*ask.CPU, room.nodes, room.cpuMHz))
	}
	if ask.Cores != nil && *ask.Cores > room.cores {
		short = append(short, fmt.Sprintf("%d reserved cores, more than any of the %d nodes that could serve it has (at most %d)",
			*ask.Cores, room.nodes, room.cores))
	}
	if ask.DiskMB != nil && *ask.DiskMB > room.diskMiB {
		short = append(short, fmt.Sprintf("%d MiB ephemeral disk, more than any of the %d nodes that could serve it has (at most %d MiB)",
			*ask.DiskMB, room.nodes, room.diskMiB))
	}
	if len(short) == 0 {
		return "", false
	}
	return fmt.Sprintf("group %s can never be placed: %s is large enough; it asks for %s (%s)",
		group, where, strings.Join(short, " and "), strings.Join(metricWhy(m), "; ")), true
}

// metricWhy lists, as `nomad job status` does, why nodes did not take a
// group: nodes filtered by constraint or class, and resources exhausted.
func metricWhy(m *api.AllocationMetric) []string {
	var why []string
	for _, c := range slices.Sorted(maps.Keys(m.ConstraintFiltered)) {
		why = append(why, fmt.Sprintf("%d nodes excluded by %s", m.ConstraintFiltered[c], c))
	}
	for _, c := range slices.Sorted(maps.Keys(m.ClassFiltered)) {
		why = append(why, fmt.Sprintf("%d nodes of class %q excluded", m.ClassFiltered[c], c))
	}
	for _, d := range slices.Sorted(maps.Keys(m.DimensionExhausted)) {
		why = append(why, fmt.Sprintf("%d nodes exhausted %s", m.DimensionExhausted[d], d))
	}
	for _, q := range m.QuotaExhausted {
		why = append(why, "quota exhausted: "+q)
	}
	if len(why) == 0 {
		why = append(why, fmt.Sprintf("%d nodes evaluated", m.NodesEvaluated))
	}
	return why
}

// groupAsk is what one allocation of j's only task group asks for: the
// sum of its tasks' CPU (MHz), memory (MiB) and reserved cores, and the
// group's ephemeral disk (MiB) as DiskMB.
func groupAsk(j *api.Job) api.Resources {
	var cpu, mem, cores, disk int
	for _, tg := range j.TaskGroups {
		if tg.EphemeralDisk != nil && tg.EphemeralDisk.SizeMB != nil {
			disk += *tg.EphemeralDisk.SizeMB
		}
		for _, t := range tg.Tasks {
			if t.Resources == nil {
				continue
			}
			if t.Resources.CPU != nil {
				cpu += *t.Resources.CPU
			}
			if t.Resources.MemoryMB != nil {
				mem += *t.Resources.MemoryMB
			}
			if t.Resources.Cores != nil {
				cores += *t.Resources.Cores
			}
		}
	}
	return api.Resources{CPU: &cpu, MemoryMB: &mem, Cores: &cores, DiskMB: &disk}
}

// capacityFor returns the largest CPU and memory of the nodes that could
// serve j: of its node class (any node when it names none) and node pool,
// in its datacenters. Nodes down or ineligible count too: they may come
// back.
func (r *runner) capacityFor(ctx context.Context, j *api.Job) capacity {
	q := (&api.QueryOptions{Params: map[string]string{"resources": "true"}}).WithContext(ctx)
	nodes, _, err := r.c.Nodes().List(q)
	if err != nil {
		return capacity{}
	}
	class := nodeClass(j)
	pool := ""
	if j.NodePool != nil && *j.NodePool != "" && *j.NodePool != "all" {
		pool = *j.NodePool
	}
	var c capacity
	for _, n := range nodes {
		if n.NodeResources == nil || (class != "" && n.NodeClass != class) || (pool != "" && n.NodePool != pool) ||
			!inDatacenters(n.Datacenter, j.Datacenters) {
			continue
		}
		nr := n.NodeResources
		cpu, mem, disk := int(nr.Cpu.CpuShares), int(nr.Memory.MemoryMB), int(nr.Disk.DiskMB)
		if rr := n.ReservedResources; rr != nil {
			cpu -= int(rr.Cpu.CpuShares)
			mem -= int(rr.Memory.MemoryMB)
			disk -= int(rr.Disk.DiskMB)
		}
		// Reservable cores exclude the client's reserved ones; a node
		// that lists none (older clients) offers all of its cores.
		cores := len(nr.Cpu.ReservableCpuCores)
		if cores == 0 {
			cores = int(nr.Cpu.TotalCpuCores)
		}
		c.cpuMHz, c.memoryMiB = max(c.cpuMHz, cpu), max(c.memoryMiB, mem)
		c.cores, c.diskMiB = max(c.cores, cores), max(c.diskMiB, disk)
		c.nodes++
		c.ok = true
	}
	return c
}

// inDatacenters reports whether datacenter dc matches one of dcs, which
// may hold glob patterns ("*", "dc*"); no datacenters match every one.
func inDatacenters(dc string, dcs []string) bool {
	if len(dcs) == 0 {
		return true
	}
	for _, p := range dcs {
		if ok, err := path.Match(p, dc); err == nil && ok {
			return true
		}
	}
	return false
}

// checkPlacement decides, after evaluation ev of u's job finished with
// placement failures and left a blocked evaluation, whether u can never
// be placed, and if so marks it so.
func (r *runner) checkPlacement(ctx context.Context, u *unit, ev *api.Evaluation) {
	if ev.Status != evalStatusComplete || ev.BlockedEval == "" {
		return
	}
	ask := groupAsk(u.job)
	if u.memoryMiB > 0 {
		ask = groupAsk(withMemory(u.job, u.memoryMiB))
	}
	var room capacity
	var why []string
	for _, g := range slices.Sorted(maps.Keys(ev.FailedTGAllocs)) {
		m := ev.FailedTGAllocs[g]
		if m != nil && m.NodesExhausted > 0 && !room.ok {
			room = r.capacityFor(ctx, u.job)
		}
		if reason, never := neverPlaceable(g, nodeClass(u.job), m, ask, room); never {
			why = append(why, reason)
		}
	}
	if len(why) > 0 {
		r.t.unplaceable(u, strings.Join(why, "; "))
	}
}
