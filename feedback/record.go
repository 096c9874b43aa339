package feedback

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/sdk"
)

// SourceNomad is the Source of records written by the feedback service.
const SourceNomad = "nomad"

// NodeInfo is what a record needs from the node an allocation ran on.
type NodeInfo struct {
	Class  string  // Nomad node class
	CPUMHz float64 // clock of one core (attribute cpu.frequency), 0 if unknown
}

// IOReport is a task's own account of its IO, read from UsageReportPath
// in the allocation directory when the task (or the shard driver) writes
// one. Bytes; zero fields are not reported.
type IOReport struct {
	ReadBytes    int64 `json:"read_bytes"`
	WrittenBytes int64 `json:"written_bytes"`
	InputBytes   int64 `json:"input_bytes"`
	OutputBytes  int64 `json:"output_bytes"`
}

// IsShardwise reports whether job carries Shardwise's meta (job-level
// shardwise_signature and shardwise_run).
func IsShardwise(meta map[string]string) bool {
	return meta[sdk.MetaSignature] != "" && meta[sdk.MetaRun] != ""
}

// BuildRecord turns a terminal allocation (with its Job, as
// /v1/allocation/:id returns it) and the usage sampled while it ran into
// one history record. It reports false when the allocation has no
// Shardwise meta or no task state. u may be the zero Usage and io nil.
//
// OOM: see OOMKilled. An OOM-killed record's MemoryBytes is at least its
// memory limit, the figure it died at.
//
// Under a driver whose figures cannot be trusted (UsageMeasured false:
// raw_exec) u is not used: MemoryBytes and the CPU figures (CPUPercent,
// CPUPeak, CPUTicks, Cores) are 0, unmeasured, as in a fused shard's
// per-task records, so that the predictor keeps hints or defaults for
// them. Runtime, IO, exit and OOM verdict are recorded as for any driver,
// and an OOM kill still records its limit as MemoryBytes.
func BuildRecord(a *api.Allocation, u Usage, node NodeInfo, io *IOReport) (history.Record, bool) {
	meta := allocMeta(a)
	if !IsShardwise(meta) {
		return history.Record{}, false
	}
	task, ts := mainTask(a)
	if ts == nil {
		return history.Record{}, false
	}
	idx := allocIndex(a.Name)
	r := history.Record{
		Alloc: a.ID, Source: SourceNomad,
		Graph: meta[sdk.MetaGraph], Run: meta[sdk.MetaRun],
		Shard: pick(meta[sdk.MetaShard], idx), Task: task,
		Signature: meta[sdk.MetaSignature], Executor: meta[sdk.MetaClass],
		Node: a.NodeName, NodeClass: node.Class, CPUMHz: node.CPUMHz,
		Start: ts.StartedAt.UTC(), End: ts.FinishedAt.UTC(),
	}
	if !ts.StartedAt.IsZero() && ts.FinishedAt.After(ts.StartedAt) {
		r.RuntimeSeconds = ts.FinishedAt.Sub(ts.StartedAt).Seconds()
	}
	driver := taskDriver(a, task)
	if UsageMeasured(driver) {
		setUsage(&r, u)
	}
	setLimits(&r, a, task)
	setExit(&r, ts, driver)
	if r.OOMKilled && r.MemoryBytes < r.MemoryLimitBytes {
		r.MemoryBytes = r.MemoryLimitBytes
	}
	setPredictions(&r, meta, idx)
	setIO(&r, meta, idx, io)
	return r, true
}

// taskStateDead is TaskState.State of a task that has finished for good
// (Nomad's structs.TaskStateDead; the api package has no constant).
const taskStateDead = "dead"

// Ended reports whether allocation a shows how it ended, as its client
// reported it: its client status is terminal (complete, failed or lost)
// and every task it has a state for is dead. A lost allocation whose
// tasks are not dead does not: Nomad's server marked it lost when its
// client missed heartbeats, keeping the task states the client reported
// last (running, say), and the client reports the tasks' end (an OOM
// kill, an exit) once it is back, as failed or complete.
func Ended(a *api.Allocation) bool {
	if a == nil || len(a.TaskStates) == 0 {
		return false
	}
	switch a.ClientStatus {
	case api.AllocClientStatusComplete, api.AllocClientStatusFailed, api.AllocClientStatusLost:
	default:
		return false
	}
	for _, ts := range a.TaskStates {
		if ts == nil || ts.State != taskStateDead {
			return false
		}
	}
	return true
}

// allocMeta merges the job's meta under its group's.
func allocMeta(a *api.Allocation) map[string]string {
	out := map[string]string{}
	if a.Job == nil {
		return out
	}
	for k, v := range a.Job.Meta {
		out[k] = v
	}
	for _, g := range a.Job.TaskGroups {
		if g.Name != nil && *g.Name == a.TaskGroup {
			for k, v := range g.Meta {
				out[k] = v
			}
		}
	}
	return out
}

