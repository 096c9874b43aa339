package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/launcher"
)

// launcherPids returns the processes of run's launcher job: shardwise
// with "-resume RUN -as-job" on its command line.
func launcherPids(run string) []int {
	entries, _ := os.ReadDir("/proc")
	want := []byte("\x00-resume\x00" + run + "\x00-as-job\x00")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, want) {
			out = append(out, pid)
		}
	}
	return out
}

// runningLauncherAlloc returns job's running allocation, if any.
func runningLauncherAlloc(c *api.Client, job string) *api.AllocationListStub {
	stubs, _, err := c.Jobs().Allocations(job, false, nil)
	if err != nil {
		return nil
	}
	for _, a := range stubs {
		if a.ClientStatus == api.AllocClientStatusRunning && a.DesiredStatus == api.AllocDesiredStatusRun {
			return a
		}
	}
	return nil
}

// TestDetachedRun runs the resume fixture with `run -detach`: the
// launcher is a Nomad job. Its process is killed with SIGKILL while the
// first shard runs; Nomad restarts it, and the restarted launcher holds
// the run again at once (its lease is its allocation's). Then the node
// running the launcher is drained; Nomad moves the launcher to another
// node, which resumes the run. The graph completes, with every job
// registered as often as in a run without either.
func TestDetachedRun(t *testing.T) {
	cl := cluster.Shared(t)
	c := cl.Client()
	addr := cl.NomadAddr()
	run := runID(t)
	dir := t.TempDir()
	stopRun(t, addr, run)
	graph := fixture("resume.hcl")
	p := planOf(t, run, graph, "-var", "dir="+dir)
	ljob := launcher.LauncherJobID(p.Graph, run)
	out, errOut, code := cli(t, nil, "run", "-address", addr, "-detach", "-run", run, "-var", "dir="+dir,
		"-fail-fast", "-retries", "1", "-lease-ttl", "3s", "-launcher-command", shardwiseBin, graph)
	if code != 0 || !strings.Contains(out, ljob) {
		t.Fatalf("run -detach: exit %d, want 0 naming %s\n%s\n%s", code, ljob, out, errOut)
	}

	// 1. kill -9 the launcher's process while shard a runs.
	waitUntil(t, time.Minute, "shard a to start", func() (bool, string) {
		_, err := os.Stat(filepath.Join(dir, "a.runs"))
		return err == nil && len(launcherPids(run)) == 1, fmt.Sprint(err)
	})
	pid := launcherPids(run)[0]
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	waitUntil(t, time.Minute, "Nomad to restart the launcher and it to hold the run", func() (bool, string) {
		pids := launcherPids(run)
		if len(pids) != 1 || pids[0] == pid {
			return false, fmt.Sprintf("launcher processes %v", pids)
		}
		st, _, _ := cli(t, nil, "status", "-address", addr, run)
		return strings.Contains(st, "driven by launcher job "+ljob), st
	})
	t.Logf("kill -9 of the launcher: Nomad restarted it and it held the run again %s later", time.Since(killed).Round(10*time.Millisecond))

	// 2. drain the launcher's node: Nomad moves the launcher.
	var a *api.AllocationListStub
	waitUntil(t, 30*time.Second, "the launcher's allocation to run", func() (bool, string) {
		a = runningLauncherAlloc(c, ljob)
		return a != nil, "no running launcher allocation"
	})
	node := a.NodeID
	t.Cleanup(func() { undrain(t, c, node) })
	drained := time.Now()
	spec := &api.DrainSpec{Deadline: time.Second, IgnoreSystemJobs: true}
	if _, err := c.Nodes().UpdateDrain(node, spec, false, nil); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if b := runningLauncherAlloc(c, ljob); b != nil && b.NodeID != node {
			st, _, _ := cli(t, nil, "status", "-address", addr, run)
			if strings.Contains(st, "driven by launcher job "+ljob+", allocation "+b.ID[:8]) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the launcher did not move off the drained node and hold the run in a minute:%s", allocsText(c, ljob))
		}
	}
	t.Logf("drain: the moved launcher held the run again %s after the drain", time.Since(drained).Round(10*time.Millisecond))
	undrain(t, c, node) // shards pinned to the drained node's class wait for it

	var st string
	waitUntil(t, 2*time.Minute, "the run to complete", func() (bool, string) {
		var code int
		st, _, code = cli(t, nil, "status", "-address", addr, run)
		return code == 0 && strings.Contains(st, "): complete"), st
	})
	t.Logf("status:\n%s", st)
	checkRegistrations(t, c, p)
	runs := resumeRuns(t, dir)
	for task, n := range runs {
		if n == 0 {
			t.Errorf("task %s never ran (%v)", task, runs)
		}
	}
	t.Logf("task runs %v (a shard on the drained node is migrated by Nomad)", runs)
	waitUntil(t, 30*time.Second, "status to show the launcher job dead after the run", func() (bool, string) {
		st, _, _ := cli(t, nil, "status", "-address", addr, run)
		return strings.Contains(st, "Launcher job: "+ljob+" (dead"), st
	})
}

// allocsText describes job's allocations and evaluations, for a failure.
func allocsText(c *api.Client, job string) string {
	var sb strings.Builder
	stubs, _, _ := c.Jobs().Allocations(job, true, nil)
	for _, a := range stubs {
		fmt.Fprintf(&sb, "\n  alloc %s node %s client %s desired %s (%s)", a.ID[:8], a.NodeName, a.ClientStatus, a.DesiredStatus, a.DesiredDescription)
		full, _, err := c.Allocations().Info(a.ID, nil)
		if err != nil {
			continue
		}
		for _, f := range []string{"alloc/logs/launcher.stderr.0", "alloc/logs/launcher.stdout.0"} {
			if r, err := c.AllocFS().Cat(full, f, nil); err == nil {
				b, _ := io.ReadAll(r)
				r.Close()
				fmt.Fprintf(&sb, "\n  --- %s:\n%s", f, b)
			}
		}
	}
	evals, _, _ := c.Jobs().Evaluations(job, nil)
	for _, e := range evals {
		fmt.Fprintf(&sb, "\n  eval %s %s %s %s blocked=%s failed=%d", e.ID[:8], e.TriggeredBy, e.Status, e.StatusDescription, e.BlockedEval, len(e.FailedTGAllocs))
		for tg, m := range e.FailedTGAllocs {
			fmt.Fprintf(&sb, " %s: %+v", tg, m.ConstraintFiltered)
		}
	}
	return sb.String()
}

// TestDetachedRunShowsLauncherFailure: a detached run whose launcher
// command does not exist on the client is registered (Nomad only finds out
// on the client), and `status` then says why its launcher allocations
// fail instead of only counting them.
func TestDetachedRunShowsLauncherFailure(t *testing.T) {
	cl := cluster.Shared(t)
	addr := cl.NomadAddr()
	run := runID(t)
	stopRun(t, addr, run)
	graph := fixture("resume.hcl")
	out, errOut, code := cli(t, nil, "run", "-address", addr, "-detach", "-run", run, "-var", "dir="+t.TempDir(),
		"-launcher-command", "/no/such/shardwise", graph)
	if code != 0 {
		t.Fatalf("run -detach: exit %d\n%s\n%s", code, out, errOut)
	}
	defer cli(t, nil, "stop", "-address", addr, "-purge", run)
	waitUntil(t, time.Minute, "status to show the launcher's failure", func() (bool, string) {
		st, _, _ := cli(t, nil, "status", "-address", addr, run)
		return strings.Contains(st, "Launcher's last failure: task ") && strings.Contains(st, "/no/such/shardwise"), st
	})
}
