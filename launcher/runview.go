package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner/plan"
)

// NotSubmitted is the status word of a shard of the plan that Nomad has
// never had a job for.
const NotSubmitted = "not submitted"

// ShardStatus is one shard of a stored run's plan, as Nomad and the
// stored progress have it.
type ShardStatus struct {
	Shard, Job, Class string
	// State is "complete", "running", "queued" (registered, not running
	// yet), "failed", "stopped" or NotSubmitted.
	State    string
	Attempts int
	// PredictedSeconds is the plan's runtime estimate.
	PredictedSeconds float64
	// Actual is the run time so far (see ShardResult.Actual); State,
	// Actual and Node of a split job's piece are its own allocation's.
	Actual time.Duration
	Node   string
}

// shardStates reads the run's stored state in namespace ns ("" for the
// client's) and, when there is one, fills st.Stored and st.Shards from it
// and the jobs already in st.Jobs. A run without stored state is left as
// it is.
func (st *RunStatus) shardStates(ctx context.Context, c *api.Client, ns string) error {
	store := &runstate.Store{Client: c, Namespace: ns}
	h, err := store.Load(ctx, st.Run)
	if errors.Is(err, runstate.ErrNotFound) {
		return nil
	}
	if err != nil {
		return stateError(c, st.Run, err)
	}
	spec, err := store.Spec(ctx, h)
	if err != nil {
		return stateError(c, st.Run, err)
	}
	st.Stored, st.Graph = h, h.Graph
	byJob := map[string]JobStatus{}
	for _, j := range st.Jobs {
		byJob[j.ID] = j
		if j.ID == LauncherJobID(h.Graph, h.Run) {
			st.Launcher = &j
		}
	}
	for _, s := range spec.Plan.Shards {
		var job *JobStatus
		if j, ok := byJob[s.Job]; ok {
			job = &j
		}
		st.Shards = append(st.Shards, shardStatus(s, h.Progress.Units[s.Job], job))
	}
	return nil
}

// shardStatus is shard s of a stored run's plan as its job j in Nomad
// shows it (nil when Nomad has no such job) and as the stored progress
// rec of the job records it (nil when none was recorded). Each piece of a
// split job has its own state, run time and node: its allocation index's
// (PieceStatus) while Nomad has the job, else the stored piece's; a
// stored state that predates per-piece records gives every piece the
// job's state.
func shardStatus(s *plan.Shard, rec *runstate.Unit, j *JobStatus) ShardStatus {
	ss := ShardStatus{Shard: s.ID, Job: s.Job, Class: s.Class, PredictedSeconds: s.RuntimeSeconds.Value, State: NotSubmitted}
	if rec != nil {
		for _, ms := range rec.Shards {
			if ms.ID == s.ID {
				ss.Class, ss.PredictedSeconds = ms.Class, ms.RuntimeSeconds.Value
			}
		}
	}
	i := pieceIndex(s)
	switch {
	case j != nil && i < len(j.Pieces):
		p := j.Pieces[i]
		ss.State, ss.Actual, ss.Node = statusWord(p.State), p.Runtime, p.Node
		ss.Attempts = max(1, j.Attempt)
	case j != nil:
		ss.State, ss.Actual, ss.Node = statusWord(j.State), j.Runtime, strings.Join(j.Nodes, ",")
		ss.Attempts = max(1, j.Attempt)
	case rec != nil && storedEnd(rec.State):
		// Nomad has collected the job; the stored progress remembers it.
		ss.State, ss.Attempts = rec.State, rec.Attempts
		if i < len(rec.Pieces) {
			p := rec.Pieces[i]
			ss.Actual, ss.Node = p.Actual, p.Node
			if p.State != "" {
				ss.State = p.State
			}
		}
	}
	return ss
}

// storedEnd reports whether a stored job state (Unit.State) is one the
// job ended in.
func storedEnd(state string) bool {
	st, ok := parseState(state)
	return ok && st.terminal() && st != Skipped
}

// statusWord names a job state as status shows it.
func statusWord(s State) string {
	if s == Submitted {
		return "queued"
	}
	return s.String()
}

// Driven reports whether a live launcher drives the stored run at now.
func (st *RunStatus) Driven(now time.Time) bool {
	return st.Stored != nil && st.Stored.Status == runstate.Running && st.Stored.Driven(now)
}

