package e2e

import (
	"bufio"
	"context"
	"io"
	"math"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/plan"
)

// storeRecords reads every record of the history store at path.
func storeRecords(t *testing.T, path string) []history.Record {
	t.Helper()
	s, err := feedback.OpenExisting(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs, err := s.Records(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// runMdAPE is the median absolute percentage error of predicted against
// actual runtime over run's successful records with a prediction, and how
// many records it covers.
func runMdAPE(recs []history.Record, run string) (float64, int) {
	var errs []float64
	for _, r := range recs {
		if r.Run == run && r.ExitCode == 0 && !r.OOMKilled && r.RuntimeSeconds > 0 && r.PredictedRuntimeSeconds > 0 {
			errs = append(errs, math.Abs(r.PredictedRuntimeSeconds-r.RuntimeSeconds)/r.RuntimeSeconds)
		}
	}
	if len(errs) == 0 {
		return math.NaN(), 0
	}
	slices.Sort(errs)
	n := len(errs)
	if n%2 == 1 {
		return errs[n/2], n
	}
	return (errs[n/2-1] + errs[n/2]) / 2, n
}

// TestClosedLoopLearnsFromHistory runs a graph twice with the feedback
// service in-process: the second plan's runtimes come from the store,
// and the second run's runtime prediction error is lower than the
// first's. The graph runs under raw_exec, whose memory and CPU Nomad
// v1.6.1 mismeasures (its executor's RSS counted, short children missed):
// its records carry neither, and the second plan keeps the defaults for
// them rather than learning the executor's ~60 MB and a 100 MHz floor.
func TestClosedLoopLearnsFromHistory(t *testing.T) {
	cl := cluster.Shared(t)
	env := []string{"NOMAD_ADDR=" + cl.NomadAddr()}
	db := filepath.Join(t.TempDir(), "history.db")
	graph := fixture("learn.hcl")
	run1, run2 := runID(t)+"a", runID(t)+"b"

	first := planOf(t, run1, graph)
	for _, s := range first.Shards {
		if s.RuntimeSeconds.Source != plan.SourceDefault {
			t.Fatalf("first plan: %s runtime from %s, want default", s.ID, s.RuntimeSeconds.Source)
		}
	}
	runLearn(t, env, run1, db, graph)

	second := planOf(t, run2, graph, "-history", db)
	for _, s := range second.Shards {
		if s.RuntimeSeconds.Source != plan.SourceHistory {
			t.Errorf("second plan: %s runtime from %q, want history", s.ID, s.RuntimeSeconds.Source)
		}
		if m, c := s.Resources.MemoryMiB, s.Resources.CPU; m.Source != plan.SourceDefault || c.Source != plan.SourceDefault {
			t.Errorf("second plan: %s memory %.0f MiB from %s, CPU %.0f MHz from %s; want both from the defaults (raw_exec records carry neither)",
				s.ID, m.Value, m.Source, c.Value, c.Source)
		}
	}
	runLearn(t, env, run2, db, graph)

	recs := storeRecords(t, db)
	for _, r := range recs {
		if r.MemoryBytes != 0 || r.CoresUsed() != 0 || r.CPUPeak != 0 || r.RuntimeSeconds <= 0 {
			t.Errorf("raw_exec record of %s: memory %d bytes, %.3f cores, CPU peak %.1f%%, runtime %.1f s; want runtime only",
				r.Task, r.MemoryBytes, r.CoresUsed(), r.CPUPeak, r.RuntimeSeconds)
		}
	}
	e1, n1 := runMdAPE(recs, run1)
	e2, n2 := runMdAPE(recs, run2)
	t.Logf("runtime MdAPE: run 1 %.1f%% over %d records, run 2 %.1f%% over %d", 100*e1, n1, 100*e2, n2)
	if n1 != 3 || n2 != 3 {
		t.Fatalf("records with predictions: %d in run 1, %d in run 2, want 3 each", n1, n2)
	}
	if !(e2 < e1) {
		t.Errorf("run 2's runtime MdAPE %.3f is not below run 1's %.3f", e2, e1)
	}
}

// runLearn runs graph as run with -feedback into db and checks that it
// completed and recorded its allocations.
func runLearn(t *testing.T, env []string, run, db, graph string) {
	t.Helper()
	out, errOut, code := cli(t, env, "run", "-run", run, "-fail-fast", "-feedback", "-history-db", db, graph)
	if code != 0 {
		t.Fatalf("run %s: exit %d\nstdout:\n%s\nstderr:\n%s", run, code, out, errOut)
	}
	if !strings.Contains(out, "History: recorded 3 allocations of run "+run) {
		t.Errorf("run %s: no history line for 3 allocations:\n%s", run, out)
	}
}

// TestRunRetriesOOMWithMoreMemory runs a task that needs about 70 MiB
// with 64 MiB under the exec driver: the kernel kills it, the launcher
// retries it with 128 MiB (twice 64) and it completes; the store records the OOM.
func TestRunRetriesOOMWithMoreMemory(t *testing.T) {
	cl := cluster.Shared(t)
	env := []string{"NOMAD_ADDR=" + cl.NomadAddr()}
	db := filepath.Join(t.TempDir(), "history.db")
	run := runID(t)
	out, errOut, code := cli(t, env, "run", "-run", run, "-fail-fast", "-retries", "1", "-feedback", "-history-db", db, fixture("oom.hcl"))
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !regexp.MustCompile(`retried s000-hog with 128 MiB memory, was 64 MiB \(allocation [0-9a-f]{8} OOM-killed on attempt 1\)`).MatchString(out) {
		t.Errorf("summary lacks the memory raise:\n%s", out)
	}
	var oom, ok int
	for _, r := range storeRecords(t, db) {
		if r.Run != run {
			continue
		}
		switch {
		case r.OOMKilled && r.MemoryLimitBytes == 64<<20:
			oom++
		case r.ExitCode == 0 && r.MemoryLimitBytes == 128<<20:
			ok++
		}
	}
	if oom != 1 || ok != 1 {
		t.Errorf("records of run %s: %d OOM-killed at 64 MiB, %d complete at 128 MiB; want 1 and 1", run, oom, ok)
	}
}

// TestRunReplansOffDrainedClass drains the memory-intensive node while
// the first shard runs: before submitting join, planned there, the run
// re-plans it onto another feasible class, says so, and completes.
func TestRunReplansOffDrainedClass(t *testing.T) {
	cl := cluster.Shared(t)
	c := cl.Client()
	node := cl.Nodes()["memory-intensive"]
	t.Cleanup(func() { undrain(t, c, node) })
	db := filepath.Join(t.TempDir(), "history.db")
	run := runID(t)
	graph := fixture("replan.hcl")
	p := planOf(t, run, graph)
	if p.Shards[1].ID != "s001-join" || p.Shards[1].Class != "memory-intensive" {
		t.Fatalf("plan puts %s on %s, want s001-join on memory-intensive", p.Shards[1].ID, p.Shards[1].Class)
	}

	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, shardwiseBin, "run", "-run", run, "-fail-fast", "-feedback", "-history-db", db, graph)
	cmd.Dir = repoRoot
	cmd.Env = append(cmd.Environ(), "NOMAD_ADDR="+cl.NomadAddr())
	var errOut strings.Builder
	cmd.Stderr = &errOut
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := drainWhenRunning(t, c, node, stdout, "s000-load  running")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, out, &errOut)
	}
	m := regexp.MustCompile(`re-planned s001-join: memory-intensive -> (\S+) \(no ready node in memory-intensive\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("summary lacks the re-plan of s001-join:\n%s", out)
	}
	runs := shardRuns(t, c, p)
	if got := runs["s001-join"].node.NodeClass; got != m[1] {
		t.Errorf("s001-join ran on a %s node, want %s, the class it was re-planned to", got, m[1])
	}
}

// drainWhenRunning copies r until a line contains marker, then drains
// node, and returns everything r gave until EOF.
func drainWhenRunning(t *testing.T, c *api.Client, node string, r io.Reader, marker string) string {
	t.Helper()
	var out strings.Builder
	sc := bufio.NewScanner(r)
	drained := false
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if !drained && strings.Contains(line, marker) {
			spec := &api.DrainSpec{Deadline: 10 * time.Second, IgnoreSystemJobs: true}
			if _, err := c.Nodes().UpdateDrain(node, spec, false, nil); err != nil {
				t.Errorf("drain node %s: %v", node, err)
			}
			drained = true
		}
	}
	if !drained {
		t.Errorf("the run never printed %q", marker)
	}
	return out.String()
}

// undrain cancels the drain of node and waits, on blocking queries,
// until it is eligible again, so that the shared cluster is left as it
// was.
func undrain(t *testing.T, c *api.Client, node string) {
	t.Helper()
	if _, err := c.Nodes().UpdateDrain(node, nil, true, nil); err != nil {
		t.Errorf("undrain node %s: %v", node, err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var index uint64
	for {
		n, meta, err := c.Nodes().Info(node, (&api.QueryOptions{WaitIndex: index, WaitTime: 5 * time.Second}).WithContext(ctx))
		if err != nil {
			t.Errorf("node %s: %v", node, err)
			return
		}
		if n.SchedulingEligibility == api.NodeSchedulingEligible && n.DrainStrategy == nil {
			return
		}
		index = meta.LastIndex
	}
}
