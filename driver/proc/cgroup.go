package proc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer/cgroups"
)

// Resource enforcement, as Nomad v1.6.1's exec driver does it
// (drivers/shared/executor/executor_linux.go, configureCgroups): a hard
// memory limit of memory_max, else memory (MiB); memory as the soft limit
// when memory_max is set; swap off; CPU shares equal to the allocated MHz;
// the client's cpuset cgroup for the reserved cores. Unlike exec, the
// task keeps the host's filesystem (no chroot) and joins its cgroups
// before the command starts (see cgexec.go), so that every process of the
// tree is held from its first instruction and the executor, which stays
// in the plugin's cgroups, is not charged to the task.

// Enforcement says whether and how this host can hold tasks to their
// resources.
type Enforcement struct {
	// Version is the cgroup version used, 1 or 2; 0 when Reason is set.
	Version int
	// Reason says why limits cannot be enforced; "" when they can.
	Reason string
}

// Enforced reports whether tasks get cgroups with limits.
func (e Enforcement) Enforced() bool { return e.Reason == "" }

// v1Controllers are the cgroup v1 controllers a task gets a cgroup of its
// own in; pids is optional (older kernels).
var v1Controllers = []string{"memory", "cpu", "cpuacct", "pids"}

// Detect returns the enforcement this process can apply: it needs Linux,
// root, and the memory and cpu controllers (v1 hierarchies, or a cgroup v2
// unified hierarchy with them enabled). noCgroups (the plugin config's
// no_cgroups) turns enforcement off.
func Detect(noCgroups bool) Enforcement {
	switch {
	case runtime.GOOS != "linux":
		return Enforcement{Reason: "cgroups exist only on Linux, this is " + runtime.GOOS}
	case noCgroups:
		return Enforcement{Reason: "no_cgroups = true in the plugin config"}
	case os.Geteuid() != 0:
		return Enforcement{Reason: fmt.Sprintf("the plugin runs as uid %d, not root: it cannot create cgroups", os.Geteuid())}
	}
	if cgroups.IsCgroup2UnifiedMode() {
		b, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers"))
		if err != nil {
			return Enforcement{Reason: "cgroup v2: " + err.Error()}
		}
		have := strings.Fields(string(b))
		for _, c := range []string{"memory", "cpu"} {
			if !slices.Contains(have, c) {
				return Enforcement{Reason: fmt.Sprintf("cgroup v2: controller %s not available (cgroup.controllers: %q)", c, strings.TrimSpace(string(b)))}
			}
		}
		return Enforcement{Version: 2}
	}
	for _, c := range []string{"memory", "cpu", "cpuacct"} {
		if _, err := cgroups.FindCgroupMountpoint("", c); err != nil {
			return Enforcement{Reason: fmt.Sprintf("no cgroup v1 %s hierarchy mounted: %v", c, err)}
		}
	}
	return Enforcement{Version: 1}
}

// cgroupRoot is where the cgroup v2 hierarchy is mounted.
const cgroupRoot = "/sys/fs/cgroup"

// Limits are the resources a task's cgroup holds it to.
type Limits struct {
	// MemoryBytes is the hard memory limit: the OOM killer acts above it.
	// 0: none.
	MemoryBytes int64
	// MemorySoftBytes is the soft limit (v1 memory.soft_limit_in_bytes, v2
	// memory.low), set when the allocation has memory_max above memory.
	MemorySoftBytes int64
	// CPUShares is the relative CPU weight: the allocated MHz, as Nomad
	// passes it (v1 cpu.shares; v2 cpu.weight after runc's conversion).
	// 0: the default weight.
	CPUShares int64
	// PidsMax caps the number of processes and threads; 0: none.
	PidsMax int64
	// CpusetPath is the cpuset cgroup the client made for the task (the
	// shared or a reserved-cores cpuset on v1; on v2 the task's own cgroup,
	// which then also carries the other limits). "": none.
	CpusetPath string
}

// Cgroup is a task's cgroup: where its process tree runs and what it is
// held to. It survives a msgpack round trip through the task handle, so a
// recovered task keeps its limits and its OOM detection.
type Cgroup struct {
	// Version is 1 or 2.
	Version int
	// Dirs are the cgroup directories the driver created for the task,
	// keyed by v1 controller ("" on v2); removed by Destroy.
	Dirs map[string]string
	// Join lists every directory the command's first process joins before
	// it executes the command: Dirs and the client's cpuset cgroup.
	Join []string
	// Limits is what was written.
	Limits Limits
}

