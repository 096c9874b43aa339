package cluster

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// logTailLines is how many lines of each agent log a failed test prints.
const logTailLines = 40

// RequireBinaries skips t when a binary opts needs is missing, unless the
// environment variable CI is set, in which case it fails t: CI builds the
// agents first (`make agents`), so a missing binary there is a bug.
func RequireBinaries(t testing.TB, opts Options) {
	t.Helper()
	missing := MissingBinaries(opts)
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("cluster binaries missing (run `make agents`): %s", strings.Join(missing, "; "))
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// StartT starts a cluster for t (see Start and RequireBinaries) and
// registers its Close with t.Cleanup. When t has failed by then, the tail
// of every agent log is logged first. A nil opts.Logf logs through t.
func StartT(t testing.TB, opts Options) *Cluster {
	t.Helper()
	RequireBinaries(t, opts)
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	c, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent logs:\n%s", c.LogTails(logTailLines))
		}
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// shared is the test binary's shared cluster.
var shared struct {
	mu     sync.Mutex
	c      *Cluster
	err    error
	closed bool
}

// Shared returns the test binary's shared cluster of DefaultClasses,
// starting it on the first call (the start-up cost is paid once for all
// the tests in the binary). It skips or fails t like RequireBinaries, and
// fails t when the cluster could not start. When t fails, the agents' log
// tails are logged at its end. Tests must not Close the shared cluster
// nor leave it changed (a stopped client must be started again); the
// binary's TestMain calls CloseShared after m.Run:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		if err := cluster.CloseShared(); err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			code = max(code, 1)
//		}
//		os.Exit(code)
//	}
//
// Progress lines go to stderr in verbose mode (go test -v).
func Shared(t testing.TB) *Cluster {
	t.Helper()
	RequireBinaries(t, Options{})
	c, err := startShared()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent logs:\n%s", c.LogTails(logTailLines))
		}
	})
	return c
}

func startShared() (*Cluster, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	switch {
	case shared.closed:
		return nil, errors.New("cluster: the shared cluster is closed (CloseShared ran before this test)")
	case shared.c == nil && shared.err == nil:
		shared.c, shared.err = Start(context.Background(), Options{Logf: verboseLogf})
	}
	if shared.err != nil {
		return nil, fmt.Errorf("shared cluster: %w", shared.err)
	}
	return shared.c, nil
}

// verboseLogf writes progress to stderr under go test -v.
func verboseLogf(format string, args ...any) {
	if flag.Parsed() && testing.Verbose() {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	}
}

// CloseShared closes the shared cluster if Shared started one; later
// calls to Shared fail. Call it from TestMain after m.Run.
func CloseShared() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.closed = true
	if shared.c == nil {
		return nil
	}
	return shared.c.Close()
}
