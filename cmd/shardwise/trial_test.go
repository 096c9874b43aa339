package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTaskThatFitsNoClassIsPositioned: a task no executor class can run
// is reported at its declaration (file:line:col, with the source line) by
// plan and simulate, exit 1, and plan writes no job.
func TestTaskThatFitsNoClassIsPositioned(t *testing.T) {
	graph := filepath.Join("testdata", "bad", "fits-no-class.hcl")
	out := filepath.Join(t.TempDir(), "jobs")
	for _, args := range [][]string{{"plan", "-out", out, graph}, {"simulate", graph}} {
		_, stderr, code := runCLI(args...)
		want := graph + `:8:3: error: Task fits no executor class
    8 |   task "train" {
      |   ^^^^^^^^^^^^
  No executor class of the catalog can run task "train": cpu-heavy: needs 9 GPU(s), instance has 0;`
		if code != 1 || !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, "gpu-accelerated: needs 9 GPU(s), instance has 1") {
			t.Errorf("shardwise %v: exit %d, stderr:\n%s\nwant exit 1 starting:\n%s", args, code, stderr, want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("plan -out wrote %s (%v) for a graph it could not plan", out, err)
	}
}
