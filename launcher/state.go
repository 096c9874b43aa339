package launcher

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// State is where a shard stands in a run.
type State int

// Shard states, in the order a shard normally passes through them.
const (
	// Pending: not yet submitted; waiting for its upstream shards.
	Pending State = iota
	// Submitted: registered with Nomad; no allocation of it running yet.
	Submitted
	// Running: its allocation is running.
	Running
	// Complete: its allocation completed (batch), or is running and
	// healthy (service).
	Complete
	// Failed: Nomad gave up on it and the launcher's retries are spent.
	Failed
	// Stopped: submitted, then stopped by the launcher because another
	// shard failed or the run was cancelled.
	Stopped
	// Skipped: never submitted, because the run ended first.
	Skipped
)

var stateNames = [...]string{"pending", "submitted", "running", "complete", "failed", "stopped", "skipped"}

// String returns the state's lower-case name ("pending", "running", ...).
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "state(" + strconv.Itoa(int(s)) + ")"
	}
	return stateNames[s]
}

// parseState returns the State named name (as String writes it).
func parseState(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name {
			return State(i), true
		}
	}
	return 0, false
}

// Nomad status values the launcher reads (the api package has no
// constants for them).
const (
	taskStateRunning = "running"
	jobStatusDead    = "dead"
)

// terminal reports whether a unit in state s will not change any more.
func (s State) terminal() bool { return s >= Complete }

// allocInfo is what the launcher keeps of one allocation, from an event's
// api.Allocation or a listing's api.AllocationListStub.
type allocInfo struct {
	ID, Name         string
	NodeID, NodeName string
	// Index is the allocation's index in its group (NOMAD_ALLOC_INDEX).
	Index                       int
	ClientStatus, DesiredStatus string
	DeploymentID                string
	// Healthy is the deployment's verdict; nil while undecided.
	Healthy                  *bool
	CreateIndex, ModifyIndex uint64
	TaskStates               map[string]*api.TaskState
	// Reschedules are the times (Unix ns) Nomad rescheduled the
	// allocation's predecessors (its RescheduleTracker).
	Reschedules []int64
}

// fromAlloc converts an event's allocation.
func fromAlloc(a *api.Allocation) allocInfo {
	info := allocInfo{
		ID: a.ID, Name: a.Name, NodeID: a.NodeID, NodeName: a.NodeName,
		Index: allocIndex(a.Name), ClientStatus: a.ClientStatus, DesiredStatus: a.DesiredStatus,
		DeploymentID: a.DeploymentID, CreateIndex: a.CreateIndex, ModifyIndex: a.ModifyIndex,
		TaskStates: a.TaskStates, Reschedules: rescheduleTimes(a.RescheduleTracker),
	}
	if a.DeploymentStatus != nil {
		info.Healthy = a.DeploymentStatus.Healthy
	}
	return info
}

// fromStub converts a listed allocation. A stub does not name its
// deployment, so a service's allocations are read in full instead.
func fromStub(a *api.AllocationListStub) allocInfo {
	info := allocInfo{
		ID: a.ID, Name: a.Name, NodeID: a.NodeID, NodeName: a.NodeName,
		Index: allocIndex(a.Name), ClientStatus: a.ClientStatus, DesiredStatus: a.DesiredStatus,
		CreateIndex: a.CreateIndex, ModifyIndex: a.ModifyIndex,
		TaskStates: a.TaskStates, Reschedules: rescheduleTimes(a.RescheduleTracker),
	}
	if a.DeploymentStatus != nil {
		info.Healthy = a.DeploymentStatus.Healthy
	}
	return info
}

// restarting says, for an allocation whose task Nomad is about to start
// again after it ended (its last event is Restarting), which task ended
// how and when Nomad starts it again, e.g. `task "b" ended (Exit Code: 1);
// Nomad restarts it in 15.6s`; "" when no task waits for a restart. Nomad
// reports such an allocation pending, so the shard shows as queued
// between its runs.
func (a allocInfo) restarting() string {
	for _, name := range slices.Sorted(maps.Keys(a.TaskStates)) {
		ts := a.TaskStates[name]
		if ts == nil || len(ts.Events) == 0 {
			continue
		}
		last := ts.Events[len(ts.Events)-1]
		if last == nil || last.Type != api.TaskRestarting {
			continue
		}
		how := "ended"
		for i := len(ts.Events) - 2; i >= 0; i-- {
			if e := ts.Events[i]; e != nil && e.Type == api.TaskTerminated && e.DisplayMessage != "" {
				how = "ended (" + e.DisplayMessage + ")"
				break
			}
		}
		return fmt.Sprintf("task %q %s; Nomad restarts it in %s", name, how, formatDur(time.Duration(last.StartDelay)))
	}
	return ""
}

// rescheduleTimes returns the times of r's events.
func rescheduleTimes(r *api.RescheduleTracker) []int64 {
	if r == nil {
		return nil
	}
	out := make([]int64, 0, len(r.Events))
	for _, e := range r.Events {
		if e != nil {
			out = append(out, e.RescheduleTime)
		}
	}
	return out
}

