package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/sdk"
)

// runIDPattern is what a run ID may hold; it keeps IDs safe inside a
// Nomad filter expression.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Find returns the jobs whose shardwise_run meta is run, in namespace ns
// ("" for the client's, "*" for all), sorted by job ID. It returns an
// error for a run ID outside [A-Za-z0-9._-] and, naming the address, when
// Nomad cannot be asked.
func Find(ctx context.Context, c *api.Client, run, ns string) ([]*api.JobListStub, error) {
	if !runIDPattern.MatchString(run) {
		return nil, fmt.Errorf("run ID %q: use letters, digits, '.', '_' and '-'", run)
	}
	q := (&api.QueryOptions{Namespace: ns, Filter: fmt.Sprintf("Meta.%s == %q", metaRun, run)}).WithContext(ctx)
	jobs, _, err := c.Jobs().ListOptions(&api.JobListOptions{Fields: &api.JobListFields{Meta: true}}, q)
	if err != nil {
		return nil, fmt.Errorf("list jobs of run %s: %w", run, ConnectError(c, err))
	}
	slices.SortFunc(jobs, func(a, b *api.JobListStub) int { return strings.Compare(a.ID, b.ID) })
	return jobs, nil
}

// RunStatus is a run as Nomad has it: the jobs submitted so far and,
// for a run whose state is stored in Nomad, every shard of its plan.
type RunStatus struct {
	Run, Graph string
	Jobs       []JobStatus
	// Stored is the run's stored state; nil for a run without one (a run
	// of an earlier Shardwise, or whose state was purged).
	Stored *runstate.Head
	// Shards are the plan's shards, in plan order; nil without Stored.
	Shards []ShardStatus
	// Launcher is the launcher job of a detached run (run -detach).
	Launcher *JobStatus
}

// JobStatus is one job of a run.
type JobStatus struct {
	ID, Namespace, Class string
	// Shards are the job's shard IDs (shardwise_shard meta), Upstream the
	// shards it waits for (shardwise_upstream meta).
	Shards, Upstream []string
	// Status is Nomad's job status (pending, running, dead).
	Status string
	// State is the job's state judged as the launcher judges it; a job
	// that failed counts as failed even if a run might still retry it.
	State State
	// Allocs counts the job's allocations by client status.
	Allocs map[string]int
	// Nodes lists the names of the nodes its allocations ran on.
	Nodes []string
	// Runtime is the longest allocation run time (first task start to
	// last finish, or to now while running).
	Runtime time.Duration
	// Attempt is the launcher's registration of the job that Nomad has
	// (its shardwise_attempt meta; 1 for the first).
	Attempt int
	// Pieces is how each allocation index of the job stands (a split
	// job's pieces, in Split.Index order; one for any other job).
	Pieces []PieceStatus
	// LastFailure is what Nomad said about the newest failed allocation
	// ("task launcher: Driver Failure: binary ... could not be found"),
	// empty when none failed.
	LastFailure string
}

// PieceStatus is one allocation index of a job, judged on its own
// allocations: pieces of a split job run and end at different times.
type PieceStatus struct {
	// State is the piece's state (see JobStatus.State).
	State State
	// Alloc and Node are the allocation that best shows how the piece
	// runs and its node's name; empty when it has none.
	Alloc, Node string
	// Runtime is that allocation's run time (first task start to last
	// finish, or to now while running).
	Runtime time.Duration
}

// Status reads the state of every job of run in namespace ns (see Find)
// and the run's stored state (in ns too; "" is the client's), if any. It
// returns an error when Nomad has neither a job nor stored state of the
// run, for stored state that cannot be read, and, naming the address,
// when Nomad cannot be asked.
func Status(ctx context.Context, c *api.Client, run, ns string) (*RunStatus, error) {
	stubs, err := Find(ctx, c, run, ns)
	if err != nil {
		return nil, err
	}
	st := &RunStatus{Run: run}
	for _, s := range stubs {
		js, err := jobStatus(ctx, c, s)
		if err != nil {
			return nil, err
		}
		st.Jobs = append(st.Jobs, js)
		if g := s.Meta[metaGraph]; g != "" {
			st.Graph = g
		}
	}
	if err := st.shardStates(ctx, c, ns); err != nil {
		return nil, err
	}
	if len(stubs) == 0 && st.Stored == nil {
		return nil, fmt.Errorf("no jobs of run %s in Nomad at %s (namespace %s), and no stored state", run, c.Address(), nsName(ns))
	}
	return st, nil
}

