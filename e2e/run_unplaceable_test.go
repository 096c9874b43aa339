package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/e2e/cluster"
)

// TestRunUnplaceableShard runs a chain whose middle shard asks for more
// memory (600 GiB) than any node of its class has: the catalog given with
// -catalog overstates the class's instances (1 TiB against the node's
// 256 GiB), as a stale catalog would. Nomad answers its
// evaluation with a placement failure and a blocked evaluation; as no node
// could ever fit it, `shardwise run` must fail the shard within seconds
// with the reason, stop the run and never submit the downstream shard,
// instead of waiting for capacity that will never come.
func TestRunUnplaceableShard(t *testing.T) {
	cl := cluster.Shared(t)
	c := cl.Client()
	run := runID(t)
	graph := fixture("unplaceable.hcl")
	catalogFlag := []string{"-catalog", fixture("oversized-catalog.hcl")}
	p := planOf(t, run, graph, catalogFlag...)
	stopRun(t, cl.NomadAddr(), run)
	start := time.Now()
	args := append([]string{"run", "-address", cl.NomadAddr(), "-run", run, "-fail-fast", "-retries", "1"}, catalogFlag...)
	out, errOut, code := cli(t, nil, append(args, graph)...)
	took := time.Since(start)
	if code != 1 {
		t.Fatalf("run exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if took > time.Minute {
		t.Errorf("run took %s to give up on a shard no node can fit", took.Round(time.Second))
	}
	for _, want := range []string{
		"Shard s001-convert", "can never be placed", "no node of class memory-intensive",
		"614400 MiB memory", "nodes exhausted memory", "Error: shard s001-convert",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(out, "s002-publish") || !strings.Contains(out, "skipped") {
		t.Errorf("summary does not show publish skipped:\n%s", out)
	}
	// Registered once: retrying cannot place it either; and stopped.
	j, _, err := c.Jobs().Info(jobOf(p, "s001-convert"), nil)
	if err != nil {
		t.Fatalf("unplaceable job: %v", err)
	}
	if got := j.Meta["shardwise_attempt"]; got != "" && got != "1" {
		t.Errorf("unplaceable job's shardwise_attempt = %q, want one attempt", got)
	}
	if j.Stop == nil || !*j.Stop {
		t.Errorf("unplaceable job %s was not stopped", *j.ID)
	}
	if _, _, err := c.Jobs().Info(jobOf(p, "s002-publish"), nil); err == nil {
		t.Errorf("downstream job %s was registered", jobOf(p, "s002-publish"))
	}
}

// TestRunTooManyCores runs examples/video-transcode as it is: its
// transcode pieces reserve 4 cores and every node of the shared cluster
// has 2. Nomad reports the nodes as exhausted (not filtered), so only the
// launcher's comparison with the nodes' reservable cores can tell that
// the wait would be forever: the run must fail within seconds naming the
// cores, not hang in Nomad's queue.
func TestRunTooManyCores(t *testing.T) {
	cl := cluster.Shared(t)
	run := runID(t)
	graph := filepath.Join(repoRoot, "examples", "video-transcode", "graph.hcl")
	stopRun(t, cl.NomadAddr(), run)
	start := time.Now()
	out, errOut, code := cli(t, nil, "run", "-address", cl.NomadAddr(), "-run", run, "-fail-fast", graph)
	took := time.Since(start)
	if code != 1 {
		t.Fatalf("run exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if took > time.Minute {
		t.Errorf("run took %s to give up on shards no node can fit", took.Round(time.Second))
	}
	for _, want := range []string{"can never be placed", "asks for 4 reserved cores", "at most 2)"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}
