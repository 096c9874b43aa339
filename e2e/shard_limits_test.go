package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
)

// TestShardOOMRetriedWithMoreMemory runs a shard that needs 300 MiB with
// 64 MiB under the shard driver: its cgroup holds it to its limit (96 MiB
// memory_max on the memory-intensive class, which oversubscribes), the
// kernel kills it, Nomad's Terminated event says oom_killed=true (from
// the driver's ExitResult), `shardwise run` retries it with more memory
// until it completes, and the history store records the OOM kill with a
// peak at or above the limit.
func TestShardOOMRetriedWithMoreMemory(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	c := cl.Client()
	env := []string{"NOMAD_ADDR=" + cl.NomadAddr()}
	db := filepath.Join(t.TempDir(), "history.db")
	run := runID(t)
	graph := fixture("shard-oom.hcl")
	p := planOf(t, run, graph)
	stopRun(t, cl.NomadAddr(), run)
	out, errOut, code := cli(t, env, "run", "-run", run, "-driver", "shard", "-fail-fast", "-retries", "8",
		"-feedback", "-history-db", db, graph)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// memory-intensive allows oversubscription: memory_max (the cgroup's
	// hard limit) is 1.5 x memory, and the retry doubles it: 2 x 96 MiB.
	if !regexp.MustCompile(`retried s000-hog with 192 MiB memory, was 64 MiB \(allocation [0-9a-f]{8} OOM-killed on attempt 1\)`).MatchString(out) {
		t.Errorf("summary lacks the first memory raise:\n%s", out)
	}

	// Every failed allocation of the job died of the OOM killer, as the
	// driver reported it.
	stubs, _, err := c.Jobs().Allocations(jobOf(p, "s000-hog"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, s := range stubs {
		if s.ClientStatus != api.AllocClientStatusFailed {
			continue
		}
		failed++
		a, _, err := c.Allocations().Info(s.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		term := lastTerminated(a.TaskStates["hog"])
		if term == nil || term.Details["oom_killed"] != "true" || term.ExitCode != 137 {
			t.Errorf("allocation %s: Terminated event %+v, want exit 137 with oom_killed=true", s.ID, term)
		}
		checkEvents(t, a, "OOM killer killed")
	}
	if failed == 0 {
		t.Fatalf("no failed allocation of s000-hog among %d", len(stubs))
	}

	var oom, ok int
	for _, r := range storeRecords(t, db) {
		if r.Run != run {
			continue
		}
		switch {
		case r.OOMKilled:
			oom++
			t.Logf("OOM record: limit %d MiB, peak %d MiB", r.MemoryLimitBytes>>20, r.MemoryBytes>>20)
			if r.MemoryBytes < r.MemoryLimitBytes || r.ExitCode != 137 {
				t.Errorf("OOM record: peak %d bytes, limit %d, exit %d; want the peak at or above the limit, exit 137",
					r.MemoryBytes, r.MemoryLimitBytes, r.ExitCode)
			}
		case r.ExitCode == 0:
			ok++
			if r.MemoryLimitBytes < 300<<20 {
				t.Errorf("completed with a %d MiB limit, below the 300 MiB the task holds", r.MemoryLimitBytes>>20)
			}
		}
	}
	t.Logf("%d OOM-killed attempts, %d complete", oom, ok)
	if oom != failed || ok != 1 {
		t.Errorf("records of run %s: %d OOM-killed, %d complete; want %d and 1", run, oom, ok, failed)
	}
}

// lastTerminated returns the task's last Terminated event, nil if none.
func lastTerminated(ts *api.TaskState) *api.TaskEvent {
	var term *api.TaskEvent
	if ts == nil {
		return nil
	}
	for _, e := range ts.Events {
		if e.Type == api.TaskTerminated {
			term = e
		}
	}
	return term
}

// TestShardCPUShares runs two shards that each spin four processes on the
// same node (pinned to one CPU, see the fixture), small with 100 MHz and
// big with 300 MHz allocated. While both spin, the CPU the allocation
// stats report for small is a quarter of the two's total: its cgroup's
// CPU shares (100 against 300) decide, not the number of processes.
func TestShardCPUShares(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	c := cl.Client()
	run := runID(t)
	graph := fixture("shard-cpu-share.hcl")
	p := planOf(t, run, graph)
	stopRun(t, cl.NomadAddr(), run)
	r := startCLI(t, "run", "-address", cl.NomadAddr(), "-run", run, "-driver", "shard", "-fail-fast", graph)

	small, big := runningAlloc(t, c, r, jobOf(p, "s000-small")), runningAlloc(t, c, r, jobOf(p, "s001-big"))
	var sumSmall, sumBig float64
	samples := 0
	deadline := time.Now().Add(6 * time.Second)
	time.Sleep(time.Second) // both warm up
	for time.Now().Before(deadline) {
		a, errA := c.Allocations().Stats(small, nil)
		b, errB := c.Allocations().Stats(big, nil)
		if errA != nil || errB != nil {
			break // one has finished
		}
		pa, pb := a.ResourceUsage.CpuStats.Percent, b.ResourceUsage.CpuStats.Percent
		if pa > 0 && pb > 0 {
			sumSmall, sumBig = sumSmall+pa, sumBig+pb
			samples++
		}
		time.Sleep(500 * time.Millisecond)
	}
	out, errOut, code := r.wait(t)
	if code != 0 {
		t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if samples < 4 {
		t.Fatalf("only %d stats samples with both shards spinning", samples)
	}
	share := sumSmall / (sumSmall + sumBig)
	t.Logf("%d samples: small %.0f%%, big %.0f%% of one core on average; small's share %.2f (shares 100:300 -> 0.25)",
		samples, sumSmall/float64(samples), sumBig/float64(samples), share)
	// Without enforcement four spinners against four would split 0.5.
	if share < 0.18 || share > 0.32 {
		t.Errorf("small got %.2f of the CPU the two used, want 0.25 +- 0.07", share)
	}
}

// runningAlloc waits until job has a running allocation and returns it;
// it fails t if run exits first.
func runningAlloc(t *testing.T, c *api.Client, r *bgRun, job string) *api.Allocation {
	t.Helper()
	id := ""
	waitUntil(t, shardWait, "a running allocation of "+job, func() (bool, string) {
		if r.exited() {
			t.Fatalf("shardwise exited early\n%s", r.output())
		}
		stubs, _, err := c.Jobs().Allocations(job, false, nil)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range stubs {
			if s.ClientStatus == api.AllocClientStatusRunning {
				id = s.ID
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d allocations, none running", len(stubs))
	})
	a, _, err := c.Allocations().Info(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestShardLimitsSurviveClientKill kills the client agent of a running
// shard with SIGKILL and restarts it; the new plugin recovers the task,
// which is still in its cgroup with its 64 MiB limit: when it then grows
// to 200 MiB the kernel kills it and the task fails with oom_killed.
func TestShardLimitsSurviveClientKill(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	c := cl.Client()
	run := runID(t)
	marker := "swmark-" + run
	graph := fixture("shard-oom-recover.hcl")
	p := planOf(t, run, graph, "-var", "marker="+marker)
	stopRun(t, cl.NomadAddr(), run)

	r := startCLI(t, "run", "-address", cl.NomadAddr(), "-run", run, "-driver", "shard", "-fail-fast", "-retries", "0",
		"-var", "marker="+marker, graph)
	pid := waitMarkerProcess(t, r, marker)
	taskDir, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd"))
	if err != nil {
		t.Fatal(err)
	}
	before := memoryCgroup(t, pid)
	if !strings.Contains(before, "/shard.") {
		t.Fatalf("task %d in memory cgroup %q, want its own", pid, before)
	}

	if err := cl.KillClient("cpu-heavy"); err != nil {
		t.Fatal(err)
	}
	if err := cl.StartClient(context.Background(), "cpu-heavy"); err != nil {
		t.Fatal(err)
	}
	allocID := ""
	waitUntil(t, shardWait, "the new plugin to recover grow", func() (bool, string) {
		stubs, _, err := c.Jobs().Allocations(jobOf(p, "s000-grow"), true, nil)
		if err != nil || len(stubs) != 1 {
			return false, "no allocation of grow"
		}
		allocID = stubs[0].ID
		for _, line := range pluginLogLines(t, cl, "cpu-heavy", "recovered task") {
			if logField(line, "alloc_id") == allocID && logField(line, "resource_limits") == "true" {
				return true, ""
			}
		}
		return false, "no recovery with resource limits logged for allocation " + allocID
	})
	if after := memoryCgroup(t, pid); after != before {
		t.Fatalf("task moved from cgroup %s to %s across the restart", before, after)
	}
	if err := os.WriteFile(filepath.Join(taskDir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := r.wait(t)
	if code != 1 {
		t.Fatalf("run exit %d, want 1 (the task OOM-killed)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	a, _, err := c.Allocations().Info(allocID, nil)
	if err != nil {
		t.Fatal(err)
	}
	term := lastTerminated(a.TaskStates["grow"])
	if term == nil || term.Details["oom_killed"] != "true" {
		t.Fatalf("Terminated event %+v, want oom_killed=true", term)
	}
	if ts := a.TaskStates["grow"]; ts.Restarts != 0 {
		t.Errorf("grow restarted %d times, want the recovered task itself killed", ts.Restarts)
	}
}

// memoryCgroup returns pid's cgroup v1 memory path.
func memoryCgroup(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\d+:memory:(.*)$`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("pid %d has no memory cgroup:\n%s", pid, b)
	}
	return m[1]
}
