package e2e

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
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
// asserts that every run completes, that a replay task pinned to a
// half-speed class takes twice as long as on the reference class (the
// replay's speed emulation: the seconds each copy says it sleeps on its
// node), and that Shardwise's actual makespan is below the single
// class's; then the shard driver and the bad inputs.
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
	checkSpeedEmulation(t, c, cat, heftPlan, heft)
	if makespan["shardwise"] >= makespan["single"] {
		t.Errorf("Shardwise's actual makespan %.1f s is not below the single class's %.1f s", makespan["shardwise"], makespan["single"])
	}

	t.Run("shard driver", func(t *testing.T) { replayShardDriver(t, cl, catPath, traces) })
	t.Run("bad input", func(t *testing.T) { replayBadInput(t, c, addr, catPath, graph, hist) })
}

// replayShardDriver runs Shardwise's plan of a "-replay-work write" import
// with the shard driver: every task writes its outputs, sized as the trace
// says times the time scale, and the driver moves them to the downstream
// shards through its channels.
func replayShardDriver(t *testing.T, cl *cluster.Cluster, catPath, traces string) {
	requireShardDriver(t, cl)
	dir := filepath.Join(t.TempDir(), "blast-write")
	if out, errOut, code := cli(t, nil, "import", "wfcommons", "-replay", "-replay-work", "write", "-catalog", catPath,
		"-time-scale", replayScale, "-out", dir, filepath.Join(traces, "blast-chameleon-small-001.json")); code != 0 {
		t.Fatalf("import exit %d\n%s%s", code, out, errOut)
	}
	graph := filepath.Join(dir, wfcommons.GraphFile)
	run := runID(t)
	flags := []string{"-catalog", catPath, "-history", filepath.Join(dir, wfcommons.HistoryFile), "-driver", cluster.ShardDriver}
	p := planOf(t, run, graph, flags...)
	args := append([]string{"run", "-address", cl.NomadAddr(), "-run", run}, flags...)
	out, errOut, code := cli(t, nil, append(args, graph)...)
	if code != 0 {
		t.Fatalf("run -driver shard exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	runs := shardRuns(t, cl.Client(), p)
	checkOrder(t, p, runs)
	reads := map[string]bool{}
	for _, ch := range p.Channels {
		reads[ch.To] = true
	}
	fetched := 0
	for _, s := range p.Shards {
		if reads[s.ID] {
			checkEvents(t, runs[s.ID].alloc, "fetching ", "inputs ready")
			fetched++
		}
	}
	if fetched == 0 {
		t.Error("no shard of the plan reads a channel")
	}
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

// checkSpeedEmulation runs one replayed task (a copy of HEFT's job of
// shard, its replayed time set to 2 s) pinned to the reference class and,
// at the same time, to each class of the catalog that runs cpu work at
// most half as fast. Each copy says the seconds it takes on its node
// ("replay: S s on node class C"): a slow copy's S is the catalog's speed
// ratio times the reference's. The times Nomad measured from task start
// to finish are logged, not asserted: process start and exit under load
// add up to a second to a 2 s task, in any proportion between the copies
// (and Nomad stamps the start after the process began).
func checkSpeedEmulation(t *testing.T, c *api.Client, cat *catalog.Catalog, p *plan.Plan, runs map[string]shardRun) {
	t.Helper()
	var tmpl *api.Job
	for _, s := range p.Shards {
		if a := runs[s.ID].alloc; replaySeconds(a) >= 0.2 {
			tmpl = a.Job
			break
		}
	}
	if tmpl == nil {
		t.Fatal("HEFT's plan has no replayed task to copy")
	}
	ref := cat.ReferenceClass()
	want := map[string]float64{ref.Name: 1}
	for _, cl := range cat.Classes {
		if r := ref.SpeedFor("cpu") / cl.SpeedFor("cpu"); r >= 1.5 {
			want[cl.Name] = r
		}
	}
	if len(want) < 2 {
		t.Fatal("the catalog has no class at most half as fast as the reference")
	}
	ids := map[string]string{}
	for class := range want {
		j := pinnedCopy(tmpl, class)
		if _, _, err := c.Jobs().Register(j, nil); err != nil {
			t.Fatalf("register %s: %v", *j.ID, err)
		}
		ids[class] = *j.ID
	}
	took := map[string]float64{}
	allocs := map[string]*api.Allocation{}
	waitUntil(t, 2*time.Minute, "the pinned replay copies to complete", func() (bool, string) {
		for class, id := range ids {
			stubs, _, err := c.Jobs().Allocations(id, false, nil)
			if err != nil || len(stubs) == 0 || stubs[0].ClientStatus != api.AllocClientStatusComplete {
				return false, id + " not complete"
			}
			for _, ts := range stubs[0].TaskStates {
				took[class] = ts.FinishedAt.Sub(ts.StartedAt).Seconds()
			}
			a, _, err := c.Allocations().Info(stubs[0].ID, nil)
			if err != nil {
				return false, err.Error()
			}
			allocs[class] = a
		}
		return true, ""
	})
	says := map[string]float64{}
	for class, a := range allocs {
		out := taskStdout(t, c, a, a.Job.TaskGroups[0].Tasks[0].Name)
		m := regexp.MustCompile(`replay: ([0-9.]+) s on node class (\S+)`).FindStringSubmatch(out)
		if m == nil || m[2] != class {
			t.Fatalf("copy pinned to %s printed %q, want its replay line on node class %s", class, out, class)
		}
		says[class], _ = strconv.ParseFloat(m[1], 64)
	}
	for class, id := range ids {
		_, _, _ = c.Jobs().Deregister(id, true, nil)
		if class == ref.Name {
			continue
		}
		ratio := says[class] / says[ref.Name]
		if w := want[class]; math.Abs(ratio-w) > 0.01 {
			t.Errorf("a replay task pinned to %s takes %.3f s, %.3fx its %.3f s on %s; want the catalog's %.2fx",
				class, says[class], ratio, says[ref.Name], ref.Name, w)
		}
		t.Logf("pinned to %s: %.3f s (%.2f s from start to finish), %.2fx the %.3f s (%.2f s) on %s (catalog: %.2fx)",
			class, says[class], took[class], ratio, says[ref.Name], took[ref.Name], ref.Name, want[class])
	}
}

// pinnedCopy is a copy of job j, its first task replaying 2 s, constrained
// to node class class, under a new ID.
func pinnedCopy(j *api.Job, class string) *api.Job {
	var cp api.Job
	b, _ := json.Marshal(j)
	_ = json.Unmarshal(b, &cp)
	id := "speed-" + class + "-" + *j.ID
	cp.ID, cp.Name = &id, &id
	cp.Status, cp.StatusDescription, cp.CreateIndex, cp.ModifyIndex, cp.JobModifyIndex, cp.SubmitTime = nil, nil, nil, nil, nil, nil
	g := cp.TaskGroups[0]
	g.Affinities = nil
	cons := []*api.Constraint{api.NewConstraint("${node.class}", "=", class)}
	for _, con := range append(cp.Constraints, g.Constraints...) {
		if con.LTarget != "${node.class}" {
			cons = append(cons, con)
		}
	}
	cp.Constraints, g.Constraints = cons, nil
	g.Tasks[0].Env[wfcommons.EnvReplaySeconds] = "2"
	return &cp
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
