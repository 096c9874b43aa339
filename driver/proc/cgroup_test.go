package proc

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeFiles writes files (name -> content) into dir, as a cgroup dir
// holds them.
func fakeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readFile returns the trimmed content of dir/name.
func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// On cgroup v2 the limits go into the client's task cgroup: memory.max,
// memory.low below memory_max, swap off, cpu.weight converted from the
// shares as runc converts them, pids.max; it is the only cgroup joined
// and the driver does not remove it.
func TestCgroupV2Limits(t *testing.T) {
	dir := t.TempDir()
	fakeFiles(t, dir, map[string]string{
		"memory.max": "max", "memory.low": "0", "memory.swap.max": "max",
		"cpu.weight": "100", "pids.max": "max",
	})
	l := Limits{MemoryBytes: 128 << 20, MemorySoftBytes: 64 << 20, CPUShares: 500, PidsMax: 32, CpusetPath: dir}
	cg, err := NewCgroup(Enforcement{Version: 2}, "/nomad", "ignored", l)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"memory.max": "134217728", "memory.low": "67108864", "memory.swap.max": "0",
		"cpu.weight": "19", // 1 + (500-2)*9999/262142
		"pids.max":   "32",
	}
	for name, v := range want {
		if got := readFile(t, dir, name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	if !slices.Equal(cg.Join, []string{dir}) || len(cg.Dirs) != 0 {
		t.Errorf("joins %v, owns %v; want to join the client's cgroup only and own none", cg.Join, cg.Dirs)
	}
}

// Without swap accounting (no memory.swap.max) the limits still apply.
func TestCgroupV2WithoutSwapFile(t *testing.T) {
	dir := t.TempDir()
	fakeFiles(t, dir, map[string]string{"memory.max": "max", "cpu.weight": "100"})
	if _, err := NewCgroup(Enforcement{Version: 2}, "", "", Limits{MemoryBytes: 1 << 20, CPUShares: 2, CpusetPath: dir}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, dir, "cpu.weight"); got != "1" {
		t.Errorf("cpu.weight = %q, want 1 for the minimum shares", got)
	}
}

// On v2 without a cgroup from the client there is nowhere to put limits:
// NewCgroup says so instead of running the task unlimited.
func TestCgroupV2NeedsClientCgroup(t *testing.T) {
	_, err := NewCgroup(Enforcement{Version: 2}, "", "", Limits{MemoryBytes: 1 << 20})
	if err == nil || !strings.Contains(err.Error(), "no cgroup for the task") {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewCgroup(Enforcement{Reason: "not root"}, "", "", Limits{}); err == nil || !strings.Contains(err.Error(), "not root") {
		t.Fatalf("err = %v, want the reason enforcement is off", err)
	}
}

// v2 readings: OOM kills from memory.events, peak from memory.peak, RSS
// from memory.stat's anon, cache from file, swap from memory.swap.current;
// CPU from cpu.stat's microseconds.
func TestCgroupV2Readings(t *testing.T) {
	dir := t.TempDir()
	fakeFiles(t, dir, map[string]string{
		"memory.events":       "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n",
		"memory.peak":         "67108864\n",
		"memory.stat":         "anon 4194304\nfile 8388608\nkernel 1000\nshmem 0\n",
		"memory.swap.current": "4096\n",
		"cpu.stat":            "usage_usec 1000000\nuser_usec 600000\nsystem_usec 400000\nnr_periods 0\nnr_throttled 3\nthrottled_usec 7\n",
	})
	cg := &Cgroup{Version: 2, Join: []string{dir}}
	if n, err := cg.OOMKills(); err != nil || n != 2 {
		t.Errorf("OOMKills = %d, %v; want 2", n, err)
	}
	if p, ok := cg.PeakBytes(); !ok || p != 64<<20 {
		t.Errorf("PeakBytes = %d, %v", p, ok)
	}
	r := NewStatsReader(cg, 2000)
	first, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	ms := first.MemoryStats
	if ms.RSS != 4<<20 || ms.Cache != 8<<20 || ms.Swap != 4096 || !slices.Equal(ms.Measured, []string{"RSS", "Cache", "Swap"}) {
		t.Errorf("memory %+v", ms)
	}
	if first.CpuStats.Percent != 0 || first.CpuStats.ThrottledPeriods != 3 || first.CpuStats.ThrottledTime != 7000 {
		t.Errorf("first CPU reading %+v: want 0 percent (no interval yet) and the throttling", first.CpuStats)
	}
	fakeFiles(t, dir, map[string]string{"cpu.stat": "usage_usec 2000000\nuser_usec 1200000\nsystem_usec 800000\n"})
	second, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if cs := second.CpuStats; cs.Percent <= 0 || cs.TotalTicks <= 0 || cs.UserMode <= 0 {
		t.Errorf("second CPU reading %+v: want positive percent and ticks", cs)
	}
}

// A v2 cgroup without memory.swap.current reports no swap and does not
// list it; without memory.peak the peak is unknown.
func TestCgroupV2MissingFiles(t *testing.T) {
	dir := t.TempDir()
	fakeFiles(t, dir, map[string]string{"memory.stat": "anon 1\nfile 2\n", "cpu.stat": "usage_usec 1\n", "memory.events": "oom 0\n"})
	cg := &Cgroup{Version: 2, Join: []string{dir}}
	u, err := NewStatsReader(cg, 0).Read()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(u.MemoryStats.Measured, "Swap") {
		t.Errorf("swap listed as measured: %v", u.MemoryStats.Measured)
	}
	if _, ok := cg.PeakBytes(); ok {
		t.Error("peak known without memory.peak")
	}
	if _, err := cg.OOMKills(); err == nil {
		t.Error("OOMKills without an oom_kill counter: no error")
	}
}

// v1 readings from fake files: total_rss and total_cache, swap as memsw
// usage minus usage, CPU from cpuacct (nanoseconds) and cpuacct.stat
// (USER_HZ ticks), OOM kills from memory.oom_control.
func TestCgroupV1Readings(t *testing.T) {
	mem, cpu, acct := t.TempDir(), t.TempDir(), t.TempDir()
	fakeFiles(t, mem, map[string]string{
		"memory.stat":                 "cache 1\nrss 2\ntotal_cache 8192\ntotal_rss 16384\n",
		"memory.usage_in_bytes":       "30000\n",
		"memory.memsw.usage_in_bytes": "34096\n",
		"memory.oom_control":          "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
		"memory.max_usage_in_bytes":   "33554432\n",
		"memory.limit_in_bytes":       "0",
		"memory.memsw.limit_in_bytes": "0",
		"memory.swappiness":           "60",
		"memory.soft_limit_in_bytes":  "0",
	})
	fakeFiles(t, cpu, map[string]string{"cpu.stat": "nr_periods 0\nnr_throttled 4\nthrottled_time 99\n", "cpu.shares": "1024"})
	fakeFiles(t, acct, map[string]string{"cpuacct.usage": "500000000\n", "cpuacct.stat": "user 30\nsystem 20\n"})
	cg := &Cgroup{Version: 1, Dirs: map[string]string{"memory": mem, "cpu": cpu, "cpuacct": acct}}
	if n, err := cg.OOMKills(); err != nil || n != 1 {
		t.Errorf("OOMKills = %d, %v", n, err)
	}
	if p, ok := cg.PeakBytes(); !ok || p != 32<<20 {
		t.Errorf("PeakBytes = %d, %v", p, ok)
	}
	u, err := NewStatsReader(cg, 1000).Read()
	if err != nil {
		t.Fatal(err)
	}
	if ms := u.MemoryStats; ms.RSS != 16384 || ms.Cache != 8192 || ms.Swap != 4096 || ms.Usage != 0 {
		t.Errorf("memory %+v", ms)
	}
	if cs := u.CpuStats; cs.ThrottledPeriods != 4 || cs.ThrottledTime != 99 {
		t.Errorf("cpu %+v", cs)
	}
	cg.Limits = Limits{MemoryBytes: 64 << 20, MemorySoftBytes: 32 << 20, CPUShares: 1}
	if err := cg.writeV1(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"memory.limit_in_bytes": "67108864", "memory.memsw.limit_in_bytes": "67108864",
		"memory.swappiness": "0", "memory.soft_limit_in_bytes": "33554432",
	} {
		if got := readFile(t, mem, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

// With no clock known (client/stats.Init not run in this test binary)
// TotalTicks is 0 and every figure finite, while Percent still counts.
func TestStatsWithoutClock(t *testing.T) {
	dir := t.TempDir()
	fakeFiles(t, dir, map[string]string{"memory.stat": "anon 1\n", "cpu.stat": "usage_usec 1000\n"})
	r := NewStatsReader(&Cgroup{Version: 2, Join: []string{dir}}, 0)
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	fakeFiles(t, dir, map[string]string{"cpu.stat": "usage_usec 900000\n"})
	u, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	cs := u.CpuStats
	if cs.Percent <= 0 || cs.TotalTicks != 0 || math.IsNaN(cs.UserMode) || math.IsNaN(cs.SystemMode) {
		t.Errorf("CPU %+v: want a positive percent, 0 ticks, no NaN", cs)
	}
}
