package replay

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
)

// Config is what Bench measures and where it writes the report. Paths are
// relative to the working directory; times are seconds.
type Config struct {
	// Out is the Markdown report (docs/replay.md) and RunsPath the raw
	// measurements (gzip JSON, Measurements); RunsPath "" is Out with
	// ".md" replaced by "-runs.json.gz".
	Out, RunsPath string
	// CatalogPath is the executor catalog over the default
	// (bench/replay/catalog.hcl); the cluster gets its capacity.
	CatalogPath string
	// TraceDir is the folder of WfCommons traces, Traces the
	// comma-separated trace names (file names without .json; "" replays
	// none) and Methods the comma-separated planning methods
	// (plan.ParseMethod: shardwise, heft, single[:CLASS]).
	TraceDir, Traces, Methods string
	// Budget is the simulated single-class makespan per trace (seconds):
	// it sets each trace's time scale (ScaleFor).
	Budget float64
	// Wide and Chain are the shards of the launcher-scale graphs
	// (ScalePlan; 0 skips one).
	Wide, Chain int
	// Concurrency is the launcher's registrations in flight for the
	// replayed traces, DirectConcurrency that of the direct API baseline.
	Concurrency, DirectConcurrency int
	// Driver is the task driver of the replayed jobs.
	Driver string
	// From, when not "", writes the report from the measurements stored
	// in these files (comma-separated, their runs taken together) without
	// running anything; FitFrom (comma-separated) also predicts every run
	// from the calibration fitted on the runs stored there (out of
	// sample: none of them may be among From's).
	From, FitFrom string
	// Args is the command line's arguments, quoted in the report and
	// stored with the measurements; Notes is Markdown appended to the
	// report.
	Args  []string
	Notes string
	// Findings is Markdown written by hand about the stored runs, put
	// after the goals (docs/replay.md's "What these runs say"), so that
	// regenerating the report keeps it.
	Findings string
	// Logf, when not nil, gets the progress lines (one per call).
	Logf func(format string, args ...any)
}

// logf writes a progress line through cf.Logf, if any.
func (cf Config) logf(format string, args ...any) {
	if cf.Logf != nil {
		cf.Logf(format, args...)
	}
}

// Bench runs the replay bench of cf and writes its report to cf.Out: it
// starts a local cluster with the capacity of cf.CatalogPath
// (cluster.CapacityClasses, from .bin: `make agents driver`), measures
// the launcher against direct submission on the wide and chain graphs,
// then replays every trace of cf.Traces once per method of cf.Methods
// (Execute) at the time scale where the single-class plan simulates to
// cf.Budget seconds. The report and the raw measurements are rewritten
// after every run, so that an interrupted bench (ctx done) keeps what it
// measured. With cf.From it only writes the report of stored runs
// (nothing started). Errors: a catalog with errors, an unknown method, a
// cluster that does not start, a trace or run that fails, a file that
// cannot be written.
func Bench(ctx context.Context, cf Config) error {
	if cf.RunsPath == "" {
		cf.RunsPath = strings.TrimSuffix(cf.Out, ".md") + "-runs.json.gz"
	}
	cat, diags := catalog.Load(cf.CatalogPath)
	if diags.HasErrors() {
		return diags
	}
	if cf.From != "" {
		return fromStored(cf, cat)
	}
	var methods []plan.Method
	for _, s := range strings.Split(cf.Methods, ",") {
		m, err := plan.ParseMethod(s)
		if err != nil {
			return err
		}
		methods = append(methods, m)
	}
	dir, err := TempDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	began := time.Now()
	classes := cluster.CapacityClasses(cat, 0)
	cl, err := cluster.Start(ctx, cluster.Options{Classes: classes, Logf: cf.Logf})
	if err != nil {
		return err
	}
	defer cl.Close()
	rep := &report{cat: cat, cf: cf, began: began}
	rep.m.Args, rep.m.Cluster = cf.Args, clusterLine(cat, classes)
	save := func() error {
		rep.m.Measured, rep.m.Elapsed = time.Now().UTC().Truncate(time.Second), time.Since(began).Round(time.Second)
		if err := rep.m.Save(cf.RunsPath); err != nil {
			return err
		}
		return os.WriteFile(cf.Out, []byte(rep.markdown()), 0o644)
	}
	if err := scaleRuns(ctx, cf, cat, cl, dir, rep, save); err != nil {
		return err
	}
	for _, name := range strings.Split(cf.Traces, ",") {
		if name == "" {
			continue // -trace "": launcher scale only
		}
		if err := traceRuns(ctx, cf, cat, cl, dir, name, methods, rep, save); err != nil {
			return err
		}
	}
	return nil
}

