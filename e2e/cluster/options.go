package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/units"
)

const (
	// defaultGPUMemoryMiB is a fake GPU's memory when a class sets none:
	// 80 GiB, a data-centre GPU.
	defaultGPUMemoryMiB = 80 * 1024
	// defaultNodePool is the Nomad node pool of a class that names none.
	defaultNodePool = "default"
	// gpuPlugin is the device plugin binary under <BinDir>/plugins.
	gpuPlugin = "fakegpu"
	// shardPlugin is the shard task driver plugin binary under
	// <BinDir>/plugins (`make driver`); every client loads it.
	shardPlugin = "nomad-driver-shard"
	// ShardDriver is the name jobs use for the shard task driver.
	ShardDriver = "shard"
	// BinDirEnv overrides the default binary directory.
	BinDirEnv = "SHARDWISE_BIN"
	// HistoryVolume is the host volume the feedback service's job
	// (examples/deploy/feedback.nomad.hcl) keeps its history store on;
	// DefaultClasses gives it to the cpu-heavy client.
	HistoryVolume = "shardwise-history"
	// historyVolumeClass is the default class whose client has
	// HistoryVolume, as in examples/deploy/client.hcl.
	historyVolumeClass = "cpu-heavy"
)

// Options configures Start. The zero value starts the five default classes
// from the binaries in $SHARDWISE_BIN or <repo>/.bin.
type Options struct {
	// BinDir holds nomad, consul and plugins/fakegpu. Empty means
	// $SHARDWISE_BIN, else the repository's .bin directory.
	BinDir string
	// Classes lists the Nomad clients to start, one per class; names must
	// be unique. Empty means DefaultClasses().
	Classes []Class
	// Dir is the parent of the run directory Start creates (and Close
	// removes). Empty means os.TempDir().
	Dir string
	// Logf receives progress lines (agent starts, readiness, shutdown).
	// Nil discards them.
	Logf func(format string, args ...any)
	// KeepDir makes Close keep the run directory (configs, data and logs)
	// for inspection; agents and leftover processes are still stopped.
	KeepDir bool
}

// Class is one Nomad client agent, named Name, in node class NodeClass
// (Name when empty). Several clients may share a node class: that is how
// CapacityClasses gives a class its catalog's instances.

type Class struct {
	// Name is the client's agent name (and its node_class when NodeClass
	// is empty); unique in a cluster.
	Name string
	// NodeClass is the client's node_class; empty means Name.
	NodeClass string
	// ReservableCores is the client's reservable_cores, a cpuset list
	// ("0", "0-1"): the cores Nomad may reserve for tasks that ask for
	// whole cores, so a class whose shards ask cores = 1 runs at most that
	// many at once. Empty means every core the client's cgroup offers.
	ReservableCores string
	// NodePool is the client's node pool; empty means "default".
	NodePool string
	// GPUs is the number of fake "nvidia/gpu" devices the client
	// fingerprints (through the fakegpu plugin); 0 means none.
	GPUs int
	// GPUMemoryMiB is each fake GPU's memory attribute, MiB; 0 means
	// 80 GiB. Ignored without GPUs.
	GPUMemoryMiB int
	// CPUMHz, MemoryMiB and DiskMiB are the resources the node advertises
	// (cpu_total_compute, memory_total_mb, disk_total_mb and
	// disk_free_mb); 0 keeps what Nomad fingerprints on this host.
	CPUMHz    int
	MemoryMiB int
	DiskMiB   int
	// HostVolumes are the client's host volumes (client { host_volume
	// "NAME" { ... } }), for jobs that mount one (volume { type = "host"
	// source = "NAME" }); none by default.
	HostVolumes []HostVolume
}

// HostVolume is one host volume of a client.
type HostVolume struct {
	// Name is the volume's name, the source jobs ask for; unique per
	// client.
	Name string
	// Path is the host directory (Start creates it if missing); empty
	// means a directory of its own in the cluster's run directory,
	// writable by every user (exec tasks run as nobody by default),
	// removed by Close (Cluster.HostVolumePath).
	Path string
	// ReadOnly makes Nomad refuse writable mounts of the volume.
	ReadOnly bool
}

// nodeClass returns the client's node_class.
func (c Class) nodeClass() string {
	if c.NodeClass == "" {
		return c.Name
	}
	return c.NodeClass
}

// pool returns the class's node pool.
func (c Class) pool() string {
	if c.NodePool == "" {
		return defaultNodePool
	}
	return c.NodePool
}

