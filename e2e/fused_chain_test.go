package e2e

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/translator/nomadjob"
)

// writeChain writes a graph of n chained tasks into dir: each runs the
// shell builtin `true` with a short runtime hint, so the planner fuses the
// chain into one shard, and the last echoes a marker.
func writeChain(t *testing.T, dir string, n int) string {
	t.Helper()
	var sb strings.Builder
	sb.WriteString("graph \"chain\" {\n")
	for i := range n {
		fmt.Fprintf(&sb, "  task \"s%05d\" {\n", i)
		if i == n-1 {
			sb.WriteString("    command = \"echo\"\n    args    = [\"chain\", \"done\"]\n")
		} else {
			sb.WriteString("    command = \"true\"\n")
		}
		if i > 0 {
			fmt.Fprintf(&sb, "    depends_on = [task.s%05d]\n", i-1)
		}
		sb.WriteString("    hints {\n      runtime = \"1ms\"\n    }\n  }\n")
	}
	sb.WriteString("}\n")
	path := filepath.Join(dir, "chain.hcl")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLongFusedChainRuns fuses a 20,000-task chain into one shard, whose
// script (about 800 KB) is far over Linux's 128 KiB limit for one exec
// argument, and runs it for real on the cluster with the raw_exec and
// shard drivers: the job must parse with Nomad v1.6.1 to the JSON written,
// and the shard must complete, having run its last task.
func TestLongFusedChainRuns(t *testing.T) {
	cl := cluster.Shared(t)
	nomad := agentBin(t, "nomad")
	graph := writeChain(t, t.TempDir(), 20_000)
	for _, driver := range []string{"raw_exec", "shard"} {
		t.Run(driver, func(t *testing.T) {
			run := runID(t)
			out := filepath.Join(t.TempDir(), "jobs")
			p := planOf(t, run, graph, "-driver", driver)
			if len(p.Shards) != 1 {
				t.Fatalf("chain planned as %d shards, want 1 fused shard", len(p.Shards))
			}
			stopRun(t, cl.NomadAddr(), run)
			stdout, stderr, code := cli(t, nil, "run", "-address", cl.NomadAddr(), "-run", run, "-driver", driver, "-fail-fast", "-out", out, "-out-json", graph)
			if code != 0 {
				t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			checkJobDir(t, nomad, out)
			r := shardRuns(t, cl.Client(), p)[p.Shards[0].ID]
			if r.alloc.ClientStatus != api.AllocClientStatusComplete {
				t.Fatalf("shard allocation %s", r.alloc.ClientStatus)
			}
			for task := range r.alloc.TaskStates {
				if got := allocLog(t, cl.Client(), r.alloc, task); !strings.Contains(got, "chain done") {
					t.Errorf("task %s stdout %q, want the last task's \"chain done\"", task, got)
				}
			}
			spec, err := os.ReadFile(filepath.Join(out, p.Shards[0].Job+nomadjob.HCLSuffix))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(spec), nomadjob.ScriptFile) {
				t.Errorf("job does not ship the script as %s", nomadjob.ScriptFile)
			}
		})
	}
}

// allocLog returns a task's stdout in an allocation.
func allocLog(t *testing.T, c *api.Client, a *api.Allocation, task string) string {
	t.Helper()
	rc, err := c.AllocFS().Cat(a, "alloc/logs/"+task+".stdout.0", nil)
	if err != nil {
		t.Fatalf("read %s stdout: %v", task, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s stdout: %v", task, err)
	}
	return string(b)
}