// NewCgroup creates the task's cgroup, named name under parent (the
// client's cgroup_parent, e.g. "/nomad"; v1 only), and writes the limits.
// On v2 the task's cgroup is the one the client made (l.CpusetPath);
// without it NewCgroup fails. It fails when a directory cannot be created
// or a limit cannot be written; nothing is left behind then.
func NewCgroup(e Enforcement, parent, name string, l Limits) (*Cgroup, error) {
	if !e.Enforced() {
		return nil, fmt.Errorf("cgroups unavailable: %s", e.Reason)
	}
	cg := &Cgroup{Version: e.Version, Dirs: map[string]string{}, Limits: l}
	var err error
	if e.Version == 2 {
		err = cg.createV2()
	} else {
		err = cg.createV1(parent, name)
	}
	if err != nil {
		cg.removeDirs()
		return nil, err
	}
	return cg, nil
}

// createV1 makes one cgroup per controller and writes the limits.
func (cg *Cgroup) createV1(parent, name string) error {
	for _, c := range v1Controllers {
		mnt, err := cgroups.FindCgroupMountpoint("", c)
		if err != nil {
			if c == "pids" && cg.Limits.PidsMax == 0 {
				continue
			}
			return fmt.Errorf("cgroup v1 %s hierarchy: %w", c, err)
		}
		dir := filepath.Join(mnt, parent, name)
		if slices.Contains(cg.Join, dir) { // cpu and cpuacct mounted together
			cg.Dirs[c] = dir
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create cgroup: %w", err)
		}
		cg.Dirs[c] = dir
		cg.Join = append(cg.Join, dir)
	}
	if err := cg.writeV1(); err != nil {
		return err
	}
	if p := cg.Limits.CpusetPath; p != "" {
		cg.Join = append(cg.Join, p)
	}
	return nil
}

// writeV1 writes the limits into the v1 controllers' files.
func (cg *Cgroup) writeV1() error {
	l, mem := cg.Limits, cg.Dirs["memory"]
	if l.MemoryBytes > 0 {
		if err := writeValue(mem, "memory.limit_in_bytes", l.MemoryBytes); err != nil {
			return err
		}
		// Swap off, as exec does: the limit holds RAM and swap together.
		if err := writeIfExists(mem, "memory.memsw.limit_in_bytes", l.MemoryBytes); err != nil {
			return err
		}
		if err := writeIfExists(mem, "memory.swappiness", 0); err != nil {
			return err
		}
	}
	if l.MemorySoftBytes > 0 {
		if err := writeValue(mem, "memory.soft_limit_in_bytes", l.MemorySoftBytes); err != nil {
			return err
		}
	}
	if l.CPUShares > 0 {
		if err := writeValue(cg.Dirs["cpu"], "cpu.shares", max(l.CPUShares, 2)); err != nil {
			return err
		}
	}
	if l.PidsMax > 0 {
		if err := writeValue(cg.Dirs["pids"], "pids.max", l.PidsMax); err != nil {
			return err
		}
	}
	return nil
}

// createV2 writes the limits into the client's task cgroup.
func (cg *Cgroup) createV2() error {
	dir := cg.Limits.CpusetPath
	if dir == "" {
		return errors.New("cgroup v2: the client made no cgroup for the task (no CpusetCgroupPath)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create cgroup: %w", err)
	}
	cg.Join = []string{dir}
	return cg.writeV2(dir)
}

// writeV2 writes the limits into a v2 cgroup's files.
func (cg *Cgroup) writeV2(dir string) error {
	l := cg.Limits
	if l.MemoryBytes > 0 {
		if err := writeValue(dir, "memory.max", l.MemoryBytes); err != nil {
			return err
		}
		if err := writeIfExists(dir, "memory.swap.max", 0); err != nil {
			return err
		}
	}
	if l.MemorySoftBytes > 0 {
		if err := writeValue(dir, "memory.low", l.MemorySoftBytes); err != nil {
			return err
		}
	}
	if l.CPUShares > 0 {
		w := cgroups.ConvertCPUSharesToCgroupV2Value(uint64(max(l.CPUShares, 2)))
		if err := writeValue(dir, "cpu.weight", int64(w)); err != nil {
			return err
		}
	}
	if l.PidsMax > 0 {
		if err := writeValue(dir, "pids.max", l.PidsMax); err != nil {
			return err
		}
	}
	return nil
}