// driversWithoutUsage are the task drivers whose resource usage (Nomad's
// /v1/client/allocation/:id/stats) is not the task's. Nomad v1.6.1's
// raw_exec runs the task under its universal executor, whose pid
// collector (drivers/shared/executor/pid_collector.go) sums the RSS and
// CPU of the executor's own process tree, the executor included (about
// 57 MiB of RSS of its own), and rescans that tree only every 5 s, so a
// child that starts and ends between two scans (each command of a shell
// loop) is never counted. exec (libcontainer) and shard read the task's
// cgroup instead.
var driversWithoutUsage = map[string]bool{"raw_exec": true}

// UsageMeasured reports whether Nomad's resource usage of a task run by
// driver measures the task itself (see driversWithoutUsage); an unknown
// driver ("") is taken as measured.
func UsageMeasured(driver string) bool {
	return !driversWithoutUsage[driver]
}

// taskDriver returns the driver of the allocation's task, "" when its
// job is not at hand.
func taskDriver(a *api.Allocation, task string) string {
	if a.Job == nil {
		return ""
	}
	for _, g := range a.Job.TaskGroups {
		if g.Name == nil || *g.Name != a.TaskGroup {
			continue
		}
		for _, t := range g.Tasks {
			if t.Name == task {
				return t.Driver
			}
		}
	}
	return ""
}

// mainTask returns the allocation's task: the first of its group's tasks
// that has a state, else any task with a state.
func mainTask(a *api.Allocation) (string, *api.TaskState) {
	if a.Job != nil {
		for _, g := range a.Job.TaskGroups {
			if g.Name == nil || *g.Name != a.TaskGroup {
				continue
			}
			for _, t := range g.Tasks {
				if ts := a.TaskStates[t.Name]; ts != nil {
					return t.Name, ts
				}
			}
		}
	}
	for name, ts := range a.TaskStates {
		return name, ts
	}
	return "", nil
}

var allocNameIndex = regexp.MustCompile(`\[(\d+)\]$`)

// allocIndex parses the index from an allocation name "job.group[3]";
// 0 when there is none.
func allocIndex(name string) int {
	m := allocNameIndex.FindStringSubmatch(name)
	if m == nil {
		return 0
	}
	i, _ := strconv.Atoi(m[1])
	return i
}

// pick returns element i of a comma list, or the whole value when it has
// one element; "" when i is out of range.
func pick(list string, i int) string {
	parts := strings.Split(list, ",")
	if len(parts) == 1 {
		return list
	}
	if i < len(parts) {
		return strings.TrimSpace(parts[i])
	}
	return ""
}

