package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/translator/wfcommons"
)

// replayScale is the replay test's time scale: blast's 40 blastall tasks
// (about 9.5 s each as recorded) take about 0.5 s on the reference class.
const replayScale = "0.05"

// TestReplayMethodsOnCapacityCluster replays a real trace (blast, 43
// tasks) on a cluster that gives each class its catalog's capacity
// (e2e/testdata/replay/catalog.hcl: 2 instances per class; two classes run
// cpu work at half speed), once per method through the same launcher. It
// asserts that every run completes, that a task placed on a half-speed
// class took twice as long as one on the reference class (the replay's
// speed emulation, measured from Nomad's task start and finish times), and
// that Shardwise's actual makespan is below the single class's.
func TestReplayMethodsOnCapacityCluster(t *testing.T) {
	traces := tracesDir(t)
	catPath := filepath.Join(repoRoot, "e2e", "testdata", "replay", "catalog.hcl")
	cat, diags := catalog.Load(catPath)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	cl := cluster.StartT(t, cluster.Options{Classes: cluster.CapacityClasses(cat, 0)})
	c, addr := cl.Client(), cl.NomadAddr()

	dir := filepath.Join(t.TempDir(), "blast")
	if out, errOut, code := cli(t, nil, "import", "wfcommons", "-replay", "-catalog", catPath, "-time-scale", replayScale,
		"-out", dir, filepath.Join(traces, "blast-chameleon-small-001.json")); code != 0 {
		t.Fatalf("import exit %d\n%s%s", code, out, errOut)
	}
	graph, hist := filepath.Join(dir, wfcommons.GraphFile), filepath.Join(dir, wfcommons.HistoryFile)

	makespan := map[string]float64{}
	var heft map[string]shardRun
	var heftPlan *plan.Plan
	for _, m := range []string{"shardwise", "heft", "single"} {
		run := runID(t)
		flags := []string{"-catalog", catPath, "-history", hist, "-method", m}
		p := planOf(t, run, graph, flags...)
		args := append([]string{"run", "-address", addr, "-run", run}, flags...)
		out, errOut, code := cli(t, nil, append(args, graph)...)
		if code != 0 {
			t.Fatalf("%s: run exit %d\nstdout:\n%s\nstderr:\n%s", m, code, out, errOut)
		}
		runs := shardRuns(t, c, p)
		checkOrder(t, p, runs)
		makespan[m] = actualMakespan(runs)
		t.Logf("%s: %d shards, actual makespan %.1f s, predicted %.1f s", m, len(p.Shards), makespan[m], p.MakespanSeconds)
		if m == "heft" {
			heft, heftPlan = runs, p
		}
	}
	checkSpeedEmulation(t, cat, heftPlan, heft)
	if makespan["shardwise"] >= makespan["single"] {
		t.Errorf("Shardwise's actual makespan %.1f s is not below the single class's %.1f s", makespan["shardwise"], makespan["single"])
	}

	t.Run("bad input", func(t *testing.T) { replayBadInput(t, c, addr, catPath, graph, hist) })
}

// actualMakespan is the time from the first task's start to the last
// task's finish, as Nomad recorded them, in seconds.
func actualMakespan(runs map[string]shardRun) float64 {
	var first, last time.Time
	for _, r := range runs {
		if first.IsZero() || r.start.Before(first) {
			first = r.start
		}
		if r.finish.After(last) {
			last = r.finish
		}
	}
	return last.Sub(first).Seconds()
}

