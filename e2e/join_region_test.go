package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
)

// regionGraph is a join region in small (planner/plan/region.go): a (10 s
// by its hint) feeds p and j, p (1 ms) feeds only j, so the planner runs
// p and j in one allocation, which is neither a chain (j also waits for
// a, in another allocation) nor a batch of siblings. a's output reaches
// both p and j (two channels into the region at one path, the default
// input path, delivered once); p's output reaches j inside the
// allocation, at j's input path (the script links it).
const regionGraph = `graph "region" {
  task "a" {
    command = "/bin/sh"
    args    = ["-c", "mkdir -p out && echo from-a > out/x"]
    output "x" {
      size = "7B"
    }
    hints {
      runtime = "10s"
    }
  }
  task "p" {
    command = "/bin/sh"
    args    = ["-c", "mkdir -p out && echo p-read-$(cat in/a-x) > out/y"]
    input {
      from = task.a.output.x
    }
    output "y" {
      size = "16B"
    }
    hints {
      runtime = "1ms"
    }
  }
  task "j" {
    command = "/bin/sh"
    args    = ["-c", "echo region got $(cat in/a-x) $(cat in/p-y)"]
    input {
      from = task.a.output.x
    }
    input {
      from = task.p.output.y
    }
    hints {
      runtime = "1ms"
    }
  }
}
`

// TestJoinRegionRuns plans regionGraph and runs it on the cluster with
// the shard driver: the plan has two shards, a and the region [p j]
// waiting for a's; both allocations complete and j prints a's output and
// p's (which read a's), so the launcher, the job builder and the driver deliver the
// region's inputs and run its tasks in the plan's order in one
// allocation.
func TestJoinRegionRuns(t *testing.T) {
	cl := cluster.Shared(t)
	dir := t.TempDir()
	graph := filepath.Join(dir, "region.hcl")
	if err := os.WriteFile(graph, []byte(regionGraph), 0o644); err != nil {
		t.Fatal(err)
	}
	run := runID(t)
	p := planOf(t, run, graph, "-driver", "shard")
	if len(p.Shards) != 2 {
		t.Fatalf("planned %d shards, want 2 (a; the region p, j)", len(p.Shards))
	}
	region := p.Shards[1]
	if !slices.Equal(region.Tasks, []string{"p", "j"}) || !slices.Equal(region.Upstream, []string{p.Shards[0].ID}) {
		t.Fatalf("shard %s runs %v after %v; want [p j] after [%s]", region.ID, region.Tasks, region.Upstream, p.Shards[0].ID)
	}
	stopRun(t, cl.NomadAddr(), run)
	stdout, stderr, code := cli(t, nil, "run", "-address", cl.NomadAddr(), "-run", run, "-driver", "shard", "-fail-fast", "-out", filepath.Join(dir, "jobs"), graph)
	if code != 0 {
		t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	runs := shardRuns(t, cl.Client(), p)
	for _, s := range p.Shards {
		if r := runs[s.ID]; r.alloc.ClientStatus != api.AllocClientStatusComplete {
			t.Fatalf("shard %s allocation %s", s.ID, r.alloc.ClientStatus)
		}
	}
	r := runs[region.ID]
	if a := runs[p.Shards[0].ID]; r.start.Before(a.finish) {
		t.Errorf("region started %v, before a's shard finished %v", r.start, a.finish)
	}
	for task := range r.alloc.TaskStates {
		if got := allocLog(t, cl.Client(), r.alloc, task); !strings.Contains(got, "region got from-a p-read-from-a") {
			t.Errorf("task %s stdout %q, want j's \"region got from-a p-read-from-a\"", task, got)
		}
	}
}
