package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/planner/plan"
)

// runTimeout bounds one `shardwise run` (or plain `nomad job run`
// sequence) on the test cluster.
const runTimeout = 3 * time.Minute

// cli runs the shardwise binary with extra environment variables and
// returns stdout, stderr and the exit status, failing t when it cannot
// start or outlives runTimeout.
func cli(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	return command(t, env, shardwiseBin, args...)
}

// command runs bin with args and extra environment variables in the
// repository root.
func command(t *testing.T, env []string, bin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s: %s", filepath.Base(bin), strings.Join(args, " "), time.Since(start).Round(10*time.Millisecond))
	if ctx.Err() != nil {
		t.Fatalf("%s %v: timed out after %s\nstdout:\n%s\nstderr:\n%s", bin, args, runTimeout, &stdout, &stderr)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s %v: %v", bin, args, err)
	}
	return stdout.String(), stderr.String(), code
}

// fixture returns the path of a graph under e2e/testdata/run.
func fixture(name string) string {
	return filepath.Join(repoRoot, "e2e", "testdata", "run", name)
}

// planOf returns the plan `shardwise plan` makes of graph for run, with
// extra plan flags; `shardwise run` with the same flags plans the same.
func planOf(t *testing.T, run, graph string, flags ...string) *plan.Plan {
	t.Helper()
	args := append([]string{"plan", "-run", run, "-format", "json"}, flags...)
	out, errOut, code := cli(t, nil, append(args, graph)...)
	if code != 0 {
		t.Fatalf("plan exit %d\n%s", code, errOut)
	}
	var p plan.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan JSON: %v", err)
	}
	return &p
}

// runID returns a run ID unique to this test and moment.
func runID(t *testing.T) string {
	return fmt.Sprintf("t%x", time.Now().UnixNano()&0xffffffff)
}

// shardRun is how one shard ran, read back through the Nomad API.
type shardRun struct {
	alloc         *api.Allocation
	node          *api.Node
	start, finish time.Time
}

// shardRuns reads, for every shard of p, the allocation that ran it (the
// complete one, or the running one for a service) and its node.
func shardRuns(t *testing.T, c *api.Client, p *plan.Plan) map[string]shardRun {
	t.Helper()
	out := map[string]shardRun{}
	nodes := map[string]*api.Node{}
	for _, s := range p.Shards {
		stubs, _, err := c.Jobs().Allocations(s.Job, false, nil)
		if err != nil {
			t.Fatalf("allocations of %s: %v", s.Job, err)
		}
		index := 0
		if s.Split != nil {
			index = s.Split.Index
		}
		stub := pickAlloc(stubs, fmt.Sprintf("[%d]", index))
		if stub == nil {
			t.Fatalf("shard %s: no complete or running allocation among %d", s.ID, len(stubs))
		}
		a, _, err := c.Allocations().Info(stub.ID, nil)
		if err != nil {
			t.Fatalf("allocation %s: %v", stub.ID, err)
		}
		n := nodes[a.NodeID]
		if n == nil {
			if n, _, err = c.Nodes().Info(a.NodeID, nil); err != nil {
				t.Fatalf("node %s: %v", a.NodeID, err)
			}
			nodes[a.NodeID] = n
		}
		r := shardRun{alloc: a, node: n}
		for _, ts := range a.TaskStates {
			if r.start.IsZero() || ts.StartedAt.Before(r.start) {
				r.start = ts.StartedAt
			}
			if ts.FinishedAt.After(r.finish) {
				r.finish = ts.FinishedAt
			}
		}
		out[s.ID] = r
	}
	return out
}

// pickAlloc returns the complete allocation whose name ends in suffix,
// else a running one.
func pickAlloc(stubs []*api.AllocationListStub, suffix string) *api.AllocationListStub {
	var running *api.AllocationListStub
	for _, a := range stubs {
		if !strings.HasSuffix(a.Name, suffix) {
			continue
		}
		switch a.ClientStatus {
		case api.AllocClientStatusComplete:
			return a
		case api.AllocClientStatusRunning:
			running = a
		}
	}
	return running
}

// checkOrder asserts that no batch shard started before each of its
// upstream shards had finished, in the times Nomad recorded.
func checkOrder(t *testing.T, p *plan.Plan, runs map[string]shardRun) {
	t.Helper()
	for _, s := range p.Shards {
		for _, up := range s.Upstream {
			if runs[s.ID].start.Before(runs[up].finish) {
				t.Errorf("shard %s started at %s, before upstream %s finished at %s",
					s.ID, runs[s.ID].start.Format(time.StampMilli), up, runs[up].finish.Format(time.StampMilli))
			}
		}
	}
}

