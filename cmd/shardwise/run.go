package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/sdk"
	"github.com/shardwise/shardwise/translator/nomadjob"
)

const runSynopsis = `run [options] GRAPH.hcl

  Plans GRAPH as 'shardwise plan' does, submits the shards' Nomad jobs in
  dependency order and follows them on Nomad's event stream until every
  shard is complete or one has failed for good. Shows live progress, then
  a summary of actual against predicted runtime per shard.

  On a failure it stops the run's remaining jobs, prints the failed task's
  events and stderr, and exits 1. Ctrl-C stops the run's jobs too. Stopped
  jobs are kept in Nomad for inspection (nomad job status JOB); remove
  them with 'shardwise stop -purge RUN'.

  With a history store (-feedback, or -history STORE.db) it re-plans the
  shards as they become ready, with fresh history and the cluster's load,
  moving a shard whose class has no ready node or is saturated; -feedback
  also records the run into -history-db. An OOM-killed shard is retried
  with more memory.

  Connection options and their environment variables are the Nomad CLI's.`

// runFlags are run's own options besides the plan and Nomad flags.
type runFlags struct {
	retries              int
	placementTimeout     time.Duration
	noLocality, failFast bool
	// feedback runs the feedback service in-process, writing historyDB.
	feedback, noReplan bool
	historyDB          string
}

func runRun(args []string, stdout, stderr io.Writer) error {
	var pf planFlags
	var nf nomadFlags
	var rf runFlags
	fs := newFlagSet("run", runSynopsis, stderr)
	addPlanInputFlags(fs, &pf)
	fs.StringVar(&pf.out, "out", "", "Also write the submitted Nomad jobs (NAME.nomad.hcl and NAME.json) into this folder.")
	fs.IntVar(&rf.retries, "retries", 1, "Register a job again this many times after Nomad's restarts and reschedules are spent.")
	fs.DurationVar(&rf.placementTimeout, "placement-timeout", 0, "Fail a shard Nomad has not placed for this long (e.g. 10m), with the placement failure; 0 waits for capacity as Nomad does. A job no node could ever fit fails at once either way.")
	fs.BoolVar(&rf.failFast, "fail-fast", false, "Turn off Nomad's restarts and reschedules, so a failed task fails its shard at once (-retries still applies).")
	fs.BoolVar(&rf.noLocality, "no-locality", false, "Do not add node affinities that keep channel data on the upstream shard's node.")
	fs.BoolVar(&rf.feedback, "feedback", false, "Run the feedback service during the run, recording every allocation into -history-db (also read as history).")
	fs.StringVar(&rf.historyDB, "history-db", "history.db", "SQLite history store -feedback writes (created if missing).")
	fs.BoolVar(&rf.noReplan, "no-replan", false, "Do not re-plan shards before submitting them (re-planning needs a history store: -feedback or -history STORE.db).")
	nf.register(fs)
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &usageError{msg: "run takes exactly one argument, the graph file"}
	}
	if rf.retries < 0 {
		return &usageError{msg: fmt.Sprintf("invalid -retries %d: must not be negative", rf.retries)}
	}
	if rf.placementTimeout < 0 {
		return &usageError{msg: fmt.Sprintf("invalid -placement-timeout %s: must not be negative", rf.placementTimeout)}
	}
	if err := checkDriver(pf.driver); err != nil {
		return err
	}
	client, err := nf.client(fs)
	if err != nil {
		return err
	}
	return launch(fs.Arg(0), pf, rf, client, stdout, stderr)
}

// addPlanInputFlags adds the flags that choose what 'plan' plans: graph
// variables, history, catalog, run ID and driver.
func addPlanInputFlags(fs *flag.FlagSet, f *planFlags) {
	fs.Var(&f.vars, "var", "Set a graph variable, NAME=VALUE (repeatable).")
	fs.Var(&f.varFiles, "var-file", "Read graph variables from an HCL file (repeatable).")
	fs.Var(&f.histories, "history", "Read history records from a JSON Lines file or a SQLite history store, .db (repeatable).")
	fs.StringVar(&f.catalog, "catalog", os.Getenv("SHARDWISE_CATALOG"), "Executor catalog HCL file that overrides or extends the default.")
	fs.StringVar(&f.run, "run", "", "Run ID carried in job names and meta (default: random).")
	fs.StringVar(&f.driver, "driver", "", "Task driver of the jobs: raw_exec, exec or shard (default: the graph's, else raw_exec).")
}

// checkDriver rejects an unknown -driver value.
func checkDriver(d string) error {
	if d == "" || sdk.ValidDriver(d) {
		return nil
	}
	return &usageError{msg: fmt.Sprintf("invalid -driver %q: want raw_exec, exec or shard", d)}
}

// launch plans the graph, translates the plan and runs the jobs, printing
// the summary and, on a failure, the failed task's events and stderr.
// With a history store it re-plans the shards as they become ready, and
// with -feedback it records the run into the store as it goes.
func launch(path string, pf planFlags, rf runFlags, client *api.Client, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := newLogger(stderr)
	lp, err := openLoop(ctx, &pf, rf, client, log)
	if err != nil {
		return err
	}
	defer lp.close()
	res, err := planGraph(path, pf, stderr)
	if err != nil {
		return err
	}
	p := res.plan
	jobOpts := nomadjob.Options{Driver: p.Driver}
	jobs, err := nomadjob.Jobs(p, res.graph, res.catalog, jobOpts)
	if err != nil {
		return fmt.Errorf("translate plan to Nomad jobs: %w", err)
	}
	if pf.out != "" {
		warnStaleJobs(log, pf.out, p.Graph, p.Run)
		if err := nomadjob.WriteDir(pf.out, jobs); err != nil {
			return fmt.Errorf("write jobs: %w", err)
		}
	}
	extra, err := loadHistory(otherHistories(pf.histories, lp))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Running graph %q as run %s: %d shards in %d jobs on Nomad at %s (driver %s)\n",
		p.Graph, p.Run, len(p.Shards), len(jobs), client.Address(), p.Driver)
	l := &launcher.Launcher{Client: client}
	rep, err := l.Run(ctx, p, jobs, launcher.Options{
		Retries:          rf.retries,
		NoLocality:       rf.noLocality,
		FailFast:         rf.failFast,
		PlacementTimeout: rf.placementTimeout,
		Progress:         launcher.NewProgress(stdout),
		Replanner:        lp.replanner(res, client, extra, jobOpts, rf.noReplan),
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

// otherHistories returns the -history paths other than the loop's store,
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
			plural(len(rep.Stopped), "job"), rep.Run, strings.Join(rep.Stopped, ", "), rep.Run)
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

// plural returns "1 job" or "n jobs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
