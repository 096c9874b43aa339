package feedback

import (
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/sdk"
)

// terminatedAlloc is a finished allocation of a split job (piece idx)
// whose task ended with events.
func terminatedAlloc(idx string, events ...*api.TaskEvent) *api.Allocation {
	meta := map[string]string{sdk.MetaGraph: "g", sdk.MetaRun: "r", sdk.MetaShard: "p0,p1", sdk.MetaSignature: "sig",
		sdk.MetaClass: "memory", sdk.MetaPredictedRuntime: "10,20", sdk.MetaPredictedMemory: "100"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &api.Allocation{
		ID: "alloc-" + idx, Name: "job.g[" + idx + "]", TaskGroup: "g", NodeName: "n1",
		Job: &api.Job{Meta: meta, TaskGroups: []*api.TaskGroup{{Name: new("g"), Meta: meta, Tasks: []*api.Task{{Name: "t"}}}}},
		TaskStates: map[string]*api.TaskState{"t": {State: "dead", Failed: true, StartedAt: t0,
			FinishedAt: t0.Add(12 * time.Second), Events: events}},
		AllocatedResources: &api.AllocatedResources{Tasks: map[string]*api.AllocatedTaskResources{
			"t": {Memory: api.AllocatedMemoryResources{MemoryMB: 128}}}},
	}
}

func TestBuildRecordOOMRules(t *testing.T) {
	term := func(code, sig int, details map[string]string) *api.TaskEvent {
		return &api.TaskEvent{Type: api.TaskTerminated, ExitCode: code, Signal: sig, Details: details}
	}
	for _, tc := range []struct {
		name   string
		events []*api.TaskEvent
		oom    bool
		exit   int
	}{
		{"exit 137, not killed by Nomad", []*api.TaskEvent{term(137, 0, nil)}, true, 137},
		{"signal 9, not killed by Nomad", []*api.TaskEvent{term(0, 9, nil)}, true, 0},
		{"driver says oom_killed", []*api.TaskEvent{term(1, 0, map[string]string{"oom_killed": "true"})}, true, 1},
		{"killed by Nomad", []*api.TaskEvent{{Type: api.TaskKilling}, term(137, 9, nil)}, false, 137},
		{"plain failure", []*api.TaskEvent{term(3, 0, nil)}, false, 3},
		{"never ran", nil, false, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := BuildRecord(terminatedAlloc("1", tc.events...), Usage{Samples: 2, CPUPercentSum: 300, CPUPercentPeak: 200, MemoryPeak: 50 << 20}, NodeInfo{Class: "big", CPUMHz: 2500}, nil)
			if !ok {
				t.Fatal("not a Shardwise allocation")
			}
			if r.OOMKilled != tc.oom || r.ExitCode != tc.exit {
				t.Fatalf("oom=%v exit=%d, want %v %d", r.OOMKilled, r.ExitCode, tc.oom, tc.exit)
			}
			wantMem := int64(50 << 20)
			if tc.oom {
				wantMem = 128 << 20 // an OOM record died at its limit
			}
			if r.MemoryBytes != wantMem {
				t.Errorf("memory %d, want %d", r.MemoryBytes, wantMem)
			}
			a := terminatedAlloc("1", tc.events...)
			if got := OOMKilled(a.TaskStates["t"], ""); got != tc.oom {
				t.Errorf("OOMKilled = %v, want %v", got, tc.oom)
			}
			rec, retry := OOMRecord(a)
			if retry != tc.oom || (tc.oom && (rec.MemoryLimitBytes != 128<<20 || rec.Executor == "")) {
				t.Errorf("OOMRecord = limit %d, class %q, %v; want the 128 MiB limit and a class only for an OOM kill", rec.MemoryLimitBytes, rec.Executor, retry)
			}
		})
	}
}

// Under a driver that reports OOM kills (shard, docker) only the
// Terminated event's oom_killed counts: a SIGKILL from elsewhere is not
// an OOM kill. exec and raw_exec keep the SIGKILL inference.
func TestOOMVerdictByDriver(t *testing.T) {
	kill := &api.TaskEvent{Type: api.TaskTerminated, ExitCode: 137, Details: map[string]string{"oom_killed": "false"}}
	oom := &api.TaskEvent{Type: api.TaskTerminated, ExitCode: 137, Details: map[string]string{"oom_killed": "true"}}
	for _, tc := range []struct {
		driver string
		ev     *api.TaskEvent
		want   bool
	}{
		{"shard", kill, false},
		{"shard", oom, true},
		{"docker", kill, false},
		{"exec", kill, true},
		{"raw_exec", kill, true},
		{"java", kill, true},
	} {
		a := terminatedAlloc("1", tc.ev)
		a.Job.TaskGroups[0].Tasks[0].Driver = tc.driver
		r, ok := BuildRecord(a, Usage{}, NodeInfo{}, nil)
		if !ok || r.OOMKilled != tc.want {
			t.Errorf("%s, oom_killed=%s: record OOMKilled %v, want %v", tc.driver, tc.ev.Details["oom_killed"], r.OOMKilled, tc.want)
		}
		if got := OOMKilled(a.TaskStates["t"], tc.driver); got != tc.want {
			t.Errorf("%s, oom_killed=%s: OOMKilled %v, want %v", tc.driver, tc.ev.Details["oom_killed"], got, tc.want)
		}
		if _, retry := OOMRecord(a); retry != tc.want {
			t.Errorf("%s, oom_killed=%s: OOMRecord retries %v, want %v", tc.driver, tc.ev.Details["oom_killed"], retry, tc.want)
		}
	}
}

