package driver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"

	"github.com/shardwise/shardwise/driver/proc"
)

// needCgroupV1 skips t unless the driver can enforce limits with cgroup
// v1 here (root, v1 hierarchies); with CI set it fails instead, since CI
// machines are root with cgroup v1.
func needCgroupV1(t *testing.T) {
	t.Helper()
	e := proc.Detect(false)
	if e.Enforced() && e.Version == 1 {
		return
	}
	msg := fmt.Sprintf("resource limits need root and cgroup v1 here: %+v", e)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// withResources gives task the allocation a client would: memory MiB (and
// memory_max when memMax > 0) and cpu MHz.
func withResources(task *drivers.TaskConfig, memMiB, memMax, cpuMHz int64) {
	task.Resources = &drivers.Resources{
		NomadResources: &structs.AllocatedTaskResources{
			Memory: structs.AllocatedMemoryResources{MemoryMB: memMiB, MemoryMaxMB: memMax},
			Cpu:    structs.AllocatedCpuResources{CpuShares: cpuMHz},
		},
		LinuxResources: &drivers.LinuxResources{CPUShares: cpuMHz, MemoryLimitBytes: max(memMiB, memMax) << 20},
	}
}

// cgroupOf returns the v1 cgroup directory of pid for controller.
func cgroupOf(t *testing.T, pid int, controller string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && slices.Contains(strings.Split(f[1], ","), controller) {
			return filepath.Join("/sys/fs/cgroup", controller, f[2])
		}
	}
	t.Fatalf("pid %d has no %s cgroup:\n%s", pid, controller, b)
	return ""
}

