package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/nomad/api"
)

// TestJobsParseWithRealNomad plans every example (and an imported trace),
// writes the Nomad jobs, and runs the real Nomad v1.6.1 parser on each HCL
// file (`nomad job run -output`, which needs no server). The job Nomad
// parses must equal the JSON payload the translator wrote.
func TestJobsParseWithRealNomad(t *testing.T) {
	nomad := agentBin(t, "nomad")
	graphs, _ := filepath.Glob(filepath.Join(repoRoot, "examples", "*", "graph.hcl"))
	if len(graphs) < 3 {
		t.Fatalf("found %d examples, want at least 3", len(graphs))
	}
	for _, gf := range graphs {
		name := filepath.Base(filepath.Dir(gf))
		for _, driver := range []string{"raw_exec", "shard"} {
			t.Run(name+"/"+driver, func(t *testing.T) {
				t.Parallel()
				out := filepath.Join(t.TempDir(), "jobs")
				if _, errOut, code := shardwise(t, "plan", "-run", "p1", "-driver", driver, "-out", out, "-out-json", gf); code != 0 {
					t.Fatalf("plan exit %d: %s", code, errOut)
				}
				checkJobDir(t, nomad, out)
			})
		}
	}
}

func checkJobDir(t *testing.T, nomad, dir string) {
	t.Helper()
	specs, _ := filepath.Glob(filepath.Join(dir, "*.nomad.hcl"))
	if len(specs) == 0 {
		t.Fatalf("no job specs written to %s", dir)
	}
	for _, spec := range specs {
		parsed := nomadParse(t, nomad, spec)
		wrote := readPayload(t, strings.TrimSuffix(spec, ".nomad.hcl")+".json")
		parsed.Canonicalize()
		wrote.Canonicalize()
		if diff := cmp.Diff(wrote, parsed); diff != "" {
			t.Errorf("%s: Nomad's parse differs from the translator's JSON (-json +nomad):\n%s", filepath.Base(spec), diff)
		}
	}
}

// nomadParse runs `nomad job run -output SPEC` and decodes the job it prints.
func nomadParse(t *testing.T, nomad, spec string) *api.Job {
	t.Helper()
	cmd := exec.Command(nomad, "job", "run", "-output", spec)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("nomad job run -output %s: %v\n%s", filepath.Base(spec), err, stderr.String())
	}
	var payload struct{ Job *api.Job }
	if err := json.Unmarshal(stdout.Bytes(), &payload); err != nil || payload.Job == nil {
		t.Fatalf("decode nomad output for %s: %v\n%s", spec, err, stdout.String())
	}
	return payload.Job
}

func readPayload(t *testing.T, path string) *api.Job {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var payload struct{ Job *api.Job }
	if err := json.Unmarshal(b, &payload); err != nil || payload.Job == nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return payload.Job
}

// TestImportedTraceJobsParseWithRealNomad does the same for a graph
// imported from a real trace: many shards, generated names and sizes.
func TestImportedTraceJobsParseWithRealNomad(t *testing.T) {
	nomad := agentBin(t, "nomad")
	trace := filepath.Join(tracesDir(t), "montage-chameleon-2mass-01d-001.json")
	dir := filepath.Join(t.TempDir(), "montage")
	if _, errOut, code := shardwise(t, "import", "wfcommons", "-out", dir, trace); code != 0 {
		t.Fatalf("import exit %d: %s", code, errOut)
	}
	out := filepath.Join(t.TempDir(), "jobs")
	if _, errOut, code := shardwise(t, "plan", "-run", "m1", "-history", filepath.Join(dir, "history.jsonl"), "-out", out, "-out-json", filepath.Join(dir, "graph.hcl")); code != 0 {
		t.Fatalf("plan exit %d: %s", code, errOut)
	}
	checkJobDir(t, nomad, out)
}