// stopRun stops the jobs of a run left running (services) at the end of
// a test, so that the shared cluster is left as it was.
func stopRun(t *testing.T, addr, run string) {
	t.Helper()
	t.Cleanup(func() {
		_, _, _ = cli(t, nil, "stop", "-address", addr, "-purge", run)
	})
}

// TestRunSpansAllClasses runs a graph whose shards span all five classes
// and checks, through the Nomad API, that each shard ran on a node of its
// planned class, in dependency order, that the GPU shard was given a
// device and that the shard after a same-class upstream carried an
// affinity to its node; then it reads the run back with `shardwise status`
// and ends it with `shardwise stop` (which stops only the service left
// running), as from another shell. It runs once
// with raw_exec and once with the shard driver (-driver shard), which also
// moves every output to its consumers over data channels.
func TestRunSpansAllClasses(t *testing.T) {
	for _, driver := range []string{"raw_exec", "shard"} {
		t.Run(driver, func(t *testing.T) { runSpansAllClasses(t, driver) })
	}
}

func runSpansAllClasses(t *testing.T, driver string) {
	cl := cluster.Shared(t)
	if driver == cluster.ShardDriver {
		requireShardDriver(t, cl)
	}
	c := cl.Client()
	addr := cl.NomadAddr()
	run := runID(t)
	graph := fixture("five-classes.hcl")
	p := planOf(t, run, graph, "-driver", driver)
	classes := map[string]bool{}
	for _, s := range p.Shards {
		classes[s.Class] = true
	}
	if len(classes) != 5 {
		t.Fatalf("plan uses %d classes, want 5: %v", len(classes), classes)
	}
	stopRun(t, addr, run)

	out, errOut, code := cli(t, nil, "run", "-address", addr, "-run", run, "-driver", driver, graph)
	if code != 0 {
		t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"(driver " + driver + ")", "6/6 complete", "ACTUAL", "PREDICTED", "Service shards keep running: s005-serve"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	runs := shardRuns(t, c, p)
	for _, s := range p.Shards {
		if got := runs[s.ID].node.NodeClass; got != s.Class {
			t.Errorf("shard %s ran on node %s of class %q, planned %q", s.ID, runs[s.ID].node.Name, got, s.Class)
		}
		if !strings.Contains(out, runs[s.ID].node.Name) {
			t.Errorf("summary does not name node %s of shard %s", runs[s.ID].node.Name, s.ID)
		}
		if got := allocDrivers(runs[s.ID].alloc); len(got) != 1 || got[0] != driver {
			t.Errorf("shard %s ran with drivers %v, want %s", s.ID, got, driver)
		}
	}
	checkGPU(t, p, runs)
	checkAffinity(t, c, p, runs, "s002-index", "s000-fetch")
	checkOrder(t, p, runs)
	if driver == cluster.ShardDriver {
		// join's two inputs crossed channels from two classes' nodes.
		checkEvents(t, runs["s003-join"].alloc, "fetching 2 input channel(s)", "inputs ready")
	}

	status, errOut, code := cli(t, nil, "status", "-address", addr, run)
	if code != 0 || !strings.Contains(status, "Shards: 6 in the plan: 6 complete") || !strings.Contains(status, "): complete") {
		t.Errorf("status exit %d:\n%s%s", code, status, errOut)
	}
	stopped, errOut, code := cli(t, nil, "stop", "-address", addr, run)
	// Only the service is left running; completed jobs are left as they are.
	if code != 0 || !strings.Contains(stopped, "Stopped 1 job of run "+run) || !strings.Contains(stopped, "s005-serve") {
		t.Errorf("stop exit %d:\n%s%s", code, stopped, errOut)
	}
}

// allocDrivers lists the drivers of the allocation's tasks.
func allocDrivers(a *api.Allocation) []string {
	var out []string
	if g := a.Job.LookupTaskGroup(a.TaskGroup); g != nil {
		for _, task := range g.Tasks {
			out = append(out, task.Driver)
		}
	}
	return out
}

// checkGPU asserts that the shard needing a GPU was assigned a device.
func checkGPU(t *testing.T, p *plan.Plan, runs map[string]shardRun) {
	t.Helper()
	for _, s := range p.Shards {
		if s.Resources.GPUs == 0 {
			continue
		}
		a := runs[s.ID].alloc
		var ids []string
		for _, tr := range a.AllocatedResources.Tasks {
			for _, d := range tr.Devices {
				ids = append(ids, d.DeviceIDs...)
			}
		}
		if len(ids) != s.Resources.GPUs {
			t.Errorf("GPU shard %s was assigned devices %v, want %d", s.ID, ids, s.Resources.GPUs)
		}
		return
	}
	t.Error("no shard of the plan needs a GPU")
}

// checkAffinity asserts that shard's job was submitted with an affinity
// to the node upstream ran on.
func checkAffinity(t *testing.T, c *api.Client, p *plan.Plan, runs map[string]shardRun, shard, upstream string) {
	t.Helper()
	var job string
	for _, s := range p.Shards {
		if s.ID == shard {
			job = s.Job
		}
	}
	j, _, err := c.Jobs().Info(job, nil)
	if err != nil {
		t.Fatalf("job %s: %v", job, err)
	}
	want := runs[upstream].alloc.NodeID
	for _, a := range j.TaskGroups[0].Affinities {
		if a.LTarget == "${node.unique.id}" && a.RTarget == want {
			return
		}
	}
	t.Errorf("job %s has no affinity to node %s of upstream %s: %+v", job, want, upstream, j.TaskGroups[0].Affinities)
}

// TestGeneratedHCLRunsWithNomad writes the jobs of the five-class graph
// with `shardwise plan -out` and runs each HCL file with the real `nomad
// job run`, in dependency order, waiting for each job's upstream jobs to
// complete (the service to run) before running it.
func TestGeneratedHCLRunsWithNomad(t *testing.T) {
	cl := cluster.Shared(t)
	c := cl.Client()
	nomad := agentBin(t, "nomad")
	run := runID(t)
	dir := filepath.Join(t.TempDir(), "jobs")
	graph := fixture("five-classes.hcl")
	if out, errOut, code := cli(t, nil, "plan", "-run", run, "-out", dir, graph); code != 0 {
		t.Fatalf("plan exit %d\n%s%s", code, out, errOut)
	}
	p := planOf(t, run, graph)
	t.Cleanup(func() {
		for _, s := range p.Shards {
			_, _, _ = c.Jobs().Deregister(s.Job, true, nil)
		}
	})
	env := []string{"NOMAD_ADDR=" + cl.NomadAddr()}
	for _, s := range p.Shards { // plan order is a topological order
		for _, up := range s.Upstream {
			waitDone(t, c, jobOf(p, up))
		}
		file := filepath.Join(dir, s.Job+".nomad.hcl")
		out, errOut, code := command(t, env, nomad, "job", "run", "-detach", file)
		if code != 0 {
			t.Fatalf("nomad job run %s: exit %d\n%s%s", file, code, out, errOut)
		}
	}
	for _, s := range p.Shards {
		waitDone(t, c, s.Job)
	}
	runs := shardRuns(t, c, p)
	for _, s := range p.Shards {
		if got := runs[s.ID].node.NodeClass; got != s.Class {
			t.Errorf("shard %s ran on class %q, planned %q", s.ID, got, s.Class)
		}
	}
	checkGPU(t, p, runs)
}

// jobOf returns the job of shard id in p.
func jobOf(p *plan.Plan, id string) string {
	for _, s := range p.Shards {
		if s.ID == id {
			return s.Job
		}
	}
	return ""
}

// waitDone waits, with blocking queries, until every allocation of job
// completed (batch) or runs (service), failing t if one fails or
// runTimeout passes.
func waitDone(t *testing.T, c *api.Client, job string) {
	t.Helper()
	deadline := time.Now().Add(runTimeout)
	var index uint64
	for time.Now().Before(deadline) {
		q := &api.QueryOptions{WaitIndex: index, WaitTime: 30 * time.Second}
		j, _, err := c.Jobs().Info(job, nil)
		if err != nil {
			t.Fatalf("job %s: %v", job, err)
		}
		stubs, meta, err := c.Jobs().Allocations(job, false, q)
		if err != nil {
			t.Fatalf("allocations of %s: %v", job, err)
		}
		index = meta.LastIndex
		want, ok := *j.TaskGroups[0].Count, 0
		for _, a := range stubs {
			switch {
			case a.ClientStatus == api.AllocClientStatusFailed:
				t.Fatalf("job %s: allocation %s failed", job, a.ID)
			case a.ClientStatus == api.AllocClientStatusComplete,
				*j.Type == api.JobTypeService && a.ClientStatus == api.AllocClientStatusRunning:
				ok++
			}
		}
		if ok >= want {
			return
		}
	}
	t.Fatalf("job %s not done after %s", job, runTimeout)
}

// TestRunFailingTask runs a graph whose middle task fails: the run exits
// 1, prints the task's events and stderr, retries once (-retries 1), and
// the downstream shard's job is never registered.
func TestRunFailingTask(t *testing.T) {
	cl := cluster.Shared(t)
	c := cl.Client()
	run := runID(t)
	graph := fixture("failing.hcl")
	p := planOf(t, run, graph)
	stopRun(t, cl.NomadAddr(), run)
	out, errOut, code := cli(t, nil, "run", "-address", cl.NomadAddr(), "-run", run, "-fail-fast", "-retries", "1", graph)
	if code != 1 {
		t.Fatalf("run exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"Shard s001-convert", "Task events:", "Exit Code: 3",
		"convert: cannot parse input.csv line 7", "Error: shard s001-convert",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
		t.Errorf("stderr holds a stack trace:\n%s", errOut)
	}
	if !strings.Contains(out, "s002-publish") || !strings.Contains(out, "skipped") {
		t.Errorf("summary does not show publish skipped:\n%s", out)
	}
	// The failed shard was registered twice (-retries 1).
	j, _, err := c.Jobs().Info(jobOf(p, "s001-convert"), nil)
	if err != nil {
		t.Fatalf("failed job: %v", err)
	}
	if got := j.Meta["shardwise_attempt"]; got != "2" {
		t.Errorf("failed job's shardwise_attempt = %q, want 2", got)
	}
	if _, _, err := c.Jobs().Info(jobOf(p, "s002-publish"), nil); err == nil {
		t.Errorf("downstream job %s was registered", jobOf(p, "s002-publish"))
	}
}

// TestRunImportedTrace imports a real WfCommons trace (blast, 43 tasks)
// with its runtimes scaled to short sleeps, runs it, and checks from the
// times Nomad recorded that every shard ran after its upstream shards.
func TestRunImportedTrace(t *testing.T) {
	cl := cluster.Shared(t)
	trace := filepath.Join(tracesDir(t), "blast-chameleon-small-001.json")
	dir := filepath.Join(t.TempDir(), "blast")
	if out, errOut, code := cli(t, nil, "import", "wfcommons", "-time-scale", "0.05", "-out", dir, trace); code != 0 {
		t.Fatalf("import exit %d\n%s%s", code, out, errOut)
	}
	run := runID(t)
	graph := filepath.Join(dir, "graph.hcl")
	hist := filepath.Join(dir, "history.jsonl")
	p := planOf(t, run, graph, "-history", hist)
	stopRun(t, cl.NomadAddr(), run)
	start := time.Now()
	out, errOut, code := cli(t, nil, "run", "-address", cl.NomadAddr(), "-run", run, "-history", hist, graph)
	if code != 0 {
		t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	elapsed := time.Since(start)
	if want := fmt.Sprintf("%d/%d complete", len(p.Shards), len(p.Shards)); !strings.Contains(out, want) {
		t.Errorf("output lacks %q", want)
	}
	checkOrder(t, p, shardRuns(t, cl.Client(), p))
	t.Logf("blast: %d tasks in %d shards ran in %s (predicted %.1fs)", p.Stats.Tasks, len(p.Shards), elapsed.Round(time.Millisecond), p.MakespanSeconds)
}

// TestRunBadConnection gives `shardwise run` and `status` connection
// settings that cannot work and checks for an error that names what
// failed, exit status 1 (2 for a malformed address: a usage error), and
// no stack trace.
func TestRunBadConnection(t *testing.T) {
	cl := cluster.Shared(t)
	graph := fixture("failing.hcl")
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"refused", nil, []string{"run", "-address", "http://127.0.0.1:1", graph},
			"cannot reach the Nomad agent at http://127.0.0.1:1: connection refused"},
		{"refused from NOMAD_ADDR", []string{"NOMAD_ADDR=http://127.0.0.1:1"}, []string{"status", "somerun"},
			"cannot reach the Nomad agent at http://127.0.0.1:1"},
		{"not a Nomad agent", nil, []string{"run", "-address", cl.ConsulAddr(), graph},
			"does not answer like a Nomad agent's HTTP API"},
		{"HTTPS to an HTTP agent", nil, []string{"run", "-address", strings.Replace(cl.NomadAddr(), "http:", "https:", 1), graph},
			"speaks HTTP, not HTTPS"},
		{"malformed address", nil, []string{"run", "-address", "http://[::1", graph},
			`invalid Nomad agent address "http://[::1" (-address or NOMAD_ADDR)`},
		{"address without scheme", []string{"NOMAD_ADDR=127.0.0.1:4646"}, []string{"status", "somerun"},
			`want http://HOST:PORT or https://HOST:PORT, such as "http://127.0.0.1:4646"`},
		{"missing CA file", nil, []string{"run", "-address", cl.NomadAddr(), "-ca-cert", "/nonexistent/ca.pem", graph},
			"-ca-cert (NOMAD_CACERT)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := cli(t, append([]string{"NOMAD_ADDR=", "NOMAD_TOKEN="}, tc.env...), tc.args...)
			want := 1
			if strings.Contains(tc.name, "address") {
				want = 2
			}
			if code != want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, out, errOut)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, errOut)
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
				t.Errorf("stderr holds a stack trace:\n%s", errOut)
			}
		})
	}
}
