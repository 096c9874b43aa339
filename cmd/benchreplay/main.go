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
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/shardwise/shardwise/bench/replay"
	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
)

//go:embed notes.md
var notes string

const defaultTraces = "blast-chameleon-small-001,bacass-dirt02-001,montage-chameleon-2mass-01d-001,1000genome-chameleon-8ch-100k-001"

type config struct {
	out, catPath, traceDir, traces, methods string
	runsPath, from, fitFrom                 string
	budget                                  float64
	wide, chain, directConcurrency          int
	concurrency                             int
	driver                                  string
	args                                    []string
}

func main() {
	var cf config
	flag.StringVar(&cf.out, "out", "docs/replay.md", "Write the Markdown report to this file.")
	flag.StringVar(&cf.catPath, "catalog", "bench/replay/catalog.hcl", "Executor catalog over the default; the cluster gets its capacity.")
	flag.StringVar(&cf.traceDir, "traces", "../shared/traces/wfcommons", "Folder of WfCommons traces.")
	flag.StringVar(&cf.traces, "trace", defaultTraces, "Comma-separated trace names (file names without .json).")
	flag.StringVar(&cf.methods, "methods", "shardwise,heft,single", "Comma-separated planning methods (shardwise, heft, single[:CLASS]).")
	flag.Float64Var(&cf.budget, "budget", 45, "Simulated single-class makespan per trace in seconds; sets each trace's time scale.")
	flag.IntVar(&cf.wide, "wide", 2000, "Shards of the wide launcher-scale graph (0 skips it).")
	flag.IntVar(&cf.chain, "chain", 500, "Shards of the chain launcher-scale graph (0 skips it).")
	flag.IntVar(&cf.concurrency, "register-concurrency", launcher.DefaultRegisterConcurrency, "The launcher's registrations in flight at once (launcher.Options.RegisterConcurrency), for the replayed traces.")
	flag.IntVar(&cf.directConcurrency, "direct-concurrency", launcher.DefaultRegisterConcurrency, "Registrations in flight at once of the direct API baseline (the launcher's default is the same).")
	flag.StringVar(&cf.driver, "driver", "raw_exec", "Task driver of the replayed jobs.")
	flag.StringVar(&cf.runsPath, "runs", "", "Store the raw measurements (every run's plan and Nomad timestamps, gzip JSON) here; default: -out with .md replaced by -runs.json.gz.")
	flag.StringVar(&cf.from, "from", "", "Write the report from measurements stored by -runs (comma-separated files, taken together), without running anything (the calibration evaluated again).")
	flag.StringVar(&cf.fitFrom, "fit-from", "", "Also predict every run from the calibration fitted on the runs stored in these files (comma-separated), on their runs of the other traces and on all of them: an out-of-sample check of the calibration on runs it was not fitted on.")
	flag.Parse()
	cf.args = os.Args[1:]
	if cf.runsPath == "" {
		cf.runsPath = strings.TrimSuffix(cf.out, ".md") + "-runs.json.gz"
	}
	if err := run(cf); err != nil {
		fmt.Fprintln(os.Stderr, "benchreplay:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

func run(cf config) error {
	cat, diags := catalog.Load(cf.catPath)
	if diags.HasErrors() {
		return diags
	}
	if cf.from != "" {
		return fromStored(cf, cat)
	}
	var methods []plan.Method
	for _, s := range strings.Split(cf.methods, ",") {
		m, err := plan.ParseMethod(s)
		if err != nil {
			return err
		}
		methods = append(methods, m)
	}
	dir, err := replay.TempDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	began := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	classes := cluster.CapacityClasses(cat, 0)
	cl, err := cluster.Start(ctx, cluster.Options{Classes: classes, Logf: logf})
	if err != nil {
		return err
	}
	defer cl.Close()
	rep := &report{cat: cat, cf: cf, began: began}
	rep.m.Args, rep.m.Cluster = cf.args, clusterLine(cat, classes)
	// The report and the raw measurements are rewritten after every run,
	// so that an interrupted bench keeps what it measured.
	save := func() error {
		rep.m.Measured, rep.m.Elapsed = time.Now().UTC().Truncate(time.Second), time.Since(began).Round(time.Second)
		if err := rep.m.Save(cf.runsPath); err != nil {
			return err
		}
		return os.WriteFile(cf.out, []byte(rep.markdown()), 0o644)
	}
	if err := scaleRuns(ctx, cf, cat, cl, dir, rep, save); err != nil {
		return err
	}
	for _, name := range strings.Split(cf.traces, ",") {
		if name == "" {
			continue // -trace "": launcher scale only
		}
		path := filepath.Join(cf.traceDir, name+".json")
		scale, err := replay.ScaleFor(path, cat, plan.Method{Name: plan.MethodSingle}, cf.budget, dir)
		if err != nil {
			return err
		}
		tr, err := replay.Load(path, dir, scale, cat)
		if err != nil {
			return err
		}
		for i, m := range methods {
			p, sim, err := tr.Plan(cat, m, fmt.Sprintf("br%x%d", time.Now().UnixNano()&0xfffff, i))
			if err != nil {
				return err
			}
			logf("%s at %g: %s, %d shards, simulated %.1f s", tr.Name, scale, m, len(p.Shards), sim.MakespanSeconds)
			r, err := replay.Execute(ctx, cl.Client(), tr, cat, p, sim, cf.driver, cf.concurrency)
			if err != nil {
				return err
			}
			own, err := replay.Calibrate([]*replay.Run{r}, cf.concurrency).Simulate(r, cat)
			if err != nil {
				return err
			}
			logf("  actual %.1f s (%.2fx simulated, %.2fx calibrated on the run), %d allocations; %s", r.ActualSeconds, r.ActualSeconds/r.SimulatedSeconds,
				r.ActualSeconds/own, r.Allocations, replay.Calibrate([]*replay.Run{r}, cf.concurrency))
			rep.m.Runs = append(rep.m.Runs, r)
			if err := save(); err != nil {
				return err
			}
		}
	}
	return nil
}

// scaleRuns measures the launcher against direct submission on the wide
// and chain graphs.
func scaleRuns(ctx context.Context, cf config, cat *catalog.Catalog, cl *cluster.Cluster, dir string, rep *report, save func() error) error {
	for _, sc := range []struct {
		shape string
		n     int
	}{{"wide", cf.wide}, {"chain", cf.chain}} {
		if sc.n <= 0 {
			continue
		}
		for _, via := range []string{"launcher", "direct"} {
			p, jobs, err := replay.ScalePlan(sc.shape, sc.n, cat, fmt.Sprintf("bs%x", time.Now().UnixNano()&0xfffff), dir)
			if err != nil {
				return err
			}
			var t replay.Throughput
			if via == "direct" {
				t, err = replay.MeasureDirect(ctx, cl.Client(), p, jobs, sc.shape, cf.directConcurrency)
			} else {
				t, err = replay.MeasureLauncher(ctx, cl.Client(), p, jobs, sc.shape)
			}
			if err != nil {
				return err
			}
			logf("%s %d via %s: %s (%.2f shards/s completed)", sc.shape, sc.n, t.Via, t.Wall.Round(time.Millisecond), t.CompletedPerSecond)
			rep.m.Scale = append(rep.m.Scale, t)
			if err := save(); err != nil {
				return err
			}
		}
	}
	return nil
}

// fromStored writes the report of the measurements in cf.from (files
// separated by commas, their runs taken together): the runs are not
// repeated, the calibration and the simulations are evaluated again with
// the code as it is now.
func fromStored(cf config, cat *catalog.Catalog) error {
	rep := &report{cat: cat, cf: cf}
	for _, path := range strings.Split(cf.from, ",") {
		m, err := replay.LoadMeasurements(path)
		if err != nil {
			return err
		}
		if rep.m.Cluster == "" {
			rep.m.Cluster = m.Cluster
		}
		rep.m.Runs = append(rep.m.Runs, m.Runs...)
		rep.m.Scale = append(rep.m.Scale, m.Scale...)
		rep.sources = append(rep.sources, m)
	}
	if err := setActual(cf, cat, rep.m.Runs); err != nil {
		return err
	}
	if err := rep.loadFit(); err != nil {
		return err
	}
	return os.WriteFile(cf.out, []byte(rep.markdown()), 0o644)
}

// loadFit reads the runs of cf.fitFrom (none when it is empty) into
// rep.fit, with what their tasks take (setActual). A file without trace
// runs is an error (nothing to fit on), and so is a run that is also
// among the report's runs: the out-of-sample section would then predict
// runs from a calibration fitted on them.
func (rep *report) loadFit() error {
	if rep.cf.fitFrom == "" {
		return nil
	}
	reported := map[string]bool{}
	for _, r := range rep.m.Runs {
		reported[runKey(r)] = true
	}
	for _, path := range strings.Split(rep.cf.fitFrom, ",") {
		m, err := replay.LoadMeasurements(path)
		if err != nil {
			return fmt.Errorf("-fit-from: %w", err)
		}
		if len(m.Runs) == 0 {
			return fmt.Errorf("-fit-from %s: no trace runs to fit on", path)
		}
		for _, r := range m.Runs {
			if reported[runKey(r)] {
				return fmt.Errorf("-fit-from %s: run %s of %s (plan %s) is also in -from: not out of sample", path, r.Method, r.Trace, r.Plan.Run)
			}
		}
		rep.fit = append(rep.fit, m.Runs...)
	}
	return setActual(rep.cf, rep.cat, rep.fit)
}

// runKey identifies a stored run: its trace, method and plan's run ID
// (named from the clock by benchreplay, so two bench runs share one only
// by chance).
func runKey(r *replay.Run) string {
	return r.Trace + "\x00" + r.Method + "\x00" + r.Plan.Run
}

// setActual gives each stored run what its tasks' replay commands take
// (replay.Run.SetActual), from its trace imported again at the run's time
// scale from cf.traceDir on the catalog it was planned with
// (replay.Run.PlannedCatalog, cat for a run stored without one: the
// commands' speeds come from it). A run whose trace file is not there
// keeps no Actual (the report then shows no recorded-runtime figures for
// it, and calibrates it against its predictions).
func setActual(cf config, cat *catalog.Catalog, runs []*replay.Run) error {
	dir, err := replay.TempDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	traces := map[string]*replay.Trace{}
	for _, r := range runs {
		path := filepath.Join(cf.traceDir, r.Trace+".json")
		rc, err := r.PlannedCatalog(cat)
		if err != nil {
			return err
		}
		key := fmt.Sprintf("%s@%g\x00%s", path, r.TimeScale, r.Catalog)
		tr, ok := traces[key]
		if !ok {
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				logf("%s: no trace file %s: its runs are calibrated against their predictions", r.Trace, path)
				traces[key] = nil
				continue
			}
			if tr, err = replay.Load(path, dir, r.TimeScale, rc); err != nil {
				return fmt.Errorf("recorded runtimes of %s: %w", r.Trace, err)
			}
			traces[key] = tr
		}
		if tr == nil {
			continue
		}
		if err := r.SetActual(tr.Actual(rc)); err != nil {
			return err
		}
	}
	return nil
}