// Incomplete reports whether the stored run has not completed (every
// shard of its plan complete).
func (st *RunStatus) Incomplete() bool {
	if st.Stored == nil {
		return false
	}
	for _, s := range st.Shards {
		if s.State != Complete.String() {
			return true
		}
	}
	return st.Stored.Status != runstate.Complete && st.Stored.Status != runstate.Running
}

// writeStored writes the stored run's state against its whole plan.
func (st *RunStatus) writeStored(w io.Writer, now time.Time) error {
	h := st.Stored
	fmt.Fprintf(w, "Run %s (graph %s): %s\n", st.Run, dash(st.Graph), holderLine(h, now))
	if j := st.Launcher; j != nil {
		fmt.Fprintf(w, "Launcher job: %s (%s; allocations %s; nodes %s)\n", j.ID, j.Status, allocsCell(j.Allocs), dash(strings.Join(j.Nodes, ",")))
		if j.LastFailure != "" {
			fmt.Fprintf(w, "Launcher's last failure: %s\n", j.LastFailure)
		}
	}
	counts := map[string]int{}
	var actual time.Duration
	for _, s := range st.Shards {
		counts[s.State]++
	}
	fmt.Fprintf(w, "Shards: %d in the plan:", len(st.Shards))
	for i, k := range []string{"complete", "running", "queued", "failed", "stopped", NotSubmitted} {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(w, "%s %d %s", sep, counts[k], k)
	}
	fmt.Fprintln(w)
	end := now
	if h.Status.Ended() {
		end = h.Updated
	}
	actual = end.Sub(h.Created)
	fmt.Fprintf(w, "Makespan: predicted %s; %s %s since the run started\n", formatDur(seconds(h.Predicted)),
		map[bool]string{true: "took", false: "elapsed"}[h.Status == runstate.Complete], formatDur(actual))
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SHARD\tJOB\tCLASS\tSTATE\tATTEMPTS\tPREDICTED\tACTUAL\tNODE")
	for _, s := range st.Shards {
		att := "-"
		if s.Attempts > 0 {
			att = strconv.Itoa(s.Attempts)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Shard, s.Job, dash(s.Class), s.State, att,
			durCell(seconds(s.PredictedSeconds)), durCell(s.Actual), dash(s.Node))
	}
	return tw.Flush()
}

// holderLine says where the run stands and who drives it.
func holderLine(h *runstate.Head, now time.Time) string {
	switch {
	case h.Status.Ended():
		return h.Outcome()
	case h.Driven(now):
		return fmt.Sprintf("running, driven by %s (lease expires in %s)", h.Holder.Name, formatDur(h.Holder.Expires.Sub(now).Round(time.Second)))
	case h.Holder != nil:
		return fmt.Sprintf("incomplete, and no launcher drives it: the lease of %s expired %s ago; continue it with 'shardwise run -resume %s'",
			h.Holder.Name, formatDur(now.Sub(h.Holder.Expires).Round(time.Second)), h.Run)
	}
	return fmt.Sprintf("incomplete, and no launcher drives it; continue it with 'shardwise run -resume %s'", h.Run)
}

// RunSummary is one stored run, as List returns it.
type RunSummary struct {
	Head *runstate.Head
	// Err is set for a run whose stored state cannot be read.
	Err error
}

// List returns the runs stored in namespace ns ("" for the client's, "*"
// for all), oldest first, and those whose state cannot be read, with the
// error.
func List(ctx context.Context, c *api.Client, ns string) ([]RunSummary, error) {
	heads, errs, err := (&runstate.Store{Client: c, Namespace: ns}).List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", ConnectError(c, err))
	}
	var out []RunSummary
	for _, h := range heads {
		out = append(out, RunSummary{Head: h})
	}
	for _, e := range errs {
		out = append(out, RunSummary{Err: e})
	}
	return out, nil
}