// jobStatus reads one job's allocations and judges its state.
func jobStatus(ctx context.Context, c *api.Client, s *api.JobListStub) (JobStatus, error) {
	q := (&api.QueryOptions{Namespace: s.Namespace}).WithContext(ctx)
	js := JobStatus{ID: s.ID, Namespace: s.Namespace, Class: s.Meta[metaClass], Status: s.Status,
		Shards: splitList(s.Meta[metaShard]), Upstream: splitList(s.Meta[metaUp]), Allocs: map[string]int{}}
	job, _, err := c.Jobs().Info(s.ID, q)
	if err != nil {
		return js, fmt.Errorf("read job %s: %w", s.ID, ConnectError(c, err))
	}
	stubs, _, err := c.Jobs().Allocations(s.ID, false, q)
	if err != nil {
		return js, fmt.Errorf("read allocations of job %s: %w", s.ID, ConnectError(c, err))
	}
	t := &tracker{byJob: map[string]*unit{}, byID: map[string]*unit{}}
	if err := t.addJob(0, job); err != nil {
		return js, err
	}
	u := t.units[0]
	u.state, u.attempt = Submitted, 1
	t.observeJob(u.id, fromJob(job, false))
	now := time.Now()
	var failIndex uint64
	for _, stub := range stubs {
		a := fromStub(stub)
		if u.service {
			full, _, err := c.Allocations().Info(stub.ID, q)
			if err != nil {
				return js, fmt.Errorf("read allocation %s: %w", shortID(stub.ID), ConnectError(c, err))
			}
			a = fromAlloc(full)
		}
		t.observeAlloc(u.id, a)
		js.Allocs[a.ClientStatus]++
		if stub.ClientStatus == api.AllocClientStatusFailed && stub.ModifyIndex >= failIndex {
			if why := allocFailure(stub.TaskStates); why != "" {
				js.LastFailure, failIndex = why, stub.ModifyIndex
			}
		}
		if a.NodeName != "" && !slices.Contains(js.Nodes, a.NodeName) {
			js.Nodes = append(js.Nodes, a.NodeName)
		}
		js.Runtime = max(js.Runtime, actual(a, now))
	}
	t.settle(u, now)
	js.State = u.state
	js.Attempt = 1
	if n, err := strconv.Atoi(job.Meta[sdk.MetaAttempt]); err == nil && n > 1 {
		js.Attempt = n
	}
	if js.State != Complete && u.job0.Stop {
		js.State = Stopped
	}
	u.state = js.State
	for i := range u.count {
		p := u.piece(i)
		ps := PieceStatus{State: p.state}
		if p.placed {
			ps.Alloc, ps.Node, ps.Runtime = p.alloc.ID, p.alloc.NodeName, actual(p.alloc, now)
		}
		js.Pieces = append(js.Pieces, ps)
	}
	return js, nil
}

// allocFailure is the failed task's newest event that says why it failed
// (a driver, setup, artifact, validation or hook failure, or its exit),
// else its newest event with a message, as "task NAME: TYPE: MESSAGE";
// empty when there is none. Nomad's "Not Restarting" event is the one
// marked as failing the task, but it only says "Error was unrecoverable".
func allocFailure(states map[string]*api.TaskState) string {
	name, ts := failedTask(states)
	if ts == nil {
		return ""
	}
	var why, last *api.TaskEvent
	for _, e := range ts.Events {
		if e == nil || (e.DisplayMessage == "" && e.Message == "") {
			continue
		}
		last = e
		if failureEvents[e.Type] {
			why = e
		}
	}
	if why == nil {
		why = last
	}
	if why == nil {
		return ""
	}
	msg := why.DisplayMessage
	if msg == "" {
		msg = why.Message
	}
	return fmt.Sprintf("task %s: %s: %s", name, why.Type, msg)
}

