// Command benchreplay writes docs/replay.md: real WfCommons traces
// replayed on a local Nomad cluster with the catalog's capacity, planned
// by Shardwise, HEFT and the best single class and run through the same
// launcher, with Nomad's own timestamps per shard; and the launcher's
// throughput on wide and chain graphs of trivial shards against direct
// API submission in the same run. Run it with `make bench-replay`:
//
//	go run ./cmd/benchreplay -out docs/replay.md
//
// It starts its own cluster (e2e/cluster.CapacityClasses of -catalog) from
// .bin (`make agents driver`) and takes minutes: each trace is replayed at
// the time scale at which the single-class plan simulates to -budget
// seconds.
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/shardwise/shardwise/bench/replay"
	"github.com/shardwise/shardwise/launcher"
)

//go:embed notes.md
var notes string

const defaultTraces = "blast-chameleon-small-001,bacass-dirt02-001,montage-chameleon-2mass-01d-001,1000genome-chameleon-8ch-100k-001"

func main() {
	cf := replay.Config{Notes: notes, Logf: logf}
	findings := flag.String("findings", "", "Markdown file written by hand about these runs, put in the report after its goals (docs/replay-findings.md for docs/replay.md), so that regenerating the report keeps it.")
	flag.StringVar(&cf.Out, "out", "docs/replay.md", "Write the Markdown report to this file.")
	flag.StringVar(&cf.CatalogPath, "catalog", "bench/replay/catalog.hcl", "Executor catalog over the default; the cluster gets its capacity.")
	flag.StringVar(&cf.TraceDir, "traces", "../shared/traces/wfcommons", "Folder of WfCommons traces.")
	flag.StringVar(&cf.Traces, "trace", defaultTraces, "Comma-separated trace names (file names without .json).")
	flag.StringVar(&cf.Methods, "methods", "shardwise,heft,single", "Comma-separated planning methods (shardwise, heft, single[:CLASS]).")
	flag.Float64Var(&cf.Budget, "budget", 45, "Simulated single-class makespan per trace in seconds; sets each trace's time scale.")
	flag.IntVar(&cf.Wide, "wide", 2000, "Shards of the wide launcher-scale graph (0 skips it).")
	flag.IntVar(&cf.Chain, "chain", 500, "Shards of the chain launcher-scale graph (0 skips it).")
	flag.IntVar(&cf.Concurrency, "register-concurrency", launcher.DefaultRegisterConcurrency, "The launcher's registrations in flight at once (launcher.Options.RegisterConcurrency), for the replayed traces.")
	flag.IntVar(&cf.DirectConcurrency, "direct-concurrency", launcher.DefaultRegisterConcurrency, "Registrations in flight at once of the direct API baseline (the launcher's default is the same).")
	flag.StringVar(&cf.Driver, "driver", "raw_exec", "Task driver of the replayed jobs.")
	flag.StringVar(&cf.RunsPath, "runs", "", "Store the raw measurements (every run's plan and Nomad timestamps, gzip JSON) here; default: -out with .md replaced by -runs.json.gz.")
	flag.StringVar(&cf.From, "from", "", "Write the report from measurements stored by -runs (comma-separated files, taken together), without running anything (the calibration evaluated again).")
	flag.StringVar(&cf.FitFrom, "fit-from", "", "Also predict every run from the calibration fitted on the runs stored in these files (comma-separated), on their runs of the other traces and on all of them: an out-of-sample check of the calibration on runs it was not fitted on.")
	flag.Parse()
	cf.Args = os.Args[1:]
	if *findings != "" {
		b, err := os.ReadFile(*findings)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchreplay:", err)
			os.Exit(1)
		}
		cf.Findings = string(b)
	}
	ctx, stop := context.Background(), func() {}
	if cf.From == "" { // a bench stops its cluster on Ctrl-C; -from has nothing to stop
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	}
	err := replay.Bench(ctx, cf)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreplay:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
