package replay

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/api"
	"golang.org/x/sync/errgroup"

	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/sdk"
	"github.com/shardwise/shardwise/translator/hclreader"
	"github.com/shardwise/shardwise/translator/nomadjob"
)

// ScaleGraph returns the HCL of a graph of n trivial tasks (/bin/true):
// independent ("wide") or each depending on the one before ("chain").
func ScaleGraph(shape string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %q {\n  datacenters = [\"dc1\"]\n  driver = \"raw_exec\"\n", fmt.Sprintf("%s%d", shape, n))
	for i := range n {
		fmt.Fprintf(&b, "  task \"t%d\" {\n    command = \"/bin/true\"\n", i)
		if shape == "chain" && i > 0 {
			fmt.Fprintf(&b, "    depends_on = [task.t%d]\n", i-1)
		}
		b.WriteString("    hints {\n      kind = \"cpu\"\n      cpu = 100\n      memory = \"32MiB\"\n      runtime = \"1s\"\n    }\n  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// ScalePlan plans the scale graph with one shard per task (no fusion, no
// batching: the point is the shard count) and translates it to jobs.
func ScalePlan(shape string, n int, cat *catalog.Catalog, run, dir string) (*plan.Plan, []*api.Job, error) {
	path := filepath.Join(dir, fmt.Sprintf("%s%d.hcl", shape, n))
	if err := os.WriteFile(path, []byte(ScaleGraph(shape, n)), 0o644); err != nil {
		return nil, nil, err
	}
	g, diags := hclreader.ParseFile(path, hclreader.Options{Executors: cat.Names()})
	if diags.HasErrors() {
		return nil, nil, diags
	}
	pred, err := predict.New(cat, nil)
	if err != nil {
		return nil, nil, err
	}
	tb, err := pred.Predict(g)
	if err != nil {
		return nil, nil, err
	}
	p, err := plan.Build(g, cat, tb, plan.Options{Run: run, NoFusion: true})
	if err != nil {
		return nil, nil, err
	}
	jobs, err := nomadjob.Jobs(p, g, cat, nomadjob.Options{Driver: sdk.DriverRawExec})
	return p, jobs, err
}

// Throughput is one submission of a scale graph.
type Throughput struct {
	Shape, Via string
	Shards     int
	Wall       time.Duration
	// RegisteredPerSecond is shards over the span of their jobs' submit
	// times (Nomad's); CompletedPerSecond shards over first submit to
	// last completion.
	RegisteredPerSecond, CompletedPerSecond float64
	// CPU is the submitting process's user+system CPU time during the
	// run; PeakHeapMiB its largest Go heap in use, sampled every 100 ms.
	CPU         time.Duration
	PeakHeapMiB float64
	// Load is the host's 1-minute load average when the run ended.
	Load float64
}

// PerShard is the wall time per shard.
func (t Throughput) PerShard() time.Duration { return t.Wall / time.Duration(max(t.Shards, 1)) }

// MeasureLauncher runs the jobs through the launcher.
func MeasureLauncher(ctx context.Context, c *api.Client, p *plan.Plan, jobs []*api.Job, shape string) (Throughput, error) {
	return measure(ctx, c, jobs, shape, "launcher", func() error {
		rep, err := (&launcher.Launcher{Client: c}).Run(ctx, p, jobs, launcher.Options{NoLocality: true})
		if err == nil && rep.Failure != nil {
			err = fmt.Errorf("shard %s failed", rep.Failure.Shard)
		}
		return err
	})
}

// MeasureDirect submits the same jobs with DirectRun, concurrency
// registrations at a time.
func MeasureDirect(ctx context.Context, c *api.Client, p *plan.Plan, jobs []*api.Job, shape string, concurrency int) (Throughput, error) {
	via := "direct API"
	if concurrency > 1 {
		via = fmt.Sprintf("direct API, %d at once", concurrency)
	}
	return measure(ctx, c, jobs, shape, via, func() error { return DirectRun(ctx, c, p, jobs, concurrency) })
}

func measure(ctx context.Context, c *api.Client, jobs []*api.Job, shape, via string, run func() error) (Throughput, error) {
	t := Throughput{Shape: shape, Via: via, Shards: len(jobs)}
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	cpu0 := cpuTime()
	start := time.Now()
	err := run()
	t.Wall = time.Since(start)
	t.CPU = cpuTime() - cpu0
	t.Load = LoadAverage()
	close(stop)
	<-done
	t.PeakHeapMiB = float64(peak.Load()) / (1 << 20)
	if err != nil {
		purge(c, jobs)
		return t, fmt.Errorf("%s %s: %w", shape, via, err)
	}
	if err := t.rates(ctx, c, jobs); err != nil {
		return t, err
	}
	purge(c, jobs)
	return t, nil
}

// rates reads the jobs' submit times and their allocations' finish times.
func (t *Throughput) rates(ctx context.Context, c *api.Client, jobs []*api.Job) error {
	var first, lastSubmit, lastDone int64
	q := (&api.QueryOptions{}).WithContext(ctx)
	for _, j := range jobs {
		info, _, err := c.Jobs().Info(*j.ID, q)
		if err != nil {
			return fmt.Errorf("job %s: %w", *j.ID, err)
		}
		sub := *info.SubmitTime
		if first == 0 || sub < first {
			first = sub
		}
		lastSubmit = max(lastSubmit, sub)
		allocs, _, err := c.Jobs().Allocations(*j.ID, false, q)
		if err != nil {
			return fmt.Errorf("allocations of %s: %w", *j.ID, err)
		}
		for _, a := range allocs {
			for _, ts := range a.TaskStates {
				lastDone = max(lastDone, ts.FinishedAt.UnixNano())
			}
		}
	}
	if span := float64(lastSubmit-first) / 1e9; span > 0 {
		t.RegisteredPerSecond = float64(t.Shards-1) / span
	}
	if span := float64(lastDone-first) / 1e9; span > 0 {
		t.CompletedPerSecond = float64(t.Shards) / span
	}
	return nil
}

// cpuTime is this process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// DirectRun is the baseline of the launcher's overhead: it registers each
// job once all the jobs of its upstream shards are complete, learning of
// completions from one blocking query on the job list (each stub carries
// its job's summary), with none of the launcher's event stream, progress,
// locality or failure handling. The jobs that are ready together are
// registered concurrency at a time (1: one after another, as a shell loop
// of `nomad job run` would), so that the comparison with the launcher,
// which registers a wave launcher.Options.RegisterConcurrency at a time,
// measures the launcher's own overhead.
func DirectRun(ctx context.Context, c *api.Client, p *plan.Plan, jobs []*api.Job, concurrency int) error {
	jobOfShard := map[string]string{}
	for _, s := range p.Shards {
		jobOfShard[s.ID] = s.Job
	}
	deps := map[string]map[string]bool{}
	for _, s := range p.Shards {
		for _, up := range s.Upstream {
			if deps[s.Job] == nil {
				deps[s.Job] = map[string]bool{}
			}
			deps[s.Job][jobOfShard[up]] = true
		}
	}
	done, submitted := map[string]bool{}, map[string]bool{}
	prefix := *jobs[0].ID
	prefix = prefix[:strings.LastIndex(prefix, "-s")]
	var index uint64
	for len(done) < len(jobs) {
		var eg errgroup.Group
		eg.SetLimit(max(concurrency, 1))
		for _, j := range jobs {
			if submitted[*j.ID] || !allDone(deps[*j.ID], done) {
				continue
			}
			submitted[*j.ID] = true
			eg.Go(func() error {
				if _, _, err := c.Jobs().Register(j, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
					return fmt.Errorf("register %s: %w", *j.ID, err)
				}
				return nil
			})
		}
		if err := eg.Wait(); err != nil {
			return err
		}
		stubs, meta, err := c.Jobs().List((&api.QueryOptions{Prefix: prefix, WaitIndex: index, WaitTime: time.Minute}).WithContext(ctx))
		if err != nil {
			return fmt.Errorf("list jobs: %w", err)
		}
		index = meta.LastIndex
		for _, s := range stubs {
			if s.JobSummary == nil {
				continue
			}
			for _, tg := range s.JobSummary.Summary {
				if tg.Failed > 0 {
					return fmt.Errorf("job %s failed", s.ID)
				}
				if tg.Complete > 0 && tg.Running == 0 && tg.Queued == 0 && tg.Starting == 0 {
					done[s.ID] = true
				}
			}
		}
	}
	return nil
}

// allDone reports whether every job in deps is done.
func allDone(deps, done map[string]bool) bool {
	for d := range deps {
		if !done[d] {
			return false
		}
	}
	return true
}