// cgroupValue reads one number from a cgroup file.
func cgroupValue(t *testing.T, dir, file string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The command and a background child it starts run in the task's own
// cgroups, which hold the allocation: memory_max as the hard limit,
// memory as the soft one, the MHz as CPU shares, pids_limit; Destroy
// removes them.
func TestLimitsHoldTheProcessTree(t *testing.T) {
	needCgroupV1(t)
	td := newConfiguredDriver(t, nil, &Config{CompressionLevel: 3, DataDir: t.TempDir(), PidsLimit: 64})
	task := td.newTask(t, "sleep 1000 & echo $! > child; touch ready; wait", nil)
	withResources(task, 48, 96, 300)
	td.start(t, task)
	pid := runningPid(t, td, task.ID)
	eventually(t, "the child's pid", func() bool { return len(lines(t, taskFile(task, "child"))) == 1 })
	child, _ := strconv.Atoi(lines(t, taskFile(task, "child"))[0])

	mem := cgroupOf(t, pid, "memory")
	if !strings.Contains(mem, "/nomad/shard.") {
		t.Fatalf("command's memory cgroup %s, want the task's own under /nomad", mem)
	}
	for _, c := range []string{"memory", "cpu", "cpuacct", "pids"} {
		if a, b := cgroupOf(t, pid, c), cgroupOf(t, child, c); a != b {
			t.Errorf("%s cgroup: command in %s, its child in %s", c, a, b)
		}
	}
	checks := []struct {
		dir, file string
		want      int64
	}{
		{mem, "memory.limit_in_bytes", 96 << 20},
		{mem, "memory.soft_limit_in_bytes", 48 << 20},
		{mem, "memory.swappiness", 0},
		{cgroupOf(t, pid, "cpu"), "cpu.shares", 300},
		{cgroupOf(t, pid, "pids"), "pids.max", 64},
	}
	for _, c := range checks {
		if got := cgroupValue(t, c.dir, c.file); got != c.want {
			t.Errorf("%s = %d, want %d", c.file, got, c.want)
		}
	}
	if err := td.DestroyTask(task.ID, true); err != nil {
		t.Fatal(err)
	}
	if exists(mem) {
		t.Errorf("cgroup %s left after DestroyTask", mem)
	}
	if alive(child) {
		t.Errorf("child %d outlived DestroyTask", child)
	}
}

// alive reports whether pid runs (a zombie waiting for its reaper does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}

// A command that needs 100 MiB with 32 MiB allocated is killed by the
// kernel: the exit result says OOMKilled and a task event says why.
func TestOOMKillReported(t *testing.T) {
	needCgroupV1(t)
	td := newTestDriver(t, nil)
	events := collectEvents(t, td)
	task := td.newTask(t, "head -c 100m /dev/zero | tail -c 100m > /dev/null", nil)
	withResources(task, 32, 0, 100)
	td.start(t, task)
	res := td.wait(t, task.ID)
	if !res.OOMKilled || res.ExitCode != 137 {
		t.Fatalf("exit result %+v, want OOMKilled with exit code 137", res)
	}
	eventually(t, "the OOM task event", func() bool {
		for _, e := range events() {
			if strings.Contains(e, "OOM killer killed 1 process(es) of the task at its memory limit of 32 MiB") {
				return true
			}
		}
		return false
	})
}

// The same command fits in 160 MiB: not OOM-killed.
func TestFitsUnderLimit(t *testing.T) {
	needCgroupV1(t)
	td := newTestDriver(t, nil)
	task := td.newTask(t, "head -c 100m /dev/zero | tail -c 100m > /dev/null", nil)
	withResources(task, 160, 0, 100)
	td.start(t, task)
	if res := td.wait(t, task.ID); !res.Successful() || res.OOMKilled {
		t.Fatalf("exit result %+v, want success", res)
	}
}

// Stats come from the task's cgroup: RSS and cache measured (and listed),
// usage not listed, CPU percent and ticks of a busy loop above zero,
// pids from the executor; every figure finite.
func TestStatsFromCgroup(t *testing.T) {
	needCgroupV1(t)
	td := newTestDriver(t, nil)
	task := td.newTask(t, "x=0; while :; do x=$((x+1)); done", nil)
	withResources(task, 64, 0, 500)
	td.start(t, task)
	last := td.statsUntil(t, task.ID, "nonzero CPU and RSS", func(ru *drivers.ResourceUsage) bool {
		return ru.CpuStats.Percent > 0 && ru.CpuStats.TotalTicks > 0 && ru.MemoryStats.RSS > 0
	})
	ms, cs := last.ResourceUsage.MemoryStats, last.ResourceUsage.CpuStats
	for _, want := range []string{"RSS", "Cache"} {
		if !slices.Contains(ms.Measured, want) {
			t.Errorf("memory Measured %v lacks %s", ms.Measured, want)
		}
	}
	if slices.Contains(ms.Measured, "Usage") || ms.Usage != 0 {
		t.Errorf("memory usage %d listed as %v: page cache is not reported", ms.Usage, ms.Measured)
	}
	if ms.RSS > 64<<20 {
		t.Errorf("RSS %d above the 64 MiB limit", ms.RSS)
	}
	if !slices.Contains(cs.Measured, "Percent") || cs.Percent > 150 {
		t.Errorf("CPU %+v: one busy shell should be at most about one core", cs)
	}
	if len(last.Pids) == 0 {
		t.Errorf("stats name no pids: %+v", last)
	}
}

// With no_cgroups = true the fingerprint says limits are not enforced and
// why, and a task runs outside any task cgroup.
func TestNoCgroupsSaysSo(t *testing.T) {
	td := newConfiguredDriver(t, nil, &Config{CompressionLevel: 3, DataDir: t.TempDir(), NoCgroups: true})
	e := td.impl.enforcement()
	if e.Enforced() || !strings.Contains(e.Reason, "no_cgroups") {
		t.Fatalf("enforcement %+v, want off because of no_cgroups", e)
	}
	fp := td.impl.fingerprint(context.Background())
	if v, ok := fp.Attributes[attrLimits].GetBool(); !ok || v {
		t.Errorf("fingerprint %s = %v", attrLimits, fp.Attributes[attrLimits])
	}
	if v, _ := fp.Attributes[attrLimitsReason].GetString(); !strings.Contains(v, "no_cgroups") {
		t.Errorf("fingerprint %s = %q", attrLimitsReason, v)
	}
	task := td.newTask(t, "touch ready; sleep 1000", nil)
	withResources(task, 32, 0, 100)
	td.start(t, task)
	pid := runningPid(t, td, task.ID)
	if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid)); strings.Contains(string(b), "shard.") {
		t.Errorf("task in a task cgroup with no_cgroups:\n%s", b)
	}
}

// The fingerprint of a driver that can enforce limits says so with the
// cgroup version.
func TestFingerprintSaysLimitsEnforced(t *testing.T) {
	needCgroupV1(t)
	td := newTestDriver(t, nil)
	fp := td.impl.fingerprint(context.Background())
	if v, ok := fp.Attributes[attrLimits].GetBool(); !ok || !v {
		t.Errorf("fingerprint %s = %v", attrLimits, fp.Attributes[attrLimits])
	}
	if v, ok := fp.Attributes[attrCgroup].GetInt(); !ok || v != 1 {
		t.Errorf("fingerprint %s = %v", attrCgroup, fp.Attributes[attrCgroup])
	}
}

func TestLimitsOf(t *testing.T) {
	r := &drivers.Resources{NomadResources: &structs.AllocatedTaskResources{
		Memory: structs.AllocatedMemoryResources{MemoryMB: 64},
		Cpu:    structs.AllocatedCpuResources{CpuShares: 250},
	}}
	if l := limitsOf(r, 0); l.MemoryBytes != 64<<20 || l.MemorySoftBytes != 0 || l.CPUShares != 250 {
		t.Errorf("memory only: %+v", l)
	}
	r.NomadResources.Memory.MemoryMaxMB = 128
	if l := limitsOf(r, 9); l.MemoryBytes != 128<<20 || l.MemorySoftBytes != 64<<20 || l.PidsMax != 9 {
		t.Errorf("memory_max: %+v", l)
	}
	if l := limitsOf(nil, 0); l != (proc.Limits{}) {
		t.Errorf("no resources: %+v", l)
	}
}

