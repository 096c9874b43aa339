package launcher

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what happened in a run.
type Report struct {
	Run, Graph string
	Start, End time.Time
	// PredictedSeconds is the plan's predicted makespan.
	PredictedSeconds float64
	// Shards are in plan order.
	Shards []ShardResult
	// Failure describes the shard whose final failure ended the run; nil
	// when none failed.
	Failure *Failure
	// Stopped lists the jobs the launcher stopped (not purged) when the
	// run failed or was cancelled.
	Stopped []string
	// Replans are the jobs the Replanner moved to another class, in the
	// order they moved.
	Replans []Replan
	// Resizes are the retries that asked for more memory after an OOM
	// kill, in order.
	Resizes []Resize
	// Reruns are the producer jobs run again because a consumer found
	// their outputs gone, in order.
	Reruns []Rerun
}

// ShardResult is how one shard ran.
type ShardResult struct {
	Shard, Job, Class string
	State             State
	// Service is set for a service shard, which keeps running after a
	// run that completed.
	Service bool
	// Attempts counts the launcher's registrations of the shard's job.
	Attempts int
	// PredictedSeconds is the plan's runtime estimate.
	PredictedSeconds float64
	// Actual is from the first task start to the last task finish of the
	// shard's allocation; zero when it did not run. For a service shard
	// still running, it is the time it has been running.
	Actual time.Duration
	// TaskSeconds are the runtimes, in seconds, of the shard's tasks
	// (Shard.Tasks order) as a fused shard's script recorded them
	// (sdk.TaskTimesFile, read when its allocation completed in a run
	// that re-plans); nil for other shards, or when the file was missing
	// or did not parse: Actual is then all there is.
	TaskSeconds []float64
	// Alloc, NodeID, Node and NodeClass say where it ran (empty when it
	// did not).
	Alloc, NodeID, Node, NodeClass string
}

// Failure is a shard's final failure with what Nomad recorded about it.
type Failure struct {
	Shard, Job string
	// Reason says in words why the shard failed.
	Reason string
	// Alloc and Task are the failed allocation and task, when known.
	Alloc, Task string
	Node        string
	// Events are the task's events, oldest first.
	Events []TaskEvent
	// Stderr is the tail of the task's stderr log; StderrErr says why it
	// could not be read.
	Stderr    string
	StderrErr error
}

// TaskEvent is one Nomad task event.
type TaskEvent struct {
	Time    time.Time
	Type    string
	Message string
}

// FailedError is returned by Run when a shard failed for good.
type FailedError struct {
	Shard, Job, Reason string
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("shard %s (job %s) failed: %s", e.Shard, e.Job, e.Reason)
}

// ErrStopped is returned by Run (wrapped with ctx's error) when the run
// was cancelled and its jobs stopped.
var ErrStopped = errors.New("run cancelled; its jobs were stopped")

// Elapsed returns the run's duration.
func (r *Report) Elapsed() time.Duration { return r.End.Sub(r.Start) }

// WriteSummary writes one row per shard, actual against predicted runtime
// and where it ran, then the run's elapsed against predicted time.
func (r *Report) WriteSummary(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SHARD\tCLASS\tSTATE\tACTUAL\tPREDICTED\tRATIO\tNODE\tNODE CLASS\tATTEMPTS")
	for _, s := range r.Shards {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", s.Shard, s.Class, s.State,
			durCell(s.Actual), formatDur(seconds(s.PredictedSeconds)), ratioCell(s.Actual, s.PredictedSeconds),
			dash(s.Node), dash(s.NodeClass), s.Attempts)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	r.writeAdjustments(w)
	r.writeTaskTimes(w)
	_, err := fmt.Fprintf(w, "\nRun %s: %s elapsed, %s predicted\n", r.Run, formatDur(r.Elapsed()), formatDur(seconds(r.PredictedSeconds)))
	return err
}

// writeTaskTimes writes, after a blank line, each fused shard's per-task
// runtimes (ShardResult.TaskSeconds) in task order; nothing when no
// shard has them.
func (r *Report) writeTaskTimes(w io.Writer) {
	head := false
	for _, s := range r.Shards {
		if len(s.TaskSeconds) == 0 {
			continue
		}
		if !head {
			fmt.Fprintln(w, "\nper-task times of fused shards (run order):")
			head = true
		}
		cells := make([]string, len(s.TaskSeconds))
		for k, v := range s.TaskSeconds {
			cells[k] = formatDur(seconds(v))
		}
		fmt.Fprintf(w, "  %s: %s\n", s.Shard, strings.Join(cells, " "))
	}
}

// writeAdjustments writes one line per move, memory raise and producer
// run again, after a blank line; nothing when there were none.
func (r *Report) writeAdjustments(w io.Writer) {
	if len(r.Replans) == 0 && len(r.Resizes) == 0 && len(r.Reruns) == 0 {
		return
	}
	fmt.Fprintln(w)
	for _, p := range r.Replans {
		fmt.Fprintf(w, "re-planned %s: %s -> %s (%s)\n", strings.Join(p.Shards, ","), p.From, p.To, p.Reason)
	}
	for _, z := range r.Resizes {
		fmt.Fprintf(w, "retried %s with %d MiB memory, was %d MiB (allocation %s OOM-killed on attempt %d)\n",
			z.Shard, z.ToMiB, z.FromMiB, shortID(z.Alloc), z.Attempt)
	}
	for _, x := range r.Reruns {
		fmt.Fprintf(w, "re-ran %s: its outputs were lost (consumer %s: upstream gone)", strings.Join(x.Shards, ","), x.Consumer)
		if x.Pieces > 1 {
			fmt.Fprintf(w, "; job %s ran all its %d pieces again", x.Job, x.Pieces)
		}
		fmt.Fprintln(w)
	}
}

// Write writes the failure: what failed and why, the task's events and
// its stderr tail.
func (f *Failure) Write(w io.Writer) error {
	fmt.Fprintf(w, "Shard %s (job %s) failed: %s\n", f.Shard, f.Job, f.Reason)
	if f.Alloc != "" {
		fmt.Fprintf(w, "Allocation %s, task %q, node %s\n", f.Alloc, f.Task, dash(f.Node))
	}
	if len(f.Events) > 0 {
		fmt.Fprintln(w, "\nTask events:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, e := range f.Events {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Time.Format(time.RFC3339), e.Type, e.Message)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	switch {
	case f.StderrErr != nil:
		_, err := fmt.Fprintf(w, "\nstderr unavailable: %v\n", f.StderrErr)
		return err
	case f.Alloc != "":
		fmt.Fprintf(w, "\nstderr (last %d bytes):\n", len(f.Stderr))
		_, err := io.WriteString(w, indent(f.Stderr))
		return err
	}
	return nil
}

// indent prefixes every line of s with two spaces and ends it with a
// newline.
func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "  (empty)\n"
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n"
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func durCell(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return formatDur(d)
}

// ratioCell is actual / predicted as "1.25x", or "-" when either is
// unknown.
func ratioCell(actual time.Duration, predicted float64) string {
	if actual <= 0 || predicted <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", actual.Seconds()/predicted)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