// checkSpeedEmulation compares, over HEFT's one-task shards, each task's
// run time (Nomad's task start to finish, less the median run time of the
// tasks that replay next to nothing: the shell's own start-up) per second
// of replayed time (SHARDWISE_REPLAY_SECONDS): on the half-speed classes it
// must be the catalog's speed ratio (2) times that on the reference class,
// within 20%.
func checkSpeedEmulation(t *testing.T, cat *catalog.Catalog, p *plan.Plan, runs map[string]shardRun) {
	t.Helper()
	var idle []float64
	for _, s := range p.Shards {
		if r := runs[s.ID]; replaySeconds(r.alloc) < 0.05 {
			idle = append(idle, r.finish.Sub(r.start).Seconds())
		}
	}
	overhead := median(idle)
	perClass := map[string][]float64{}
	for _, s := range p.Shards {
		r := runs[s.ID]
		secs := replaySeconds(r.alloc)
		if secs < 0.2 { // split and cat tasks: start-up noise, not speed
			continue
		}
		perClass[r.node.NodeClass] = append(perClass[r.node.NodeClass], (r.finish.Sub(r.start).Seconds()-overhead)/secs)
	}
	t.Logf("shell start-up of a replay task: %.2f s (median of %d)", overhead, len(idle))
	ref := cat.ReferenceClass()
	fast := median(perClass[ref.Name])
	compared := 0
	for _, cl := range cat.Classes {
		want := ref.SpeedFor("cpu") / cl.SpeedFor("cpu")
		got := median(perClass[cl.Name])
		if want < 1.5 || len(perClass[cl.Name]) == 0 {
			continue
		}
		compared++
		if ratio := got / fast; ratio < want*0.8 || ratio > want*1.2 {
			t.Errorf("class %s: tasks took %.2fx as long as on %s, want the catalog's %.2fx within 20%% (%d and %d tasks)",
				cl.Name, ratio, ref.Name, want, len(perClass[cl.Name]), len(perClass[ref.Name]))
		} else {
			t.Logf("class %s: tasks took %.2fx as long as on %s (catalog: %.2fx)", cl.Name, ratio, ref.Name, want)
		}
	}
	if compared == 0 || len(perClass[ref.Name]) == 0 {
		t.Errorf("HEFT put no task on both the reference class and a half-speed one: %v", perClass)
	}
}

// replaySeconds is the replayed time of the allocation's (only) task.
func replaySeconds(a *api.Allocation) float64 {
	g := a.Job.LookupTaskGroup(a.TaskGroup)
	if g == nil || len(g.Tasks) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(g.Tasks[0].Env[wfcommons.EnvReplaySeconds], 64)
	return v
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// replayBadInput: an unknown -method, -replay on a trace without runtimes
// and a plan on a class the cluster has no client for each fail with a
// clear error and exit 1, and nothing reaches Nomad.
func replayBadInput(t *testing.T, c *api.Client, addr, catPath, graph, hist string) {
	before := jobCount(t, c)
	_, errOut, code := cli(t, nil, "run", "-address", addr, "-method", "fastest", graph)
	if code != 1 || !strings.Contains(errOut, `unknown method "fastest"`) {
		t.Errorf("-method fastest: exit %d, stderr:\n%s", code, errOut)
	}

	tiny, err := os.ReadFile(filepath.Join(repoRoot, "translator", "wfcommons", "testdata", "tiny-nextflow.json"))
	if err != nil {
		t.Fatal(err)
	}
	noRuntimes := filepath.Join(t.TempDir(), "no-runtimes.json")
	zeroed := regexp.MustCompile(`"runtimeInSeconds": [0-9.]+`).ReplaceAll(tiny, []byte(`"runtimeInSeconds": 0`))
	if err := os.WriteFile(noRuntimes, zeroed, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	_, errOut, code = cli(t, nil, "import", "wfcommons", "-replay", "-out", out, noRuntimes)
	if code != 1 || !strings.Contains(errOut, "no-runtimes.json") || !strings.Contains(errOut, "no task has a recorded runtime") {
		t.Errorf("-replay without runtimes: exit %d, stderr:\n%s", code, errOut)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("-replay without runtimes left %s behind (%v)", out, err)
	}

	// A class of the catalog that no client serves.
	extra := filepath.Join(t.TempDir(), "catalog.hcl")
	base, err := os.ReadFile(catPath)
	if err != nil {
		t.Fatal(err)
	}
	arm := "\nexecutor \"arm\" {\n  node_class = \"arm\"\n  instance {\n    cpu    = 8000\n    cores  = 4\n    memory = \"16GiB\"\n    disk   = \"50GiB\"\n  }\n  instances = 2\n  performance {\n    bandwidth = \"1.25GB\"\n  }\n}\n"
	if err := os.WriteFile(extra, append(base, arm...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = cli(t, nil, "run", "-address", addr, "-catalog", extra, "-history", hist, "-method", "single:arm", graph)
	if code != 1 || !strings.Contains(errOut, `node class "arm"`) || !strings.Contains(errOut, "nothing was submitted") {
		t.Errorf("a class with no client: exit %d, stderr:\n%s", code, errOut)
	}
	if after := jobCount(t, c); after != before {
		t.Errorf("bad input submitted %d jobs", after-before)
	}
}

func jobCount(t *testing.T, c *api.Client) int {
	t.Helper()
	jobs, _, err := c.Jobs().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	return len(jobs)
}