// TotalTicks of a task with reserved cores use its shares per core; no
// cores, no shares or no resources give 0 (the host's clock), never a
// division by zero.
func TestMHzPerCore(t *testing.T) {
	cores := &drivers.Resources{
		NomadResources: &structs.AllocatedTaskResources{Cpu: structs.AllocatedCpuResources{CpuShares: 4000}},
		LinuxResources: &drivers.LinuxResources{CpusetCpus: "0,1"},
	}
	if got := mhzPerCore(cores); got != 2000 {
		t.Errorf("two cores of 4000 MHz: %v MHz per core", got)
	}
	cores.NomadResources.Cpu.CpuShares = 0
	noCores := &drivers.Resources{NomadResources: &structs.AllocatedTaskResources{Cpu: structs.AllocatedCpuResources{CpuShares: 500}}}
	for _, r := range []*drivers.Resources{cores, noCores, nil} {
		if got := mhzPerCore(r); got != 0 {
			t.Errorf("%+v: %v MHz per core, want 0", r, got)
		}
	}
}

// bigChannels is a ChannelManager whose FetchInputs writes size bytes to
// each input path and whose PublishOutputs reads every output file
// through, as driver/channel does (in the plugin's process, not the
// task's).
type bigChannels struct {
	size      int64
	published int64
}

func (b *bigChannels) FetchInputs(ctx context.Context, spec TaskChannels, taskDir string, progress func(string)) error {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	for _, in := range spec.Inputs {
		path := filepath.Join(taskDir, in.Path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		for n := int64(0); n < b.size; n += int64(len(buf)) {
			if _, err := f.Write(buf); err != nil {
				f.Close()
				return err
			}
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func (b *bigChannels) PublishOutputs(ctx context.Context, spec TaskChannels, taskDir string) error {
	for _, out := range spec.Outputs {
		data, err := os.ReadFile(filepath.Join(taskDir, out.Path))
		if err != nil {
			return err
		}
		b.published += int64(len(data))
	}
	return nil
}

func (b *bigChannels) Close() error { return nil }

// Fetching a 256 MiB input and publishing an output are the plugin's
// work, not charged to the task: a task with 32 MiB that reads the whole
// input through completes without an OOM kill, and its cgroup's peak
// stays far below the limit (the input's pages, cached by the plugin,
// stay charged to the plugin's cgroup).
func TestChannelsNotChargedToTask(t *testing.T) {
	needCgroupV1(t)
	ch := &bigChannels{size: 256 << 20}
	td := newTestDriver(t, func(*Config, hclog.Logger) (ChannelManager, error) { return ch, nil })
	// The task reads its own cgroup's peak last (the driver removes the
	// cgroup when the task ends).
	script := "cksum in/raw > /dev/null && mkdir -p out && head -c 8m /dev/zero > out/clean && " +
		"cat /sys/fs/cgroup/memory$(grep ':memory:' /proc/self/cgroup | cut -d: -f3)/memory.max_usage_in_bytes > peak"
	task := td.newTask(t, script, withChannels)
	withResources(task, 32, 0, 100)
	td.start(t, task)
	if res := td.wait(t, task.ID); !res.Successful() || res.OOMKilled {
		t.Fatalf("exit result %+v, want success", res)
	}
	peak := cgroupValue(t, task.TaskDir().Dir, "peak")
	t.Logf("task cgroup peak %.1f MiB (limit 32 MiB, input 256 MiB, output 8 MiB)", float64(peak)/(1<<20))
	if peak >= 24<<20 {
		t.Errorf("task cgroup peak %d bytes: the fetched input was charged to the task", peak)
	}
	if ch.published != 8<<20 {
		t.Errorf("published %d bytes, want 8 MiB", ch.published)
	}
}

// When the command exits, what it left running dies with its cgroup
// (as under exec), and the cgroup is removed then, not only at
// DestroyTask, which a client that dies first never calls.
func TestExitEndsTheTree(t *testing.T) {
	needCgroupV1(t)
	td := newTestDriver(t, nil)
	task := td.newTask(t, "sleep 1000 & echo $! > child; exit 0", nil)
	withResources(task, 32, 0, 100)
	handle := td.start(t, task)
	if res := td.wait(t, task.ID); !res.Successful() {
		t.Fatalf("exit result %+v", res)
	}
	child, _ := strconv.Atoi(lines(t, taskFile(task, "child"))[0])
	if alive(child) {
		t.Errorf("child %d outlived the task", child)
	}
	var state TaskState
	if err := handle.GetDriverState(&state); err != nil || state.Cgroup == nil {
		t.Fatalf("driver state %+v, %v: no cgroup", state, err)
	}
	for c, dir := range state.Cgroup.Dirs {
		if exists(dir) {
			t.Errorf("%s cgroup %s left after the task ended", c, dir)
		}
	}
}