// gpuMemoryMiB returns each fake GPU's memory in MiB.
func (c Class) gpuMemoryMiB() int {
	if c.GPUMemoryMiB <= 0 {
		return defaultGPUMemoryMiB
	}
	return c.GPUMemoryMiB
}

// DefaultClasses returns one class per executor class of the default
// catalog (planner/catalog.Default()): its node class and pool, and its
// instance's CPU, memory and disk as the advertised resources. A class
// with GPUs gets two fake GPUs (so two GPU shards can run at once), each
// with the catalog's GPU memory, raised to satisfy any minimum the
// catalog's device constraint on ${device.attr.memory} sets. The
// cpu-heavy client (the first class if there is none) has the host volume
// HistoryVolume in the run directory, so the feedback service's job of
// examples/deploy can be placed; no other job asks for it.
func DefaultClasses() []Class {
	cat := catalog.Default()
	out := make([]Class, 0, len(cat.Classes))
	vol := 0
	for i, cl := range cat.Classes {
		c := classFromCatalog(cl)
		if c.Name == historyVolumeClass {
			vol = i
		}
		out = append(out, c)
	}
	if len(out) > 0 {
		out[vol].HostVolumes = []HostVolume{{Name: HistoryVolume}}
	}
	return out
}

// CapacityClasses returns Nomad clients that give every class of cat its
// catalog capacity: exactly Instances shards of the class run at once when
// each shard reserves one whole core (resources { cores = 1 }, what a
// replay import asks for, see translator/wfcommons). A client can only
// reserve the cores this host has, so a class gets ceil(Instances /
// hostCores) clients named <node class>-<i> (i from 1), in the class's
// node class, whose reservable_cores add up to Instances; each advertises
// its share of the instances' CPU, memory and disk (the instance shape
// times its cores), and a GPU class's clients one fake GPU per core.
// hostCores below 1 means runtime.NumCPU().
func CapacityClasses(cat *catalog.Catalog, hostCores int) []Class {
	if hostCores < 1 {
		hostCores = runtime.NumCPU()
	}
	var out []Class
	for _, cl := range cat.Classes {
		base := classFromCatalog(cl)
		n := (cl.Instances + hostCores - 1) / hostCores
		left := cl.Instances
		for i := 1; i <= n; i++ {
			k := min(hostCores, left)
			left -= k
			c := base
			c.Name = fmt.Sprintf("%s-%d", base.Name, i)
			c.NodeClass = base.Name
			c.ReservableCores = "0"
			if k > 1 {
				c.ReservableCores = fmt.Sprintf("0-%d", k-1)
			}
			c.CPUMHz, c.MemoryMiB, c.DiskMiB = base.CPUMHz*k, base.MemoryMiB*k, base.DiskMiB*k
			if base.GPUs > 0 {
				c.GPUs = k
			}
			out = append(out, c)
		}
	}
	return out
}

func classFromCatalog(cl *catalog.Class) Class {
	c := Class{
		Name:      cl.Name,
		NodePool:  cl.Placement.NodePool,
		CPUMHz:    cl.Shape.CPU,
		MemoryMiB: int(cl.Shape.MemoryMiB),
		DiskMiB:   int(cl.Shape.DiskMiB),
	}
	if cl.Placement.NodeClass != "" {
		c.Name = cl.Placement.NodeClass
	}
	if cl.Shape.GPUs > 0 || cl.Placement.Device != nil {
		c.GPUs = max(2, cl.Shape.GPUs)
		c.GPUMemoryMiB = max(int(cl.Shape.GPUMemoryMiB), minGPUMemoryMiB(cl.Placement.Device))
	}
	return c
}

// minGPUMemoryMiB returns the smallest memory, in MiB, that satisfies the
// device's constraints on ${device.attr.memory}; 0 if none is readable.
func minGPUMemoryMiB(d *catalog.Device) int {
	if d == nil {
		return 0
	}
	least := 0
	for _, con := range d.Constraints {
		if con.Attribute != "${device.attr.memory}" {
			continue
		}
		mib, err := units.ParseSizeMiB(strings.ReplaceAll(con.Value, " ", ""))
		if err != nil {
			continue
		}
		switch con.Operator {
		case ">=", "=", "==":
			least = max(least, int(mib))
		case ">":
			least = max(least, int(mib)+1)
		}
	}
	return least
}

