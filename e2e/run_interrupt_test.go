package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/shardwise/shardwise/e2e/cluster"
)

// TestRunInterrupted sends SIGINT (Ctrl-C) to `shardwise run` once its
// first shard runs: the run exits 1 saying it was interrupted, the running
// job is stopped but kept in Nomad (not purged), and the downstream job is
// never registered.
func TestRunInterrupted(t *testing.T) {
	cl := cluster.Shared(t)
	c := cl.Client()
	run := runID(t)
	graph := fixture("interrupt.hcl")
	p := planOf(t, run, graph)
	stopRun(t, cl.NomadAddr(), run)

	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, shardwiseBin, "run", "-address", cl.NomadAddr(), "-run", run, graph)
	cmd.Dir = repoRoot
	cmd.Env = os.Environ()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "s000-wait  running") {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(out)
	seen.Write(rest)
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1\nstdout:\n%s\nstderr:\n%s", err, seen.String(), stderr.String())
	}
	for _, want := range []string{"Error: run " + run + " interrupted", "kept in Nomad for inspection"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	j, _, err := c.Jobs().Info(jobOf(p, "s000-wait"), nil)
	if err != nil {
		t.Fatalf("stopped job is gone (purged?): %v", err)
	}
	if j.Stop == nil || !*j.Stop {
		t.Errorf("job %s not stopped", *j.ID)
	}
	if _, _, err := c.Jobs().Info(jobOf(p, "s001-after"), nil); err == nil {
		t.Errorf("downstream job %s was registered", jobOf(p, "s001-after"))
	}
}

// runUntil starts `shardwise run -address ADDR -run run graph` and reads
// its stdout until a line holds marker; wait reads the rest and waits for
// the exit, returning stdout, stderr and the exit status.
func runUntil(t *testing.T, addr, run, graph, marker string) (wait func() (string, string, int)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	cmd := exec.CommandContext(ctx, shardwiseBin, "run", "-address", addr, "-run", run, graph)
	cmd.Dir = repoRoot
	cmd.Env = os.Environ()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	var seen strings.Builder
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), marker) {
			break
		}
	}
	return func() (string, string, int) {
		defer cancel()
		rest, _ := io.ReadAll(out)
		seen.Write(rest)
		err := cmd.Wait()
		if ctx.Err() != nil {
			t.Fatalf("shardwise run %s: timed out after %s\nstdout:\n%s\nstderr:\n%s", run, runTimeout, seen.String(), stderr.String())
		}
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return seen.String(), stderr.String(), code
	}
}

// TestRunStoppedFromAnotherShell: `shardwise stop RUN` from another shell
// while `shardwise run` drives the run ends the run as stopped. The
// launcher sees its job's stop before its next write of the run's state
// would tell it the run was stopped; it used to report the shard failed
// ("failed: the job was stopped outside this run"). Now its shards are
// stopped and its error says the run was stopped with 'shardwise stop'.
func TestRunStoppedFromAnotherShell(t *testing.T) {
	cl := cluster.Shared(t)
	run := runID(t)
	stopRun(t, cl.NomadAddr(), run)
	wait := runUntil(t, cl.NomadAddr(), run, fixture("interrupt.hcl"), "s000-wait  running")
	if _, errOut, code := cli(t, nil, "stop", "-address", cl.NomadAddr(), run); code != 0 {
		t.Fatalf("shardwise stop %s: exit %d: %s", run, code, errOut)
	}
	stdout, stderr, code := wait()
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if want := "stopped with 'shardwise stop'"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	for _, bad := range []string{"failed", "stopped outside this run"} {
		if strings.Contains(stderr, bad) || strings.Contains(stdout, bad) {
			t.Errorf("output says %q of a run stopped with 'shardwise stop':\nstdout:\n%s\nstderr:\n%s", bad, stdout, stderr)
		}
	}
	if !strings.Contains(stdout, "s000-wait  stopped") {
		t.Errorf("stdout does not show s000-wait stopped:\n%s", stdout)
	}
}

// TestRunEndsWhenPurgedOutside: Nomad publishes no event when a job is
// purged, only its allocations being stopped. A job of the run purged
// by hand (`nomad job stop -purge`) fails the run, and 'shardwise stop
// -purge RUN' from another shell ends its launcher. Before, the killed
// allocation of a purged job counted as complete (the downstream shard
// ran and the run "completed"), and once that was fixed the launcher
// waited for ever, warning every 10 s that it could not write the run's
// progress.
func TestRunEndsWhenPurgedOutside(t *testing.T) {
	cl := cluster.Shared(t)
	c := cl.Client()
	graph := fixture("interrupt.hcl")

	run := runID(t)
	stopRun(t, cl.NomadAddr(), run)
	p := planOf(t, run, graph)
	wait := runUntil(t, cl.NomadAddr(), run, graph, "s000-wait  running")
	if _, _, err := c.Jobs().Deregister(jobOf(p, "s000-wait"), true, nil); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := wait()
	if want := "the job was purged from Nomad outside this run"; code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("job purged by hand: exit %d, want 1 with %q\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
	}
	if _, _, err := c.Jobs().Info(jobOf(p, "s001-after"), nil); err == nil {
		t.Errorf("downstream job %s was registered", jobOf(p, "s001-after"))
	}

	run = runID(t) + "-p"
	stopRun(t, cl.NomadAddr(), run)
	wait = runUntil(t, cl.NomadAddr(), run, graph, "s000-wait  running")
	if _, errOut, code := cli(t, nil, "stop", "-address", cl.NomadAddr(), "-purge", run); code != 0 {
		t.Fatalf("shardwise stop -purge %s: exit %d: %s", run, code, errOut)
	}
	stdout, stderr, code = wait()
	// stop -purge marks the run stopped, then removes its jobs and state:
	// the launcher reads one or the other, as its events and reads fall.
	ended := strings.Contains(stderr, "its stored state was removed from Nomad") ||
		strings.Contains(stderr, "run has ended (stopped: stopped with 'shardwise stop')")
	if code != 1 || !ended {
		t.Errorf("stop -purge: exit %d, want 1 saying the run ended (stopped or its state removed)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if strings.Contains(stderr, "could not write the run's progress") {
		t.Errorf("the launcher kept writing a purged run's progress:\n%s", stderr)
	}
}