// WriteList writes one row per run: ID, graph, status, holder, shards
// complete and when it was created and last written.
func WriteList(w io.Writer, runs []RunSummary, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tGRAPH\tNAMESPACE\tSTATUS\tDRIVEN BY\tSHARDS DONE\tCREATED\tUPDATED")
	for _, r := range runs {
		if r.Err != nil {
			fmt.Fprintf(tw, "?\t-\t-\tunreadable: %v\t-\t-\t-\t-\n", r.Err)
			continue
		}
		h := r.Head
		status, by := string(h.Status), "-"
		switch {
		case h.Status.Ended():
		case h.Driven(now):
			by = h.Holder.Name
		default:
			status = "orphaned"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", h.Run, dash(h.Graph), nsName(h.Namespace()), status, by,
			h.Progress.DoneShards, h.Shards, h.Created.UTC().Format(time.RFC3339), h.Updated.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// StatusDoc is a run's status as `shardwise status -format json` writes
// it. Seconds are float seconds.
type StatusDoc struct {
	Run   string `json:"run"`
	Graph string `json:"graph"`
	// Status is the stored run's (running, complete, failed, stopped);
	// empty for a run without stored state. Driven is set while a live
	// launcher holds it (DrivenBy names it).
	Status   string `json:"status,omitempty"`
	Outcome  string `json:"outcome,omitempty"`
	Driven   bool   `json:"driven"`
	DrivenBy string `json:"driven_by,omitempty"`
	// Shards are the plan's shards in plan order (stored runs only):
	// state is complete, running, queued, failed, stopped or "not
	// submitted".
	Shards []StatusShard `json:"shards,omitempty"`
	Jobs   []StatusJob   `json:"jobs"`
}

// StatusShard is one shard of StatusDoc.
type StatusShard struct {
	Shard            string  `json:"shard"`
	Job              string  `json:"job"`
	Class            string  `json:"class"`
	State            string  `json:"state"`
	Attempts         int     `json:"attempts"`
	PredictedSeconds float64 `json:"predicted_seconds"`
	ActualSeconds    float64 `json:"actual_seconds"`
	Node             string  `json:"node,omitempty"`
}

// StatusJob is one job of StatusDoc; State is the launcher's word.
type StatusJob struct {
	ID             string         `json:"id"`
	Namespace      string         `json:"namespace"`
	Class          string         `json:"class"`
	Shards         []string       `json:"shards"`
	Upstream       []string       `json:"upstream,omitempty"`
	Status         string         `json:"status"`
	State          string         `json:"state"`
	Allocs         map[string]int `json:"allocs"`
	Nodes          []string       `json:"nodes,omitempty"`
	RuntimeSeconds float64        `json:"runtime_seconds"`
	Attempt        int            `json:"attempt"`
	// Pieces are a split job's allocation indexes (PieceStatus), in
	// Split.Index order; absent for a job of one piece.
	Pieces []StatusPiece `json:"pieces,omitempty"`
}

// StatusPiece is one piece of a split job of StatusDoc: its allocation
// index, its state in the launcher's words (as StatusJob.State), the
// allocation that shows it and its node (absent before it is placed), and
// that allocation's run time in seconds.
type StatusPiece struct {
	Index         int     `json:"index"`
	State         string  `json:"state"`
	Allocation    string  `json:"allocation,omitempty"`
	Node          string  `json:"node,omitempty"`
	ActualSeconds float64 `json:"actual_seconds"`
}

// statusPieces are the pieces of job j for StatusJob.Pieces: nil unless
// j is split (more than one allocation index).
func statusPieces(j JobStatus) []StatusPiece {
	if len(j.Pieces) < 2 {
		return nil
	}
	out := make([]StatusPiece, len(j.Pieces))
	for i, p := range j.Pieces {
		out[i] = StatusPiece{Index: i, State: p.State.String(), Allocation: p.Alloc, Node: p.Node, ActualSeconds: p.Runtime.Seconds()}
	}
	return out
}

// Doc returns the status as `status -format json` writes it, at now.
func (st *RunStatus) Doc(now time.Time) StatusDoc {
	d := StatusDoc{Run: st.Run, Graph: st.Graph, Jobs: []StatusJob{}}
	if h := st.Stored; h != nil {
		d.Status, d.Driven = string(h.Status), st.Driven(now)
		if h.Status.Ended() {
			d.Outcome = h.Outcome()
		}
		if d.Driven {
			d.DrivenBy = h.Holder.Name
		}
	}
	for _, s := range st.Shards {
		d.Shards = append(d.Shards, StatusShard{Shard: s.Shard, Job: s.Job, Class: s.Class, State: s.State, Attempts: s.Attempts,
			PredictedSeconds: s.PredictedSeconds, ActualSeconds: s.Actual.Seconds(), Node: s.Node})
	}
	for _, j := range st.Jobs {
		d.Jobs = append(d.Jobs, StatusJob{ID: j.ID, Namespace: j.Namespace, Class: j.Class, Shards: j.Shards, Upstream: j.Upstream,
			Status: j.Status, State: j.State.String(), Allocs: j.Allocs, Nodes: j.Nodes, RuntimeSeconds: j.Runtime.Seconds(), Attempt: j.Attempt,
			Pieces: statusPieces(j)})
	}
	return d
}
