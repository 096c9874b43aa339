package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/units"
)

// RunRequest is a plan to run on Nomad, with the launcher's options.
type RunRequest struct {
	PlanRequest
	// Out, when set, is a folder to write the submitted jobs into too.
	Out string
	// Retries, PlacementTimeout, NoLocality and FailFast are
	// launcher.Options'.
	Retries              int
	PlacementTimeout     time.Duration
	NoLocality, FailFast bool
	// Feedback runs the feedback service during the run, recording into
	// HistoryDB (also read as history).
	Feedback  bool
	HistoryDB string
	// NoReplan turns off re-planning before each submission wave. A
	// baseline method (PlanRequest.Method other than Shardwise's) runs as
	// planned: the re-planner plans Shardwise's way.
	NoReplan bool
}

// Run plans the graph, translates the plan and runs the jobs on client
// until ctx ends, printing progress and the summary to stdout and, on a
// failure, the failed task's events and stderr to stderr. With a history
// store it re-plans the shards as they become ready (replan.Replanner),
// and with Feedback it records the run into the store as it goes. It
// returns the launcher's error, explained.
func Run(ctx context.Context, req RunRequest, client *api.Client, stdout, stderr io.Writer, log hclog.Logger) error {
	lp, err := openLoop(ctx, &req, client, log)
	if err != nil {
		return err
	}
	defer lp.close()
	res, err := Plan(req.PlanRequest, log)
	if err != nil {
		return err
	}
	p := res.Plan
	jobs, err := res.Jobs()
	if err != nil {
		return err
	}
	if req.Out != "" {
		if err := WriteJobs(req.Out, p, jobs, log); err != nil {
			return err
		}
	}
	extra, err := LoadHistory(otherHistories(req.Histories, lp))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Running graph %q as run %s: %d shards in %d jobs on Nomad at %s (driver %s)\n",
		p.Graph, p.Run, len(p.Shards), len(jobs), client.Address(), p.Driver)
	l := &launcher.Launcher{Client: client}
	rep, err := l.Run(ctx, p, jobs, launcher.Options{
		Retries:          req.Retries,
		NoLocality:       req.NoLocality,
		FailFast:         req.FailFast,
		PlacementTimeout: req.PlacementTimeout,
		Progress:         launcher.NewProgress(stdout),
		Replanner:        lp.replanner(res, client, extra, req.NoReplan || (req.Method.Name != "" && req.Method.Name != plan.MethodShardwise)),
		OOMRetry:         feedback.OOMRetryMiB,
		Logger:           log.Named("launcher"),
	})
	if rep == nil {
		return err
	}
	fmt.Fprintln(stdout)
	if werr := rep.WriteSummary(stdout); werr != nil {
		return werr
	}
	if ctx.Err() == nil {
		lp.awaitRecords(rep, stdout)
	}
	return explain(rep, err, stdout, stderr)
}

// otherHistories returns the history paths other than the loop's store,
// whose records the Replanner reads besides the store's.
func otherHistories(paths []string, lp *loop) []string {
	var out []string
	for _, p := range paths {
		if lp.store == nil || p != lp.store.Path() {
			out = append(out, p)
		}
	}
	return out
}

// explain prints what the user needs after a run that did not complete:
// the failure's details, or which jobs were stopped and kept.
func explain(rep *launcher.Report, err error, stdout, stderr io.Writer) error {
	if err == nil {
		if running := serviceShards(rep); len(running) > 0 {
			fmt.Fprintf(stdout, "Service shards keep running: %s (stop them with 'shardwise stop %s')\n", strings.Join(running, ", "), rep.Run)
		}
		return nil
	}
	if rep.Failure != nil {
		fmt.Fprintln(stderr)
		if werr := rep.Failure.Write(stderr); werr != nil {
			return werr
		}
		fmt.Fprintln(stderr)
	}
	if len(rep.Stopped) > 0 {
		fmt.Fprintf(stderr, "Stopped %s of run %s (%s); stopped jobs are kept in Nomad for inspection\n"+
			"(nomad job status JOB). Remove them with 'shardwise stop -purge %s'.\n",
			units.Count(len(rep.Stopped), "job"), rep.Run, strings.Join(rep.Stopped, ", "), rep.Run)
	}
	if errors.Is(err, launcher.ErrStopped) {
		return fmt.Errorf("run %s interrupted", rep.Run)
	}
	return err
}

// serviceShards lists the report's shards that are services still
// running after the run: complete shards whose job was not stopped and
// whose allocation is still running.
func serviceShards(rep *launcher.Report) []string {
	var out []string
	for _, s := range rep.Shards {
		if s.Service && s.State == launcher.Complete {
			out = append(out, s.Shard)
		}
	}
	return out
}