// nomadReschedules reports whether Nomad will place a replacement for a
// failed allocation under policy p (its group's reschedule block), by
// Nomad's own rule (Allocation.ShouldReschedule and RescheduleEligible in
// nomad/structs, v1.6.1): the allocation failed and is still desired to
// run, and p is unlimited or fewer than p.Attempts of its predecessors
// were rescheduled within p.Interval before now. A nil p (unknown) or one
// with no attempts says no. Nomad publishes such a job as dead for a
// moment, before the evaluation that reschedules it is written (the
// client's update and the evaluation are two transactions), so a dead
// job alone does not mean Nomad gave up.
func (a allocInfo) nomadReschedules(p *api.ReschedulePolicy, now time.Time) bool {
	if p == nil || a.ClientStatus != api.AllocClientStatusFailed || a.DesiredStatus != api.AllocDesiredStatusRun {
		return false
	}
	if p.Unlimited != nil && *p.Unlimited {
		return true
	}
	attempts := 0
	if p.Attempts != nil {
		attempts = *p.Attempts
	}
	if attempts <= 0 {
		return false
	}
	var interval time.Duration
	if p.Interval != nil {
		interval = *p.Interval
	}
	n := 0
	for _, at := range a.Reschedules {
		if now.UnixNano()-at < interval.Nanoseconds() {
			n++
		}
	}
	return n < attempts
}

// allocIndex parses the index from an allocation name "JOB.GROUP[N]";
// -1 when the name has none.
func allocIndex(name string) int {
	if !strings.HasSuffix(name, "]") {
		return -1
	}
	open := strings.LastIndexByte(name, '[')
	if open < 0 {
		return -1
	}
	n, err := strconv.Atoi(name[open+1 : len(name)-1])
	if err != nil {
		return -1
	}
	return n
}

// complete reports whether the allocation's tasks have all finished
// successfully: the client reports it complete while Nomad still wants
// it to run. An allocation Nomad stopped or evicted (`nomad alloc stop`,
// a drain's migration, a preemption, a stopped job) is reported complete
// too once its tasks are killed, although they did not finish, and Nomad
// places a replacement for it when its job still runs.
func (a allocInfo) complete() bool {
	return a.ClientStatus == api.AllocClientStatusComplete &&
		a.DesiredStatus != api.AllocDesiredStatusStop && a.DesiredStatus != api.AllocDesiredStatusEvict
}

// failed reports whether the allocation failed or was lost.
func (a allocInfo) failed() bool {
	return a.ClientStatus == api.AllocClientStatusFailed || a.ClientStatus == api.AllocClientStatusLost
}

// running reports whether the allocation is running.
func (a allocInfo) running() bool { return a.ClientStatus == api.AllocClientStatusRunning }

// healthy reports whether a service allocation is running and healthy:
// the deployment says so, or the allocation belongs to no deployment and
// every task is running.
func (a allocInfo) healthy() bool {
	if !a.running() || a.DesiredStatus != api.AllocDesiredStatusRun {
		return false
	}
	if a.DeploymentID != "" {
		return a.Healthy != nil && *a.Healthy
	}
	for _, ts := range a.TaskStates {
		if ts == nil || ts.State != taskStateRunning {
			return false
		}
	}
	return len(a.TaskStates) > 0
}

// unhealthy reports whether the deployment found the allocation unhealthy.
func (a allocInfo) unhealthy() bool { return a.Healthy != nil && !*a.Healthy }

// span returns the earliest task start and latest task finish; zero
// times when no task has started or finished.
func (a allocInfo) span() (start, finish time.Time) {
	for _, ts := range a.TaskStates {
		if ts == nil {
			continue
		}
		if !ts.StartedAt.IsZero() && (start.IsZero() || ts.StartedAt.Before(start)) {
			start = ts.StartedAt
		}
		if ts.FinishedAt.After(finish) {
			finish = ts.FinishedAt
		}
	}
	return start, finish
}

// jobInfo is what the launcher keeps of a job's server-side state.
type jobInfo struct {
	Status string
	Stop   bool
	// Deleted is set when the job was purged.
	Deleted                     bool
	JobModifyIndex, ModifyIndex uint64
	// Reschedule is the group's reschedule policy as Nomad holds it (nil
	// when the job read had none).
	Reschedule *api.ReschedulePolicy
}

// fromJob converts an event's or a lookup's job.
func fromJob(j *api.Job, deleted bool) jobInfo {
	info := jobInfo{Deleted: deleted}
	if j.Status != nil {
		info.Status = *j.Status
	}
	if j.Stop != nil {
		info.Stop = *j.Stop
	}
	if j.JobModifyIndex != nil {
		info.JobModifyIndex = *j.JobModifyIndex
	}
	if j.ModifyIndex != nil {
		info.ModifyIndex = *j.ModifyIndex
	}
	if len(j.TaskGroups) > 0 && j.TaskGroups[0] != nil {
		info.Reschedule = j.TaskGroups[0].ReschedulePolicy
	}
	return info
}
