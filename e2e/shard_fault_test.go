package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
)

// TestShardRunSurvivesClientKill kills the client agent of a running
// shard with SIGKILL and restarts it while `shardwise run -driver shard`
// follows the run: the new plugin recovers the task from its handle (same
// process, never started twice, no restart), the task publishes its
// output after it exits, and the downstream shard receives it.
func TestShardRunSurvivesClientKill(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	c := cl.Client()
	run := runID(t)
	marker := "swmark-" + run
	graph := fixture("shard-client-kill.hcl")
	p := planOf(t, run, graph, "-var", "marker="+marker)
	stopRun(t, cl.NomadAddr(), run)

	r := startCLI(t, "run", "-address", cl.NomadAddr(), "-run", run, "-driver", "shard", "-var", "marker="+marker, graph)
	pid := waitMarkerProcess(t, r, marker)
	taskDir, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd"))
	if err != nil {
		t.Fatal(err)
	}
	before := cl.ShardPluginPids("cpu-heavy")
	if len(before) != 1 {
		t.Fatalf("cpu-heavy runs shard plugins %v, want one", before)
	}

	if err := cl.KillClient("cpu-heavy"); err != nil {
		t.Fatal(err)
	}
	if err := cl.StartClient(context.Background(), "cpu-heavy"); err != nil {
		t.Fatal(err)
	}
	after := cl.ShardPluginPids("cpu-heavy")
	if len(after) != 1 || after[0] == before[0] {
		t.Errorf("shard plugins after the restart %v (before %v), want one new", after, before)
	}
	// The restarted client's plugin recovers the task (it logs so: the
	// client drops the recovery task event, see docs/driver.md); there is
	// still exactly one process, the same one.
	holdAlloc := ""
	waitUntil(t, shardWait, "the new plugin to recover hold", func() (bool, string) {
		stubs, _, err := c.Jobs().Allocations(jobOf(p, "s000-hold"), true, nil)
		if err != nil || len(stubs) != 1 {
			return false, "no allocation of hold"
		}
		holdAlloc = stubs[0].ID
		for _, line := range pluginLogLines(t, cl, "cpu-heavy", "recovered task") {
			if logField(line, "alloc_id") == holdAlloc && logField(line, "command_launched") == "true" {
				return true, ""
			}
		}
		return false, "no recovery logged for allocation " + holdAlloc
	})
	if pids := markerPids(marker); len(pids) != 1 || pids[0] != pid {
		t.Fatalf("task processes after the client restart %v, want only the original %d", pids, pid)
	}
	if err := os.WriteFile(filepath.Join(taskDir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := r.wait(t)
	if code != 0 || !strings.Contains(out, "2/2 complete") {
		t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	runs := shardRuns(t, c, p)
	hold := runs["s000-hold"].alloc
	if ts := hold.TaskStates["hold"]; ts == nil || ts.Restarts != 0 || ts.Failed {
		t.Errorf("hold task state %+v, want no restart and no failure", ts)
	}
	checkEvents(t, hold, "outputs published")
	// What hold writes is known (seq 1 100000), so the bytes check
	// received are compared with it, not with hold's own log line: that
	// line goes through Nomad's logmon across the client's SIGKILL and
	// restart, and once in a CI run its log file was missing afterwards.
	want := seqSHA256(100000)
	got, _ := checksumLine(t, taskStdout(t, c, runs["s001-check"].alloc, "check"), "check")
	if got != want {
		t.Errorf("check received sha256 %s, want %s (seq 1 100000, what hold wrote)", got, want)
	}
	if pids := markerPids(marker); len(pids) != 0 {
		t.Errorf("task processes left after the run: %v", pids)
	}
}

// TestShardRunReportsKilledTask kills a running shard's command with
// SIGKILL: the shard driver fails the task with signal 9 (exit code 137),
// and `shardwise run -fail-fast -retries 0` exits 1 naming the shard,
// with the task's events; the downstream shard is never registered.
func TestShardRunReportsKilledTask(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	c := cl.Client()
	run := runID(t)
	marker := "swmark-" + run
	graph := fixture("shard-task-kill.hcl")
	p := planOf(t, run, graph, "-var", "marker="+marker)
	stopRun(t, cl.NomadAddr(), run)

	r := startCLI(t, "run", "-address", cl.NomadAddr(), "-run", run, "-driver", "shard", "-fail-fast", "-retries", "0",
		"-var", "marker="+marker, graph)
	pid := waitMarkerProcess(t, r, marker)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := r.wait(t)
	if code != 1 {
		t.Fatalf("run exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"Shard s000-victim", "Task events:", "Exit Code: 137", "Signal: 9", "Error: shard s000-victim"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(out, "s001-after") || !strings.Contains(out, "skipped") {
		t.Errorf("summary does not show after skipped:\n%s", out)
	}
	stubs, _, err := c.Jobs().Allocations(jobOf(p, "s000-victim"), true, nil)
	if err != nil || len(stubs) != 1 {
		t.Fatalf("victim allocations %v, %v", stubs, err)
	}
	a, _, err := c.Allocations().Info(stubs[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := a.TaskStates["victim"]
	if a.ClientStatus != api.AllocClientStatusFailed || ts == nil || !ts.Failed {
		t.Fatalf("victim allocation %s, task %+v", a.ClientStatus, ts)
	}
	var signal int
	for _, ev := range ts.Events {
		if ev.Type == api.TaskTerminated {
			signal = ev.Signal
		}
	}
	if signal != int(syscall.SIGKILL) {
		t.Errorf("victim terminated with signal %d, want 9; events %+v", signal, ts.Events)
	}
	if _, _, err := c.Jobs().Info(jobOf(p, "s001-after"), nil); err == nil {
		t.Errorf("downstream job %s was registered", jobOf(p, "s001-after"))
	}
}

// seqSHA256 returns the hex SHA-256 of what `seq 1 n` prints.
func seqSHA256(n int) string {
	h := sha256.New()
	for i := 1; i <= n; i++ {
		fmt.Fprintf(h, "%d\n", i)
	}
	return hex.EncodeToString(h.Sum(nil))
}