// withDefaults fills the empty fields of o and checks the classes.
func (o Options) withDefaults() (Options, error) {
	if o.BinDir == "" {
		o.BinDir = DefaultBinDir()
	}
	if len(o.Classes) == 0 {
		o.Classes = DefaultClasses()
	}
	if o.Dir == "" {
		o.Dir = os.TempDir()
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o, validateClasses(o.Classes)
}

func validateClasses(classes []Class) error {
	seen := make(map[string]bool, len(classes))
	for _, c := range classes {
		switch {
		case c.Name == "" || strings.ContainsAny(c.Name, " /\"\\"):
			return fmt.Errorf("cluster: class name %q: want a non-empty name without spaces, quotes or slashes", c.Name)
		case c.Name == serverName || c.Name == "consul":
			return fmt.Errorf("cluster: class name %q is reserved", c.Name)
		case seen[c.Name]:
			return fmt.Errorf("cluster: class %q listed twice", c.Name)
		case c.GPUs < 0 || c.GPUMemoryMiB < 0 || c.CPUMHz < 0 || c.MemoryMiB < 0 || c.DiskMiB < 0:
			return fmt.Errorf("cluster: class %q: negative GPUs or resources", c.Name)
		case strings.Trim(c.ReservableCores, "0123456789,-") != "":
			return fmt.Errorf("cluster: class %q: reservable cores %q: want a cpuset list such as \"0-1\"", c.Name, c.ReservableCores)
		case strings.ContainsAny(c.NodeClass, " /\"\\"):
			return fmt.Errorf("cluster: class %q: node class %q: want no spaces, quotes or slashes", c.Name, c.NodeClass)
		}
		if err := validateHostVolumes(c); err != nil {
			return err
		}
		seen[c.Name] = true
	}
	return nil
}

func validateHostVolumes(c Class) error {
	seen := make(map[string]bool, len(c.HostVolumes))
	for _, v := range c.HostVolumes {
		switch {
		case v.Name == "" || strings.ContainsAny(v.Name, " /\"\\"):
			return fmt.Errorf("cluster: class %q: host volume name %q: want a non-empty name without spaces, quotes or slashes", c.Name, v.Name)
		case seen[v.Name]:
			return fmt.Errorf("cluster: class %q: host volume %q listed twice", c.Name, v.Name)
		case v.Path != "" && !filepath.IsAbs(v.Path):
			return fmt.Errorf("cluster: class %q: host volume %q: path %q is not absolute", c.Name, v.Name, v.Path)
		}
		seen[v.Name] = true
	}
	return nil
}

// DefaultBinDir returns $SHARDWISE_BIN, else the .bin directory at the
// root of the repository this package was built from.
func DefaultBinDir() string {
	if d := os.Getenv(BinDirEnv); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ".bin"
	}
	return filepath.Join(filepath.Dir(file), "..", "..", ".bin")
}

// binaries returns the paths Start needs from binDir for these classes.
// The shard driver plugin is needed only when CI is set (shardRequired);
// elsewhere the clients start without it when it is missing.
func binaries(binDir string, classes []Class) []string {
	paths := []string{filepath.Join(binDir, "nomad"), filepath.Join(binDir, "consul")}
	if shardRequired() {
		paths = append(paths, shardPluginPath(binDir))
	}
	for _, c := range classes {
		if c.GPUs > 0 {
			return append(paths, filepath.Join(binDir, "plugins", gpuPlugin))
		}
	}
	return paths
}

// MissingBinaries returns the binaries of opts (after defaults) that are
// not executable files, with a reason each; empty when all are there.
func MissingBinaries(opts Options) []string {
	o, err := opts.withDefaults()
	if err != nil {
		return []string{err.Error()}
	}
	var missing []string
	for _, p := range binaries(o.BinDir, o.Classes) {
		st, err := os.Stat(p)
		switch {
		case err != nil:
			missing = append(missing, err.Error())
		case st.IsDir() || st.Mode()&0o111 == 0:
			missing = append(missing, p+": not an executable file")
		}
	}
	return missing
}

// shardPluginPath is the shard driver plugin binary in binDir.
func shardPluginPath(binDir string) string {
	return filepath.Join(binDir, "plugins", shardPlugin)
}

// shardRequired reports whether a missing shard driver plugin is an error
// (CI is set: CI builds it with `make driver`) rather than a reason to
// start the clients without it.
func shardRequired() bool { return os.Getenv("CI") != "" }

// isExecutable reports whether path is an executable regular file (or a
// link to one).
func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