// failureEvents are the task event types that say why a task failed.
var failureEvents = map[string]bool{
	api.TaskDriverFailure: true, api.TaskSetupFailure: true, api.TaskArtifactDownloadFailed: true,
	api.TaskFailedValidation: true, api.TaskTerminated: true,
	"Task hook failed": true, // Nomad's structs.TaskHookFailed; the api package has no constant
}

// splitList splits a comma list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func nsName(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

// Write writes, for a stored run, where it stands and one row per shard
// of its plan; else one row per job: its shards, class, state, Nomad
// status, allocations, nodes and runtime.
func (s *RunStatus) Write(w io.Writer) error {
	if s.Stored != nil {
		return s.writeStored(w, time.Now())
	}
	counts := map[State]int{}
	for _, j := range s.Jobs {
		counts[j.State]++
	}
	fmt.Fprintf(w, "Run %s (graph %s): %d jobs in Nomad", s.Run, dash(s.Graph), len(s.Jobs))
	for st := Pending; st <= Skipped; st++ {
		if counts[st] > 0 {
			fmt.Fprintf(w, ", %d %s", counts[st], st)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSHARDS\tCLASS\tSTATE\tSTATUS\tALLOCS\tNODES\tRUNTIME\tUPSTREAM")
	for _, j := range s.Jobs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, shardsCell(j.Shards), dash(j.Class), j.State,
			j.Status, allocsCell(j.Allocs), dash(strings.Join(j.Nodes, ",")), durCell(j.Runtime), dash(strings.Join(j.Upstream, ",")))
	}
	return tw.Flush()
}

// shardsCell shows up to two shard IDs and how many more there are.
func shardsCell(ids []string) string {
	if len(ids) <= 2 {
		return dash(strings.Join(ids, ","))
	}
	return fmt.Sprintf("%s,%s (+%d)", ids[0], ids[1], len(ids)-2)
}

// allocsCell is "2 complete, 1 running" in a fixed order.
func allocsCell(m map[string]int) string {
	var parts []string
	for _, k := range []string{"pending", "running", "complete", "failed", "lost", "unknown"} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
		}
	}
	return dash(strings.Join(parts, ", "))
}

// StopResult is what Stop did.
type StopResult struct {
	// Jobs are the jobs stopped (or, with purge, purged).
	Jobs []string
	// State is the run's stored state after the stop: marked stopped,
	// or nil when none was stored or it was purged.
	State *runstate.Head
	// Variables are the stored state's variables purged.
	Variables []string
}

// Stop ends run: it marks the run's stored state (in namespace ns; ""
// is the client's) stopped, so that its launcher stops driving it and no
// launcher resumes it, then stops every job of run in namespace ns (see
// Find) that has not ended; jobs that completed are left as they are.
// With purge it removes every job of the run and its stored state from
// Nomad. It returns an error when Nomad has neither a job nor stored
// state of the run, or when a step failed (after trying every job).
func Stop(ctx context.Context, c *api.Client, run, ns string, purge bool) (*StopResult, error) {
	stubs, err := Find(ctx, c, run, ns)
	if err != nil {
		return nil, err
	}
	out := &StopResult{}
	store := &runstate.Store{Client: c, Namespace: ns}
	h, err := store.Stop(ctx, run, "stopped with 'shardwise stop'")
	switch {
	case errors.Is(err, runstate.ErrNotFound):
		if len(stubs) == 0 {
			return nil, fmt.Errorf("no jobs of run %s in Nomad at %s (namespace %s), and no stored state", run, c.Address(), nsName(ns))
		}
	case err != nil && !purge:
		return nil, stateError(c, run, err)
	default:
		out.State = h
	}
	var errs []string
	for _, s := range stubs {
		if !purge && (s.Stop || s.Status == jobStatusDead) {
			continue
		}
		w := (&api.WriteOptions{Namespace: s.Namespace}).WithContext(ctx)
		if _, _, err := c.Jobs().Deregister(s.ID, purge, w); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", s.ID, ConnectError(c, err)))
			continue
		}
		out.Jobs = append(out.Jobs, s.ID)
	}
	if purge {
		out.State = nil
		out.Variables, err = store.Purge(ctx, run)
		if err != nil {
			errs = append(errs, ConnectError(c, err).Error())
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("stop run %s: %s", run, strings.Join(errs, "; "))
	}
	return out, nil
}
