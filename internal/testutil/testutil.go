// Package testutil holds the helpers tests across the repository share:
// the path of the shared WfCommons traces and polling until a condition
// holds. It is imported by tests only.
package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// RepoRoot returns the repository's root folder (where go.mod is).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Traces returns the shared WfCommons traces folder,
// ../shared/traces/wfcommons beside the repository (see its README). When
// it is missing the test is skipped, or fails when the environment sets CI,
// so that CI never passes by running less.
func Traces(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(RepoRoot(), "..", "shared", "traces", "wfcommons")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("shared traces not found: %v", err)
		}
		tb.Skipf("shared traces not found: %v", err)
	}
	return dir
}

// Trace returns the path of the shared trace name (relative to Traces),
// skipping or failing as Traces does when it is missing.
func Trace(tb testing.TB, name string) string {
	tb.Helper()
	path := filepath.Join(Traces(tb), name)
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("shared trace not found: %v", err)
		}
		tb.Skipf("shared trace not found: %v", err)
	}
	return path
}

// Eventually polls cond every interval until it holds, failing tb after
// timeout with what it waited for and cond's last description of the
// state.
func Eventually(tb testing.TB, timeout, interval time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waiting for %s: not after %s (%s)", what, timeout, state)
		}
		time.Sleep(interval)
	}
}
