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

// TestRunStoppedFromAnotherShell: `shardwise stop RUN` from another shell
// while `shardwise run` drives the run ends the run as stopped. The
// launcher sees its job's stop before its next write of the run's state
// would tell it the run was stopped; it used to report the shard failed
// ("failed: the job was stopped outside this run"). Now its shards are
// stopped and its error says the run was stopped with 'shardwise stop'.
func TestRunStoppedFromAnotherShell(t *testing.T) {
	cl := cluster.Shared(t)
	run := runID(t)
	graph := fixture("interrupt.hcl")
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
	if _, errOut, code := cli(t, nil, "stop", "-address", cl.NomadAddr(), run); code != 0 {
		t.Fatalf("shardwise stop %s: exit %d: %s", run, code, errOut)
	}
	rest, _ := io.ReadAll(out)
	seen.Write(rest)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1\nstdout:\n%s\nstderr:\n%s", err, seen.String(), stderr.String())
	}
	if want := "stopped with 'shardwise stop'"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
	for _, bad := range []string{"failed", "stopped outside this run"} {
		if strings.Contains(stderr.String(), bad) || strings.Contains(seen.String(), bad) {
			t.Errorf("output says %q of a run stopped with 'shardwise stop':\nstdout:\n%s\nstderr:\n%s", bad, seen.String(), stderr.String())
		}
	}
	if !strings.Contains(seen.String(), "s000-wait  stopped") {
		t.Errorf("stdout does not show s000-wait stopped:\n%s", seen.String())
	}
}