func TestBuildRecordFields(t *testing.T) {
	a := terminatedAlloc("1", &api.TaskEvent{Type: api.TaskTerminated})
	a.TaskStates["t"].Failed = false
	r, ok := BuildRecord(a, Usage{Samples: 2, CPUPercentSum: 300, CPUPercentPeak: 200, CPUTicksSum: 5000, MemoryPeak: 1 << 20},
		NodeInfo{Class: "big", CPUMHz: 2500}, &IOReport{ReadBytes: 1, WrittenBytes: 2, InputBytes: 3})
	if !ok {
		t.Fatal("not recorded")
	}
	if r.Shard != "p1" || r.PredictedRuntimeSeconds != 20 || r.PredictedMemoryBytes != 100<<20 {
		t.Errorf("split piece: %+v", r)
	}
	if r.RuntimeSeconds != 12 || r.CPUPercent != 150 || r.Cores != 1.5 || r.CPUPeak != 200 || r.CPUTicks != 2500 {
		t.Errorf("usage: %+v", r)
	}
	if r.NodeClass != "big" || r.CPUMHz != 2500 || r.Executor != "memory" || r.MemoryLimitBytes != 128<<20 {
		t.Errorf("placement: %+v", r)
	}
	if r.ReadBytes != 1 || r.WriteBytes != 2 || r.InputBytes != 3 || r.ExitCode != 0 || !r.OK() {
		t.Errorf("io/exit: %+v", r)
	}
	if err := r.Check(); err != nil {
		t.Error(err)
	}
	a.Job.Meta, a.Job.TaskGroups[0].Meta = nil, nil
	if _, ok := BuildRecord(a, Usage{}, NodeInfo{}, nil); ok {
		t.Error("a job without Shardwise meta was recorded")
	}
}

// A raw_exec allocation's stats count Nomad's executor and miss short
// child processes: its record keeps runtime and IO but no memory or CPU,
// so the predictor learns its runtime and keeps the defaults for memory
// and CPU, as exec's measured figures are learned. An OOM kill under
// raw_exec still floors memory at 1.25 x the limit.
func TestRawExecUsageNotLearned(t *testing.T) {
	u := Usage{Samples: 3, CPUPercentSum: 1.5, CPUPercentPeak: 1, CPUTicksSum: 30, MemoryPeak: 60 << 20}
	build := func(driver string, events ...*api.TaskEvent) history.Record {
		t.Helper()
		a := terminatedAlloc("1", events...)
		a.TaskStates["t"].Failed = false
		a.Job.TaskGroups[0].Tasks[0].Driver = driver
		a.Job.Meta[sdk.MetaClass] = "cpu-heavy" // a class of the default catalog
		r, ok := BuildRecord(a, u, NodeInfo{Class: "big", CPUMHz: 2500}, &IOReport{ReadBytes: 7, WrittenBytes: 8})
		if !ok {
			t.Fatalf("%s: not recorded", driver)
		}
		return r
	}
	done := &api.TaskEvent{Type: api.TaskTerminated}

	raw := build("raw_exec", done)
	if raw.MemoryBytes != 0 || raw.CPUPercent != 0 || raw.CPUPeak != 0 || raw.CPUTicks != 0 || raw.Cores != 0 {
		t.Errorf("raw_exec record has memory or CPU: %+v", raw)
	}
	if raw.RuntimeSeconds != 12 || raw.ReadBytes != 7 || raw.WriteBytes != 8 || raw.CPUMHz != 2500 || !raw.OK() {
		t.Errorf("raw_exec record lost runtime, IO or clock: %+v", raw)
	}
	need := predictNeed(t, []history.Record{raw}, "sig")
	if need.MemoryMiB.Source != predict.FromDefault || need.MemoryMiB.Value != predict.DefaultMemoryMiB {
		t.Errorf("memory from a raw_exec record: %+v, want the default %d MiB", need.MemoryMiB, predict.DefaultMemoryMiB)
	}
	if need.CPU.Source != predict.FromDefault || need.CPU.Value != predict.DefaultCPUMHz {
		t.Errorf("CPU from a raw_exec record: %+v, want the default %d MHz", need.CPU, predict.DefaultCPUMHz)
	}
	if need.Runtime.Source != predict.FromHistory {
		t.Errorf("runtime from a raw_exec record: %+v, want history", need.Runtime)
	}

	measured := build("exec", done)
	if measured.MemoryBytes != 60<<20 || measured.CPUPercent != 0.5 {
		t.Errorf("exec record: %+v, want the sampled usage", measured)
	}
	if m := predictNeed(t, []history.Record{measured}, "sig").MemoryMiB; m.Source != predict.FromHistory || m.Value != 66 {
		t.Errorf("memory from an exec record: %+v, want 66 MiB (60 x 1.1) from history", m)
	}

	oom := build("raw_exec", &api.TaskEvent{Type: api.TaskTerminated, ExitCode: 137})
	if !oom.OOMKilled || oom.MemoryBytes != 128<<20 || oom.CPUPercent != 0 {
		t.Errorf("raw_exec OOM record: %+v, want OOM-killed at its 128 MiB limit, no CPU", oom)
	}
	if m := predictNeed(t, []history.Record{raw, oom}, "sig").MemoryMiB; m.Source != predict.FromHistory || m.Value != 160 {
		t.Errorf("memory after a raw_exec OOM kill: %+v, want 160 MiB (1.25 x 128) from history", m)
	}
}

