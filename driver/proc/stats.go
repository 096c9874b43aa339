package proc

import (
	"fmt"
	"math"
	"runtime"

	cstructs "github.com/hashicorp/nomad/client/structs"
	hstats "github.com/hashicorp/nomad/helper/stats"
)

// Stats names in Measured, as Nomad's clients and UI spell them.
const (
	statRSS        = "RSS"
	statCache      = "Cache"
	statSwap       = "Swap"
	statSystemMode = "System Mode"
	statUserMode   = "User Mode"
	statPercent    = "Percent"
	statThrottledP = "Throttled Periods"
	statThrottledT = "Throttled Time"
	statTotalTicks = "Total Ticks"
)

// userHZ is the unit of v1 cpuacct.stat (USER_HZ, 100 on every Linux
// architecture Nomad runs on).
const userHZ = 100

// cpuTimes is the CPU time of the task's cgroup so far, nanoseconds.
type cpuTimes struct {
	total, user, system float64
	throttledPeriods    uint64
	throttledNanos      uint64
}

// StatsReader turns readings of a task's cgroup into Nomad resource
// usage. CPU percentages need the previous reading, so one reader serves
// one stats stream.
type StatsReader struct {
	cg                  *Cgroup
	total, user, system *hstats.CpuStats
	mhzPerCore          float64
}

// NewStatsReader reads cg. mhzPerCore converts the CPU percentage into
// MHz (TotalTicks); 0 means the host's detected clock per core
// (client/stats.Init must have run).
func NewStatsReader(cg *Cgroup, mhzPerCore float64) *StatsReader {
	if mhzPerCore <= 0 {
		if n := runtime.NumCPU(); n > 0 {
			mhzPerCore = float64(hstats.CpuTotalTicks()) / float64(n)
		}
	}
	return &StatsReader{cg: cg, total: hstats.NewCpuStats(), user: hstats.NewCpuStats(),
		system: hstats.NewCpuStats(), mhzPerCore: mhzPerCore}
}

// Read returns the task's memory and CPU use now.
//
// Memory (Measured lists what is filled): v1 RSS = total_rss (anonymous
// memory and swap cache, huge pages included), Cache = total_cache, Swap
// from memory.memsw.usage_in_bytes when swap accounting is on; v2 RSS =
// anon, Cache = file, Swap = memory.swap.current. Usage and MaxUsage
// (page cache included) are not reported: the feedback loop sizes
// memory from RSS, and page cache is reclaimed before the OOM killer
// acts.
//
// CPU: Percent is Nomad's: CPU time over wall time, 100 per busy core;
// UserMode and SystemMode likewise; TotalTicks is Percent/100 cores in
// MHz. The first reading reports 0 percent (no interval yet).
func (r *StatsReader) Read() (*cstructs.ResourceUsage, error) {
	ms, err := r.memory()
	if err != nil {
		return nil, err
	}
	ct, err := r.cpu()
	if err != nil {
		return nil, err
	}
	pct := finite(r.total.Percent(ct.total))
	cs := &cstructs.CpuStats{
		Percent:          pct,
		UserMode:         finite(r.user.Percent(ct.user)),
		SystemMode:       finite(r.system.Percent(ct.system)),
		TotalTicks:       finite(pct / 100 * r.mhzPerCore),
		ThrottledPeriods: ct.throttledPeriods,
		ThrottledTime:    ct.throttledNanos,
		Measured:         []string{statPercent, statUserMode, statSystemMode, statTotalTicks, statThrottledP, statThrottledT},
	}
	return &cstructs.ResourceUsage{MemoryStats: ms, CpuStats: cs}, nil
}

// memory reads the memory figures.
func (r *StatsReader) memory() (*cstructs.MemoryStats, error) {
	dir := r.cg.memoryDir()
	st, err := readKeyValues(dir, "memory.stat")
	if err != nil {
		return nil, fmt.Errorf("memory stats: %w", err)
	}
	ms := &cstructs.MemoryStats{Measured: []string{statRSS, statCache}}
	if r.cg.Version == 2 {
		ms.RSS, ms.Cache = st["anon"], st["file"]
		if swap, err := readUint(dir, "memory.swap.current"); err == nil {
			ms.Swap = swap
			ms.Measured = append(ms.Measured, statSwap)
		}
		return ms, nil
	}
	ms.RSS, ms.Cache = st["total_rss"], st["total_cache"]
	memsw, errSw := readUint(dir, "memory.memsw.usage_in_bytes")
	usage, errU := readUint(dir, "memory.usage_in_bytes")
	if errSw == nil && errU == nil {
		if memsw > usage {
			ms.Swap = memsw - usage
		}
		ms.Measured = append(ms.Measured, statSwap)
	}
	return ms, nil
}

// cpu reads the CPU times.
func (r *StatsReader) cpu() (cpuTimes, error) {
	if r.cg.Version == 2 {
		st, err := readKeyValues(r.cg.Join[0], "cpu.stat")
		if err != nil {
			return cpuTimes{}, fmt.Errorf("cpu stats: %w", err)
		}
		return cpuTimes{
			total: float64(st["usage_usec"]) * 1e3, user: float64(st["user_usec"]) * 1e3,
			system:           float64(st["system_usec"]) * 1e3,
			throttledPeriods: st["nr_throttled"], throttledNanos: st["throttled_usec"] * 1e3,
		}, nil
	}
	acct := r.cg.Dirs["cpuacct"]
	total, err := readUint(acct, "cpuacct.usage")
	if err != nil {
		return cpuTimes{}, fmt.Errorf("cpu stats: %w", err)
	}
	st, err := readKeyValues(acct, "cpuacct.stat")
	if err != nil {
		return cpuTimes{}, fmt.Errorf("cpu stats: %w", err)
	}
	ct := cpuTimes{total: float64(total), user: float64(st["user"]) * 1e9 / userHZ, system: float64(st["system"]) * 1e9 / userHZ}
	if thr, err := readKeyValues(r.cg.Dirs["cpu"], "cpu.stat"); err == nil {
		ct.throttledPeriods, ct.throttledNanos = thr["nr_throttled"], thr["throttled_time"]
	}
	return ct, nil
}

// finite replaces NaN and infinities with 0: one NaN makes the client's
// allocation stats unencodable as JSON.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
