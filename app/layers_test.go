package app

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/shardwise/shardwise/"

// layers are the import rules of docs and README ("How it works"): the
// packages matching pattern (with their dependencies, go list -deps) must
// import nothing under any of the forbidden folders.
var layers = []struct {
	pattern   string
	forbidden []string
}{
	{"./planner/...", []string{"translator", "launcher", "feedback", "driver", "cmd", "app", "bench"}},
	{"./driver/...", []string{"planner", "translator", "launcher", "feedback", "app", "bench", "cmd"}},
	{"./translator/...", []string{"launcher", "feedback", "app", "bench", "cmd"}},
	{"./sdk/...", []string{"planner", "translator", "launcher", "feedback", "driver", "app", "bench", "cmd"}},
}

// TestLayering checks the import rules with go list -deps, so a new
// import that crosses a layer fails here, not in review.
func TestLayering(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	for _, l := range layers {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", l.pattern)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", l.pattern, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) == 0 {
			t.Fatalf("go list -deps %s listed nothing", l.pattern)
		}
		for _, bad := range violations(deps, l.forbidden) {
			t.Errorf("%s depends on %s", l.pattern, bad)
		}
	}
}

// violations returns the module packages among deps under a forbidden
// top-level folder.
func violations(deps, forbidden []string) []string {
	var out []string
	for _, d := range deps {
		rel, ok := strings.CutPrefix(d, module)
		if !ok {
			continue
		}
		top, _, _ := strings.Cut(rel, "/")
		for _, f := range forbidden {
			if top == f {
				out = append(out, d)
			}
		}
	}
	return out
}

// TestViolations makes sure the check itself sees a crossing.
func TestViolations(t *testing.T) {
	deps := []string{"fmt", module + "planner/plan", module + "translator/nomadjob", module + "translatorx"}
	got := violations(deps, []string{"translator"})
	if len(got) != 1 || got[0] != module+"translator/nomadjob" {
		t.Errorf("violations = %v", got)
	}
}
