package testutil

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRepoRoot(t *testing.T) {
	if _, err := os.Stat(filepath.Join(RepoRoot(), "go.mod")); err != nil {
		t.Fatal(err)
	}
}

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, time.Second, time.Millisecond, "three calls", func() (bool, string) {
		n++
		return n == 3, "called"
	})
	if n != 3 {
		t.Errorf("cond called %d times, want 3", n)
	}
}