// traceRuns replays trace name of cf.TraceDir once per method, saving
// after each run.
func traceRuns(ctx context.Context, cf Config, cat *catalog.Catalog, cl *cluster.Cluster, dir, name string, methods []plan.Method, rep *report, save func() error) error {
	path := filepath.Join(cf.TraceDir, name+".json")
	scale, err := ScaleFor(path, cat, plan.Method{Name: plan.MethodSingle}, cf.Budget, dir)
	if err != nil {
		return err
	}
	tr, err := Load(path, dir, scale, cat)
	if err != nil {
		return err
	}
	for i, m := range methods {
		p, sim, err := tr.Plan(cat, m, fmt.Sprintf("br%x%d", time.Now().UnixNano()&0xfffff, i))
		if err != nil {
			return err
		}
		cf.logf("%s at %g: %s, %d shards, simulated %.1f s", tr.Name, scale, m, len(p.Shards), sim.MakespanSeconds)
		r, err := Execute(ctx, cl.Client(), tr, cat, p, sim, cf.Driver, cf.Concurrency)
		if err != nil {
			return err
		}
		own, err := Calibrate([]*Run{r}, cf.Concurrency).Simulate(r, cat)
		if err != nil {
			return err
		}
		cf.logf("  actual %.1f s (%.2fx simulated, %.2fx calibrated on the run), %d allocations; %s", r.ActualSeconds, r.ActualSeconds/r.SimulatedSeconds,
			r.ActualSeconds/own, r.Allocations, Calibrate([]*Run{r}, cf.Concurrency))
		rep.m.Runs = append(rep.m.Runs, r)
		if err := save(); err != nil {
			return err
		}
	}
	return nil
}

// scaleRuns measures the launcher against direct submission on the wide
// and chain graphs.
func scaleRuns(ctx context.Context, cf Config, cat *catalog.Catalog, cl *cluster.Cluster, dir string, rep *report, save func() error) error {
	for _, sc := range []struct {
		shape string
		n     int
	}{{"wide", cf.Wide}, {"chain", cf.Chain}} {
		if sc.n <= 0 {
			continue
		}
		for _, via := range []string{"launcher", "direct"} {
			p, jobs, err := ScalePlan(sc.shape, sc.n, cat, fmt.Sprintf("bs%x", time.Now().UnixNano()&0xfffff), dir)
			if err != nil {
				return err
			}
			var t Throughput
			if via == "direct" {
				t, err = MeasureDirect(ctx, cl.Client(), p, jobs, sc.shape, cf.DirectConcurrency)
			} else {
				t, err = MeasureLauncher(ctx, cl.Client(), p, jobs, sc.shape)
			}
			if err != nil {
				return err
			}
			cf.logf("%s %d via %s: %s (%.2f shards/s completed)", sc.shape, sc.n, t.Via, t.Wall.Round(time.Millisecond), t.CompletedPerSecond)
			rep.m.Scale = append(rep.m.Scale, t)
			if err := save(); err != nil {
				return err
			}
		}
	}
	return nil
}

// fromStored writes the report of the measurements in cf.From (files
// separated by commas, their runs taken together): the runs are not
// repeated, the calibration and the simulations are evaluated again with
// the code as it is now.
func fromStored(cf Config, cat *catalog.Catalog) error {
	rep := &report{cat: cat, cf: cf}
	for _, path := range strings.Split(cf.From, ",") {
		m, err := LoadMeasurements(path)
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
	return os.WriteFile(cf.Out, []byte(rep.markdown()), 0o644)
}

// loadFit reads the runs of cf.FitFrom (none when it is empty) into
// rep.fit, with what their tasks take (setActual). A file without trace
// runs is an error (nothing to fit on), and so is a run that is also
// among the report's runs: the out-of-sample section would then predict
// runs from a calibration fitted on them.
func (rep *report) loadFit() error {
	if rep.cf.FitFrom == "" {
		return nil
	}
	reported := map[string]bool{}
	for _, r := range rep.m.Runs {
		reported[runKey(r)] = true
	}
	for _, path := range strings.Split(rep.cf.FitFrom, ",") {
		m, err := LoadMeasurements(path)
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
// (named from the clock by Bench, so two bench runs share one only by
// chance).
func runKey(r *Run) string {
	return r.Trace + "\x00" + r.Method + "\x00" + r.Plan.Run
}

// setActual gives each stored run what its tasks' replay commands take
// (Run.SetActual), from its trace imported again at the run's time scale
// from cf.TraceDir on the catalog it was planned with
// (Run.PlannedCatalog, cat for a run stored without one: the commands'
// speeds come from it). A run whose trace file is not there keeps no
// Actual (the report then shows no recorded-runtime figures for it, and
// calibrates it against its predictions).
func setActual(cf Config, cat *catalog.Catalog, runs []*Run) error {
	dir, err := TempDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	traces := map[string]*Trace{}
	for _, r := range runs {
		path := filepath.Join(cf.TraceDir, r.Trace+".json")
		rc, err := r.PlannedCatalog(cat)
		if err != nil {
			return err
		}
		key := fmt.Sprintf("%s@%g\x00%s", path, r.TimeScale, r.Catalog)
		tr, ok := traces[key]
		if !ok {
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				cf.logf("%s: no trace file %s: its runs are calibrated against their predictions", r.Trace, path)
				traces[key] = nil
				continue
			}
			if tr, err = Load(path, dir, r.TimeScale, rc); err != nil {
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
