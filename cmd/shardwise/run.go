package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/app"
	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/sdk"
)

const runSynopsis = `run [options] GRAPH.hcl
       run [options] -resume RUN
       run [options] -detach GRAPH.hcl

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

  The run's plan, jobs, options and inputs, and its progress as it goes,
  are stored in Nomad (variables under shardwise/runs/RUN, in the jobs'
  namespace), held by this launcher's lease. If the launcher dies, any
  machine that reaches Nomad continues the run with -resume RUN: shards
  that completed are not run again, running ones are followed, the rest
  submitted in dependency order. A run another live launcher drives is
  refused, naming its holder.

  With -detach, the launcher itself runs as a Nomad batch job
  (GRAPH-RUN-launcher, the shardwise binary under raw_exec) that resumes
  the run whenever Nomad restarts or reschedules it, so the run survives
  the machine that submitted it and the node the launcher runs on. Its
  logs are the job's logs; 'shardwise status' and 'stop' act on it.

  With -ui ADDR it serves the live run page on ADDR while the run goes
  (see 'shardwise ui' and docs/ui.md); a port in use fails the run before
  anything is registered in Nomad.

  Connection options and their environment variables are the Nomad CLI's.`

func runRun(args []string, stdout, stderr io.Writer) error {
	var pf planFlags
	var nf launcher.NomadFlags
	var rf app.RunRequest
	fs := newFlagSet("run", runSynopsis, stderr)
	addPlanInputFlags(fs, &pf)
	fs.StringVar(&pf.out, "out", "", "Also write the submitted Nomad jobs (one NAME.nomad.hcl each) into this folder.")
	fs.BoolVar(&pf.outJSON, "out-json", false, "With -out, also write each job as NAME.json (the /v1/jobs payload).")
	fs.IntVar(&rf.Retries, "retries", 1, "Register a job again this many times after Nomad's restarts and reschedules are spent.")
	fs.DurationVar(&rf.PlacementTimeout, "placement-timeout", 0, "Fail a shard Nomad has not placed for this long (e.g. 10m), with the placement failure; 0 waits for capacity as Nomad does. A job no node could ever fit fails at once either way.")
	fs.IntVar(&rf.RegisterConcurrency, "register-concurrency", launcher.DefaultRegisterConcurrency, fmt.Sprintf("Register at most this many ready shards' jobs at once (1 to %d, the connections kept to the agent).", launcher.MaxAgentConns))
	fs.BoolVar(&rf.FailFast, "fail-fast", false, "Turn off Nomad's restarts and reschedules, so a failed task fails its shard at once (-retries still applies).")
	fs.BoolVar(&rf.NoLocality, "no-locality", false, "Do not add node affinities that keep channel data on the upstream shard's node.")
	fs.BoolVar(&rf.Feedback, "feedback", false, "Run the feedback service during the run, recording every allocation into -history-db (also read as history).")
	fs.StringVar(&rf.HistoryDB, "history-db", "history.db", "SQLite history store -feedback writes (created if missing).")
	fs.StringVar(&rf.MetricsAddr, "metrics-addr", "", "Serve the launcher's Prometheus metrics at http://ADDR/metrics (host:port) while the run goes.")
	fs.StringVar(&rf.UIAddr, "ui", "", "Serve the live run page at http://ADDR/ (host:port) while the run goes: the graph coloured by state, a timeline of actual against predicted times, class utilisation and links to Nomad's UI.")
	fs.BoolVar(&rf.NoReplan, "no-replan", false, "Do not re-plan shards before submitting them (re-planning needs a history store: -feedback or -history STORE.db).")
	var resume string
	var asJob bool
	fs.StringVar(&resume, "resume", "", "Continue run RUN from its state stored in Nomad, instead of planning a graph.")
	fs.DurationVar(&rf.LeaseTTL, "lease-ttl", runstate.DefaultTTL, "How long the run's lease in Nomad outlives this launcher: another launcher may resume the run this long after this one dies.")
	fs.BoolVar(&rf.Detach, "detach", false, "Run the launcher as a Nomad batch job that drives the run, and return once it is registered.")
	fs.StringVar(&rf.LauncherCommand, "launcher-command", "", "Path of the shardwise binary on the Nomad clients, for -detach (default: this binary's path).")
	fs.BoolVar(&asJob, "as-job", false, "Set by -detach in the launcher job: on a signal, leave the run to the job's next allocation instead of stopping it.")
	nf.Register(fs)
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	switch {
	case resume != "" && fs.NArg() != 0:
		return &usageError{msg: "run -resume RUN takes no graph file: the graph is stored with the run"}
	case resume == "" && fs.NArg() != 1:
		return &usageError{msg: "run takes exactly one argument, the graph file"}
	case pf.outJSON && pf.out == "":
		return &usageError{msg: "-out-json needs -out DIR"}
	case rf.Detach && rf.MetricsAddr != "":
		return &usageError{msg: "-metrics-addr serves from this launcher; a detached run's launcher runs as a Nomad job"}
	case rf.Detach && rf.UIAddr != "":
		return &usageError{msg: "-ui serves from this launcher; follow a detached run's page with 'shardwise ui RUN'"}
	case rf.Detach && (resume != "" || rf.Feedback):
		return &usageError{msg: "-detach starts a new run without -feedback; a detached run resumes itself"}
	case rf.LeaseTTL < time.Second:
		return &usageError{msg: fmt.Sprintf("invalid -lease-ttl %s: must be at least 1s", rf.LeaseTTL)}
	}
	if resume != "" {
		if err := checkRunID("-resume", resume); err != nil {
			return err
		}
	} else if err := envCatalog(fs); err != nil {
		return err // -resume uses the catalog stored with the run
	}
	if rf.Retries < 0 {
		return &usageError{msg: fmt.Sprintf("invalid -retries %d: must not be negative", rf.Retries)}
	}
	if rf.RegisterConcurrency < 1 || rf.RegisterConcurrency > launcher.MaxAgentConns {
		return &usageError{msg: fmt.Sprintf("invalid -register-concurrency %d: must be between 1 and %d", rf.RegisterConcurrency, launcher.MaxAgentConns)}
	}
	if rf.PlacementTimeout < 0 {
		return &usageError{msg: fmt.Sprintf("invalid -placement-timeout %s: must not be negative", rf.PlacementTimeout)}
	}
	if err := checkDriver(pf.driver); err != nil {
		return err
	}
	vars, err := parseVars(pf.vars)
	if err != nil {
		return err
	}
	req, err := pf.request(fs.Arg(0), vars)
	if err != nil {
		return err
	}
	client, err := nf.Client(fs)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if resume != "" {
		return app.Resume(ctx, app.ResumeRequest{Run: resume, Namespace: nf.Namespace(), Feedback: rf.Feedback, HistoryDB: rf.HistoryDB,
			Histories: pf.histories, LeaseTTL: rf.LeaseTTL, AsJob: asJob, MetricsAddr: rf.MetricsAddr, UIAddr: rf.UIAddr}, client, stdout, stderr, newLogger(stderr))
	}
	rf.PlanRequest = req
	rf.Warn = func(d hcl.Diagnostics) { printDiags(stderr, d) }
	rf.Out, rf.OutJSON = pf.out, pf.outJSON
	rf.Nomad = nf
	return app.Run(ctx, rf, client, stdout, stderr, newLogger(stderr))
}

// addPlanInputFlags adds the flags that choose what 'plan' plans: graph
// variables, history, catalog, run ID and driver.
func addPlanInputFlags(fs *flag.FlagSet, f *planFlags) {
	f.graphFlags.register(fs)
	fs.StringVar(&f.run, "run", "", "Run ID carried in job names and meta (default: random).")
	addMethodFlags(fs, f)
	fs.StringVar(&f.driver, "driver", "", "Task driver of the jobs: raw_exec, exec or shard (default: the graph's, else raw_exec).")
}

// checkDriver rejects an unknown -driver value.
func checkDriver(d string) error {
	if d == "" || sdk.ValidDriver(d) {
		return nil
	}
	return &usageError{msg: fmt.Sprintf("invalid -driver %q: want raw_exec, exec or shard", d)}
}
