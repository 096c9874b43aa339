package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"gonum.org/v1/gonum/stat"

	"github.com/shardwise/shardwise/bench/replay"
	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/sdk"
	"github.com/shardwise/shardwise/translator/hclreader"
	"github.com/shardwise/shardwise/translator/nomadjob"
)

// reactionGraph returns the HCL of levels x width tasks that sleep 0.2 s;
// each task after the first level waits for two tasks of the level
// before, so that a level's tasks become ready one or two at a time while
// the level before still queues in Nomad.
func reactionGraph(levels, width int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph \"react%dx%d\" {\n  datacenters = [\"dc1\"]\n  driver = \"raw_exec\"\n", levels, width)
	for l := range levels {
		for i := range width {
			fmt.Fprintf(&b, "  task \"t%d_%d\" {\n    command = \"/bin/sleep\"\n    args = [\"0.2\"]\n", l, i)
			if l > 0 {
				fmt.Fprintf(&b, "    depends_on = [task.t%d_%d, task.t%d_%d]\n", l-1, i, l-1, (i*7+3)%width)
			}
			b.WriteString("    hints {\n      kind = \"cpu\"\n      cpu = 100\n      memory = \"32MiB\"\n      runtime = \"1s\"\n    }\n  }\n")
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// BenchmarkLauncherReaction runs a graph of levels of trivial tasks, one
// shard per task (as -method heft), on the catalog-capacity cluster and
// reports the launcher's reaction from Nomad's own timestamps: from the
// last upstream allocation's task finish to the job's SubmitTime. It is
// the small, fast reproduction of the epigenomics heft replay whose
// reaction grew to two minutes (docs/launcher.md, "Registration
// pipeline"). Not part of make test; run it with
//
//	REACTION_SIZE=6x100 go test ./e2e -run '^$' -bench LauncherReaction -benchtime 1x -v
func BenchmarkLauncherReaction(b *testing.B) {
	levels, width := 6, 100
	if s := os.Getenv("REACTION_SIZE"); s != "" {
		if _, err := fmt.Sscanf(s, "%dx%d", &levels, &width); err != nil {
			b.Fatalf("REACTION_SIZE %q: want LEVELSxWIDTH", s)
		}
	}
	cat := catalog.Default()
	cl := cluster.StartT(b, cluster.Options{Classes: cluster.CapacityClasses(cat, 0)})
	c := cl.Client()
	path := filepath.Join(b.TempDir(), "react.hcl")
	if err := os.WriteFile(path, []byte(reactionGraph(levels, width)), 0o644); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		p, jobs := reactionPlan(b, cat, path, fmt.Sprintf("rx%d%x", i, time.Now().UnixNano()&0xffff))
		durable := os.Getenv("REACTION_DURABLE") != ""
		o := launcher.Options{}
		if durable {
			o.Durable = &launcher.Durable{}
		}
		start := time.Now()
		if _, err := (&launcher.Launcher{Client: c}).Run(context.Background(), p, jobs, o); err != nil {
			b.Fatalf("launcher run: %v", err)
		}
		wall := time.Since(start)
		react, regRate := reactions(b, c, p)
		p90, _ := predict.Quantile(react, 0.9)
		b.Logf("%d shards (%dx%d), durable %v: wall %.1f s; reaction mean %.2f s, median %.2f, p90 %.2f, max %.2f; registrations %.1f/s; load %.1f",
			len(p.Shards), levels, width, durable, wall.Seconds(), stat.Mean(react, nil), replay.Median(react), p90, slices.Max(react), regRate, replay.LoadAverage())
		b.ReportMetric(stat.Mean(react, nil), "reaction-mean-s")
		b.ReportMetric(slices.Max(react), "reaction-max-s")
		b.ReportMetric(wall.Seconds(), "wall-s")
		purge(c, jobs)
	}
}

// reactionPlan plans the graph with one shard per task and translates it.
func reactionPlan(b *testing.B, cat *catalog.Catalog, path, run string) (*plan.Plan, []*api.Job) {
	b.Helper()
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
	p, err := plan.Build(g, cat, tb, plan.Options{Run: run, NoFusion: true})
	if err != nil {
		b.Fatal(err)
	}
	jobs, err := nomadjob.Jobs(p, g, cat, nomadjob.Options{Driver: sdk.DriverRawExec})
	if err != nil {
		b.Fatal(err)
	}
	return p, jobs
}

// reactions returns, for every shard with upstream shards, the seconds
// from its last upstream task's finish to its job's SubmitTime, and the
// registrations per second over the span of the non-root submit times.
func reactions(b *testing.B, c *api.Client, p *plan.Plan) ([]float64, float64) {
	b.Helper()
	submit, finish := map[string]time.Time{}, map[string]time.Time{}
	for _, s := range p.Shards {
		j, _, err := c.Jobs().Info(s.Job, nil)
		if err != nil {
			b.Fatal(err)
		}
		submit[s.ID] = time.Unix(0, *j.SubmitTime)
		allocs, _, err := c.Jobs().Allocations(s.Job, true, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range allocs {
			if a.ClientStatus != api.AllocClientStatusComplete {
				continue
			}
			for _, ts := range a.TaskStates {
				if ts.FinishedAt.After(finish[s.ID]) {
					finish[s.ID] = ts.FinishedAt
				}
			}
		}
	}
	var out []float64
	var first, last time.Time
	for _, s := range p.Shards {
		if len(s.Upstream) == 0 {
			continue
		}
		var ready time.Time
		for _, up := range s.Upstream {
			if finish[up].After(ready) {
				ready = finish[up]
			}
		}
		out = append(out, submit[s.ID].Sub(ready).Seconds())
		if first.IsZero() || submit[s.ID].Before(first) {
			first = submit[s.ID]
		}
		if submit[s.ID].After(last) {
			last = submit[s.ID]
		}
	}
	return out, float64(len(out)) / max(last.Sub(first).Seconds(), 1e-9)
}
