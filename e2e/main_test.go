// Package e2e holds end-to-end tests that run the shardwise binary as a user
// does, on the examples and on real workflow traces, and check its output
// with the real Nomad v1.6.1 binary built by `make agents`.
package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/internal/testutil"
)

var (
	// shardwiseBin is the CLI built once for all tests.
	shardwiseBin string
	repoRoot     string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Dir(filepath.Dir(file))
	dir, err := os.MkdirTemp("", "shardwise-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	shardwiseBin = filepath.Join(dir, "shardwise")
	build := exec.Command("go", "build", "-o", shardwiseBin, "./cmd/shardwise")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build shardwise: %v\n%s", err, out)
		return 1
	}
	code := m.Run()
	// Tests on the real cluster share one (cluster.Shared); stop it.
	if err := cluster.CloseShared(); err != nil {
		fmt.Fprintf(os.Stderr, "close the shared cluster: %v\n", err)
		code = max(code, 1)
	}
	return code
}

// agentBin returns the path of an agent binary built by `make agents`. It
// skips the test when the binary is missing outside CI, and fails in CI,
// where `make test` builds the agents first.
func agentBin(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("SHARDWISE_BIN")
	if dir == "" {
		dir = filepath.Join(repoRoot, ".bin")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found (run `make agents`): %v", p, err)
		}
		t.Skipf("%s not found; run `make agents` first", p)
	}
	return p
}

// shardwise runs the CLI and returns stdout, stderr and the exit status.
func shardwise(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(shardwiseBin, args...)
	cmd.Dir = repoRoot
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run shardwise %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

func tracesDir(t *testing.T) string {
	t.Helper()
	return testutil.Traces(t)
}
