package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/plan"
)

// TestPlanNoGuard: a plan records the robust guard's decision; -no-guard
// plans without it.
func TestPlanNoGuard(t *testing.T) {
	graph := filepath.Join("..", "..", "examples", "ml-pipeline", "graph.hcl")
	for _, c := range []struct {
		args  []string
		guard bool
	}{{nil, true}, {[]string{"-no-guard"}, false}} {
		out, stderr, code := runCLI(append(append([]string{"plan", "-run", "r1", "-format", "json"}, c.args...), graph)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, stderr)
		}
		var p plan.Plan
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatal(err)
		}
		if got := strings.HasPrefix(p.Guard, "kept "); got != c.guard {
			t.Errorf("%v: guard %q, want a decision: %v", c.args, p.Guard, c.guard)
		}
	}
}