func TestUsageSample(t *testing.T) {
	var u Usage
	u = u.Sample(&api.AllocResourceUsage{ResourceUsage: &api.ResourceUsage{
		CpuStats:    &api.CpuStats{Percent: 50, TotalTicks: 1000},
		MemoryStats: &api.MemoryStats{RSS: 10, Swap: 1, Measured: []string{"RSS", "Swap"}}}})
	u = u.Sample(&api.AllocResourceUsage{ResourceUsage: &api.ResourceUsage{
		CpuStats:    &api.CpuStats{Percent: 150, TotalTicks: 3000},
		MemoryStats: &api.MemoryStats{RSS: 5, MaxUsage: 40, Usage: 30, Measured: []string{"RSS", "Max Usage", "Usage"}}}})
	want := Usage{Samples: 2, CPUPercentSum: 200, CPUPercentPeak: 150, CPUTicksSum: 4000, MemoryPeak: 40}
	if u != want {
		t.Fatalf("usage %+v, want %+v", u, want)
	}
	if u.Sample(nil) != u {
		t.Error("a nil reading changed the usage")
	}
}

// lostThenFailed is an allocation Nomad's server marked lost while its
// client was out of reach, the task running as the client reported it
// last, and the same allocation once the client is back and reports the
// task OOM-killed.
func lostThenFailed() (lost, failed *api.Allocation) {
	started := &api.TaskEvent{Type: api.TaskStarted}
	lost = terminatedAlloc("1", started)
	lost.ClientStatus = api.AllocClientStatusLost
	lost.TaskStates["t"].State, lost.TaskStates["t"].Failed = "running", false
	failed = terminatedAlloc("1", started,
		&api.TaskEvent{Type: api.TaskTerminated, ExitCode: 137, Details: map[string]string{"oom_killed": "true"}},
		&api.TaskEvent{Type: api.TaskNotRestarting, FailsTask: true})
	failed.ClientStatus = api.AllocClientStatusFailed
	return lost, failed
}

// TestLostAllocationHasNoEnd: an allocation marked lost while its task
// ran (seen under load: the OOM-killed first attempt of shard-oom.hcl,
// recorded exit 0 and not OOM-killed, and never again although Nomad
// later said failed, OOM-killed) does not show its end: the feedback
// service waits for the client's report (Ended false), and a record built
// from it says no exit (-1), never a success.
func TestLostAllocationHasNoEnd(t *testing.T) {
	lost, failed := lostThenFailed()
	if Ended(lost) {
		t.Error("a lost allocation whose task runs shows its end")
	}
	if !Ended(failed) {
		t.Error("the failed allocation does not show its end")
	}
	r, ok := BuildRecord(lost, Usage{}, NodeInfo{}, nil)
	if !ok || r.OK() || r.ExitCode != -1 || r.OOMKilled {
		t.Errorf("record of the lost allocation: ok=%v exit %d oom %v, want exit -1, not OK", ok, r.ExitCode, r.OOMKilled)
	}
	r, ok = BuildRecord(failed, Usage{}, NodeInfo{}, nil)
	if !ok || !r.OOMKilled || r.ExitCode != 137 {
		t.Errorf("record of the failed allocation: ok=%v exit %d oom %v, want exit 137 OOM-killed", ok, r.ExitCode, r.OOMKilled)
	}
	for _, tc := range []struct {
		status, task string
		want         bool
	}{
		{api.AllocClientStatusComplete, "dead", true},
		{api.AllocClientStatusFailed, "dead", true},
		{api.AllocClientStatusLost, "dead", true},
		{api.AllocClientStatusLost, "pending", false},
		{api.AllocClientStatusRunning, "running", false},
		{api.AllocClientStatusPending, "pending", false},
		{"unknown", "running", false},
	} {
		a := terminatedAlloc("2")
		a.ClientStatus, a.TaskStates["t"].State = tc.status, tc.task
		if got := Ended(a); got != tc.want {
			t.Errorf("client status %s, task %s: Ended %v, want %v", tc.status, tc.task, got, tc.want)
		}
	}
	noTasks := terminatedAlloc("3")
	noTasks.ClientStatus, noTasks.TaskStates = api.AllocClientStatusLost, nil
	if Ended(noTasks) || Ended(nil) {
		t.Error("an allocation without task states shows its end")
	}
}