// memoryDir is the directory whose memory files describe the task.
func (cg *Cgroup) memoryDir() string {
	if cg.Version == 2 {
		return cg.Join[0]
	}
	return cg.Dirs["memory"]
}

// OOMKills returns how many processes of the task the kernel's OOM killer
// killed: oom_kill of v1 memory.oom_control (kernel 4.13+) or of v2
// memory.events.
func (cg *Cgroup) OOMKills() (uint64, error) {
	file := "memory.oom_control"
	if cg.Version == 2 {
		file = "memory.events"
	}
	kv, err := readKeyValues(cg.memoryDir(), file)
	if err != nil {
		return 0, err
	}
	n, ok := kv["oom_kill"]
	if !ok {
		return 0, fmt.Errorf("%s has no oom_kill counter (kernel older than 4.13?)", file)
	}
	return n, nil
}

// PeakBytes is the highest memory use of the task's cgroup, page cache
// included (v1 memory.max_usage_in_bytes, v2 memory.peak from kernel
// 5.19), and whether it is known.
func (cg *Cgroup) PeakBytes() (uint64, bool) {
	file := "memory.max_usage_in_bytes"
	if cg.Version == 2 {
		file = "memory.peak"
	}
	v, err := readUint(cg.memoryDir(), file)
	return v, err == nil
}

// Pids returns the processes in the task's cgroup.
func (cg *Cgroup) Pids() ([]int, error) {
	b, err := os.ReadFile(filepath.Join(cg.memoryDir(), "cgroup.procs"))
	if err != nil {
		return nil, fmt.Errorf("list task processes: %w", err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// Kill sends SIGKILL to every process in the task's cgroup until none is
// left or timeout passes: what escaped the executor's own kill (a
// process that left the process group) ends here too.
func (cg *Cgroup) Kill(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pids, err := cg.Pids()
		if err != nil {
			if os.IsNotExist(errors.Unwrap(err)) {
				return nil
			}
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still in the task's cgroup after %s", pids, timeout)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Destroy kills what is left in the cgroup and removes the directories
// the driver created (not the client's). A cgroup already gone is fine.
func (cg *Cgroup) Destroy() error {
	if err := cg.Kill(5 * time.Second); err != nil {
		return err
	}
	return cg.removeDirs()
}

// removeDirs removes the directories in Dirs; rmdir on a cgroup fails
// while processes are inside, so it retries briefly (a killed process
// leaves its cgroup when its parent reaps it).
func (cg *Cgroup) removeDirs() error {
	var errs []error
	for _, dir := range cg.Dirs {
		var err error
		for i := 0; i < 50; i++ {
			if err = os.Remove(dir); err == nil || os.IsNotExist(err) {
				err = nil
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("remove cgroup: %w", err))
		}
	}
	return errors.Join(errs...)
}

// writeValue writes v into dir/file (a cgroup file, which exists).
func writeValue(dir, file string, v int64) error {
	f, err := os.OpenFile(filepath.Join(dir, file), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("set %s: %w", file, err)
	}
	_, err = f.WriteString(strconv.FormatInt(v, 10))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("set %s to %d: %w", file, v, err)
	}
	return nil
}

// writeIfExists is writeValue for a file that kernels without the
// feature (swap accounting) lack.
func writeIfExists(dir, file string, v int64) error {
	if _, err := os.Stat(filepath.Join(dir, file)); os.IsNotExist(err) {
		return nil
	}
	return writeValue(dir, file, v)
}

// readUint reads a file holding one unsigned number ("max" reads as 0).
func readUint(dir, file string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", file, err)
	}
	return v, nil
}

// readKeyValues reads a flat-keyed file ("key value" lines) such as
// memory.stat, cpu.stat or memory.events.
func readKeyValues(dir, file string) (map[string]uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			out[f[0]] = v
		}
	}
	return out, nil
}
