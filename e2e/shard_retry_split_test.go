package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
)

// TestShardRetriedConsumerGetsInput: a consumer that reads its input and
// exits 3 is retried by `shardwise run` in a new allocation; the retry
// gets the same bytes (the first attempt consumed the channel), and the
// run ends failed with exit 3 on every attempt instead of waiting for its
// upstream forever.
func TestShardRetriedConsumerGetsInput(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	c := cl.Client()
	run := runID(t)
	marker := "swretry-" + run
	graph := fixture("shard-retry-consumer.hcl")
	p := planOf(t, run, graph, "-no-fusion", "-var", "marker="+marker)
	stopRun(t, cl.NomadAddr(), run)

	// -fail-fast: no Nomad restarts or reschedules, so each attempt is one
	// allocation and the run is short; -retries 1 (the default) registers
	// the consumer's job once more.
	out, errOut, code := cli(t, nil, "run", "-address", cl.NomadAddr(), "-run", run, "-driver", "shard", "-no-fusion",
		"-fail-fast", "-var", "marker="+marker, graph)
	if code != 1 {
		t.Fatalf("run exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	want := marker + "\n"
	for i := 1; i <= 2000; i++ {
		want += fmt.Sprintf("%d\n", i)
	}
	stubs, _, err := c.Jobs().Allocations(jobOf(p, "s001-use"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(stubs) < 2 {
		t.Fatalf("use ran %d allocations, want the first and the retry's\nstderr:\n%s", len(stubs), errOut)
	}
	for _, s := range stubs {
		a, _, err := c.Allocations().Info(s.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		ts := a.TaskStates["use"]
		exit := -1
		if ts != nil {
			for _, ev := range ts.Events {
				if ev.Type == api.TaskTerminated {
					exit = ev.ExitCode
				}
			}
		}
		if exit != 3 {
			t.Errorf("allocation %s: exit %d, want 3; events %+v", a.ID, exit, ts)
			continue
		}
		if got := taskStdout(t, c, a, "use"); got != want {
			t.Errorf("allocation %s read %d bytes, want gen's %d", a.ID, len(got), len(want))
		}
	}
}

// TestShardSplitPiecesReachConsumer runs examples/ml-pipeline with the
// shard driver: each features piece reaches train as its own file,
// in/features/<piece index>, and the run completes.
func TestShardSplitPiecesReachConsumer(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	c := cl.Client()
	run := runID(t)
	graph := filepath.Join(repoRoot, "examples", "ml-pipeline", "graph.hcl")
	vars := []string{"-var", "shards=4", "-var", "dataset_mib=8"}
	p := planOf(t, run, graph, vars...)
	stopRun(t, cl.NomadAddr(), run)
	args := append([]string{"run", "-address", cl.NomadAddr(), "-run", run, "-driver", "shard"}, vars...)
	out, errOut, code := cli(t, nil, append(args, graph)...)
	if code != 0 {
		t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	var train string
	pieces := 0
	for _, s := range p.Shards {
		if strings.HasSuffix(s.ID, "-train") {
			train = s.ID
		}
		if s.Split != nil && s.Split.Task == "features" {
			pieces++
		}
	}
	if train == "" || pieces < 2 {
		t.Fatalf("plan has train %q and %d features pieces", train, pieces)
	}
	stubs, _, err := c.Jobs().Allocations(jobOf(p, train), true, nil)
	if err != nil || len(stubs) == 0 {
		t.Fatalf("train allocations %v, %v", stubs, err)
	}
	a, _, err := c.Allocations().Info(stubs[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < pieces; i++ {
		// Every piece writes 2 MiB of zeros (dd in the example).
		if got := allocFile(t, c, a, fmt.Sprintf("train/in/features/%d", i)); len(got) != 2<<20 {
			t.Errorf("train/in/features/%d: %d bytes, want 2 MiB", i, len(got))
		}
	}
}