// pickFloat is pick parsed as a non-negative finite float; 0 otherwise.
func pickFloat(list string, i int) float64 {
	v, err := strconv.ParseFloat(pick(list, i), 64)
	if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

func setUsage(r *history.Record, u Usage) {
	if u.Samples > 0 {
		r.CPUPercent = u.CPUPercentSum / float64(u.Samples)
		r.CPUTicks = u.CPUTicksSum / float64(u.Samples)
		r.Cores = r.CPUPercent / 100
	}
	r.CPUPeak = u.CPUPercentPeak
	r.MemoryBytes = u.MemoryPeak
}

// setLimits sets the memory limit and GPUs the scheduler gave task.
func setLimits(r *history.Record, a *api.Allocation, task string) {
	if a.AllocatedResources == nil || a.AllocatedResources.Tasks[task] == nil {
		return
	}
	tr := a.AllocatedResources.Tasks[task]
	r.MemoryLimitBytes = max(tr.Memory.MemoryMB, tr.Memory.MemoryMaxMB) << 20
	for _, d := range tr.Devices {
		if d != nil && d.Type == "gpu" {
			r.GPUs += len(d.DeviceIDs)
		}
	}
}

// setExit sets the exit code and OOM verdict from the events of a task
// run by driver. A task that is not dead (the allocation was marked lost
// by Nomad's server while its client was out of reach, so its state is
// the last one the client reported) has no known end: exit -1, not the
// success an absent Terminated event would otherwise read as.
func setExit(r *history.Record, ts *api.TaskState, driver string) {
	if ts.State != taskStateDead {
		r.ExitCode = -1
		return
	}
	term, oom := lastTermination(ts, driver)
	if term == nil {
		if ts.Failed {
			r.ExitCode = -1
		}
		return
	}
	r.ExitCode = term.ExitCode
	r.OOMKilled = oom
	if ts.Failed && r.ExitCode == 0 && !r.OOMKilled {
		r.ExitCode = -1
	}
}

// OOMKilled reports whether the events of a task run by driver show it
// was killed for memory: its last Terminated event says oom_killed (set
// from the driver's ExitResult.OOMKilled, which the shard driver reads
// from the task's memory cgroup). For the drivers that never set it
// (Nomad v1.6's exec, raw_exec and java, whose executor does not report
// OOM kills) and for an unknown driver (""), a task that died of SIGKILL
// (signal 9 or exit code 137) without a Killing or Killed event from
// Nomad is taken as OOM-killed too. A nil state reports false.
func OOMKilled(ts *api.TaskState, driver string) bool {
	if ts == nil {
		return false
	}
	_, oom := lastTermination(ts, driver)
	return oom
}

// driversWithoutOOM are the task drivers whose exit results never say
// OOMKilled, so that an OOM kill can only be inferred from SIGKILL.
var driversWithoutOOM = map[string]bool{"": true, "exec": true, "raw_exec": true, "java": true}

// lastTermination returns the task's last Terminated event (nil when it
// has none) and the OOM verdict of OOMKilled.
func lastTermination(ts *api.TaskState, driver string) (*api.TaskEvent, bool) {
	var term *api.TaskEvent
	killed := false
	for _, e := range ts.Events {
		if e == nil {
			continue
		}
		switch e.Type {
		case api.TaskTerminated:
			term = e
		case api.TaskKilling, api.TaskKilled:
			killed = true
		}
	}
	if term == nil {
		return nil, false
	}
	if term.Details["oom_killed"] == "true" {
		return term, true
	}
	sigkill := term.Signal == 9 || term.ExitCode == 137
	return term, driversWithoutOOM[driver] && sigkill && !killed
}

func setPredictions(r *history.Record, meta map[string]string, idx int) {
	r.PredictedRuntimeSeconds = pickFloat(meta[sdk.MetaPredictedRuntime], idx)
	r.PredictedMemoryBytes = int64(math.Ceil(pickFloat(meta[sdk.MetaPredictedMemory], idx) * (1 << 20)))
}

func setIO(r *history.Record, meta map[string]string, idx int, io *IOReport) {
	r.InputBytes = int64(pickFloat(meta[sdk.MetaInputBytes], idx))
	r.OutputBytes = int64(pickFloat(meta[sdk.MetaOutputBytes], idx))
	if io == nil {
		return
	}
	r.ReadBytes, r.WriteBytes = max(io.ReadBytes, 0), max(io.WrittenBytes, 0)
	if io.InputBytes > 0 {
		r.InputBytes = io.InputBytes
	}
	if io.OutputBytes > 0 {
		r.OutputBytes = io.OutputBytes
	}
}

// Sample folds one /v1/client/allocation/:id/stats reading into u. Memory
// is the largest of the measured RSS (plus swap) and max usage, following
// the Measured list: process drivers report RSS with Usage = 0. NaN or
// negative CPU readings are ignored.
func (u Usage) Sample(s *api.AllocResourceUsage) Usage {
	if s == nil || s.ResourceUsage == nil {
		return u
	}
	if c := s.ResourceUsage.CpuStats; c != nil && c.Percent >= 0 && !math.IsNaN(c.Percent) && !math.IsInf(c.Percent, 0) {
		u.Samples++
		u.CPUPercentSum += c.Percent
		u.CPUPercentPeak = math.Max(u.CPUPercentPeak, c.Percent)
		if c.TotalTicks >= 0 && !math.IsNaN(c.TotalTicks) {
			u.CPUTicksSum += c.TotalTicks
		}
	}
	if m := s.ResourceUsage.MemoryStats; m != nil {
		u.MemoryPeak = max(u.MemoryPeak, memoryOf(m))
	}
	return u
}

// memoryOf is the memory in use by one reading, bytes.
func memoryOf(m *api.MemoryStats) int64 {
	v := m.RSS + m.Swap
	for _, name := range m.Measured {
		switch name {
		case "Max Usage":
			v = max(v, m.MaxUsage)
		case "Usage":
			v = max(v, m.Usage)
		}
	}
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// finishedAt is when the allocation's task finished, for lag metrics;
// zero when unknown.
func finishedAt(a *api.Allocation) time.Time {
	_, ts := mainTask(a)
	if ts == nil {
		return time.Time{}
	}
	return ts.FinishedAt
}

// OOMRecord returns the record BuildRecord makes of a failed allocation,
// and true, when its task was OOM-killed (OOMKilled); the record died at
// least at its limit (MemoryBytes >= MemoryLimitBytes) and names its
// executor class. a must carry its Job, as /v1/allocation/:id returns it.
// It reports false for an allocation that was not OOM-killed, has no
// Shardwise meta or no task state. How much memory the retry gets is the
// launcher's re-planner's policy (launcher/replan.OOMRetry).
func OOMRecord(a *api.Allocation) (history.Record, bool) {
	if a == nil {
		return history.Record{}, false
	}
	rec, ok := BuildRecord(a, Usage{}, NodeInfo{}, nil)
	if !ok || !rec.OOMKilled {
		return history.Record{}, false
	}
	return rec, true
}
