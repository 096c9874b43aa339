package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/bench/replay"
	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/sdk"
	"github.com/shardwise/shardwise/translator/hclreader"
	"github.com/shardwise/shardwise/translator/nomadjob"
)

// Layers and width of the benchmark graph: 5 layers of 10 trivial tasks;
// each task after the first layer reads from two tasks of the layer
// before, so no chain is fused and the plan has 50 shards.
const (
	benchLayers = 5
	benchWidth  = 10
)

// benchGraph returns the HCL of the 50-task benchmark graph.
func benchGraph() string {
	var sb strings.Builder
	sb.WriteString("graph \"bench50\" {\n  datacenters = [\"dc1\"]\n  driver = \"raw_exec\"\n")
	for l := range benchLayers {
		for i := range benchWidth {
			fmt.Fprintf(&sb, "  task \"t%d_%d\" {\n    command = \"/bin/true\"\n", l, i)
			if l > 0 {
				fmt.Fprintf(&sb, "    depends_on = [task.t%d_%d, task.t%d_%d]\n", l-1, i, l-1, (i+1)%benchWidth)
			}
			sb.WriteString("    hints {\n      kind = \"cpu\"\n      cpu = 100\n      memory = \"32MiB\"\n      runtime = \"1s\"\n    }\n  }\n")
		}
	}
	sb.WriteString("}\n")
	return sb.String()
}

// benchPlan plans the benchmark graph for run and translates it to jobs.
func benchPlan(b *testing.B, path, run string) (*plan.Plan, []*api.Job) {
	b.Helper()
	cat := catalog.Default()
	g, diags := hclreader.ParseFile(path, hclreader.Options{Executors: cat.Names()})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	pred, err := predict.New(cat, nil)
	if err != nil {
		b.Fatal(err)
	}
	tb, err := pred.Predict(g)
	if err != nil {
		b.Fatal(err)
	}
	p, err := plan.Build(g, cat, tb, plan.Options{Run: run})
	if err != nil {
		b.Fatal(err)
	}
	jobs, err := nomadjob.Jobs(p, g, cat, nomadjob.Options{Driver: sdk.DriverRawExec})
	if err != nil {
		b.Fatal(err)
	}
	if len(p.Shards) != benchLayers*benchWidth {
		b.Logf("plan has %d shards (want %d; the pipeline now fuses some)", len(p.Shards), benchLayers*benchWidth)
	}
	return p, jobs
}

// BenchmarkLauncherOverhead measures, in one run on the test cluster, the
// time from first submit to every shard complete for a graph of 50
// trivial shards, with the launcher and with the same job specs submitted
// directly through the API in dependency order (replay.DirectRun), and reports
// both and their ratio (goal: at most 1.2), and the launcher with the
// run's state stored in Nomad (Options.Durable) against the same
// baseline. Run it with
//
//	go test ./e2e -run '^$' -bench LauncherOverhead -benchtime 3x
func BenchmarkLauncherOverhead(b *testing.B) {
	cl := cluster.Shared(b)
	c := cl.Client()
	path := filepath.Join(b.TempDir(), "bench50.hcl")
	if err := os.WriteFile(path, []byte(benchGraph()), 0o644); err != nil {
		b.Fatal(err)
	}
	var viaLauncher, durable, direct time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		p, jobs := benchPlan(b, path, fmt.Sprintf("bl%d%x", i, time.Now().UnixNano()&0xffff))
		b.StartTimer()
		start := time.Now()
		if _, err := (&launcher.Launcher{Client: c}).Run(context.Background(), p, jobs, launcher.Options{NoLocality: true}); err != nil {
			b.Fatalf("launcher run: %v", err)
		}
		viaLauncher += time.Since(start)
		b.StopTimer()
		purge(c, jobs)
		// The same with the run's state stored in Nomad, as `shardwise run`
		// does: a check-and-set write of the progress per batch of events.
		p, jobs = benchPlan(b, path, fmt.Sprintf("bs%d%x", i, time.Now().UnixNano()&0xffff))
		b.StartTimer()
		start = time.Now()
		if _, err := (&launcher.Launcher{Client: c}).Run(context.Background(), p, jobs, launcher.Options{NoLocality: true, Durable: &launcher.Durable{}}); err != nil {
			b.Fatalf("durable launcher run: %v", err)
		}
		durable += time.Since(start)
		b.StopTimer()
		purge(c, jobs)
		_, _ = (&runstate.Store{Client: c}).Purge(context.Background(), p.Run)
		p, jobs = benchPlan(b, path, fmt.Sprintf("bd%d%x", i, time.Now().UnixNano()&0xffff))
		b.StartTimer()
		start = time.Now()
		if err := replay.DirectRun(context.Background(), c, p, jobs, launcher.DefaultRegisterConcurrency); err != nil {
			b.Fatalf("direct run: %v", err)
		}
		direct += time.Since(start)
		b.StopTimer()
		purge(c, jobs)
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(viaLauncher.Seconds()/n, "launcher-s/run")
	b.ReportMetric(direct.Seconds()/n, "direct-s/run")
	b.ReportMetric(viaLauncher.Seconds()/direct.Seconds(), "ratio")
	b.ReportMetric(durable.Seconds()/n, "durable-s/run")
	b.ReportMetric(durable.Seconds()/direct.Seconds(), "durable-ratio")
}

// purge removes the jobs from Nomad, so runs do not pile up.
func purge(c *api.Client, jobs []*api.Job) {
	for _, j := range jobs {
		_, _, _ = c.Jobs().Deregister(*j.ID, true, nil)
	}
}
