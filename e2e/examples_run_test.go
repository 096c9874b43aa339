package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/e2e/cluster"
)

// TestExamplesRunOnCluster runs every hand-written example with
// `shardwise run` on the real cluster, as the README tells users to, and
// checks through the Nomad API that each shard ran on a node of its
// planned class. Split tasks, fused chains, the GPU device and the service
// shard are all exercised here with the jobs users get.
func TestExamplesRunOnCluster(t *testing.T) {
	cl := cluster.Shared(t)
	examples := []struct {
		name string
		// vars fit the example to this small test cluster, whose hosts
		// have two cores: whole-core reservations above that never place.
		vars []string
	}{
		{"nightly-etl", nil},
		{"ml-pipeline", nil},
		{"video-transcode", []string{"-var", "transcode_cores=1"}},
	}
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			graph := filepath.Join(repoRoot, "examples", ex.name, "graph.hcl")
			run := runID(t)
			p := planOf(t, run, graph, ex.vars...)
			stopRun(t, cl.NomadAddr(), run)
			args := append([]string{"run", "-address", cl.NomadAddr(), "-run", run}, ex.vars...)
			out, errOut, code := cli(t, nil, append(args, graph)...)
			if code != 0 {
				t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if !strings.Contains(out, "complete") {
				t.Errorf("summary does not report completion:\n%s", out)
			}
			runs := shardRuns(t, cl.Client(), p)
			for _, s := range p.Shards {
				if got := runs[s.ID].node.NodeClass; got != s.Class {
					t.Errorf("shard %s ran on node class %q, planned %q", s.ID, got, s.Class)
				}
			}
		})
	}
}
