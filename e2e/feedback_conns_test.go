package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/launcher"
)

// TestRunFeedbackConnectionsBounded runs 200 allocations (one task split
// into 200 pieces) with -feedback on the real cluster, after a run of
// another graph, and samples the TCP connections the shardwise process
// holds every 50 ms: they stay within the CLI's bound and are reused
// (few distinct sockets over the run), stderr holds only formatted log
// lines (nothing raw from Go's HTTP client), and the store holds the 200
// allocations of this run and nothing of the other.
func TestRunFeedbackConnectionsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("200 allocations take tens of seconds; make test runs it")
	}
	cl := cluster.Shared(t)
	env := []string{"NOMAD_ADDR=" + cl.NomadAddr()}
	other := runID(t) + "o"
	tiny := filepath.Join(t.TempDir(), "tiny.hcl")
	writeFile(t, tiny, "graph \"tiny\" {\n  driver = \"raw_exec\"\n  task \"a\" {\n    command = \"/bin/true\"\n  }\n}\n")
	if out, errOut, code := cli(t, env, "run", "-run", other, "-fail-fast", tiny); code != 0 {
		t.Fatalf("run %s: exit %d\n%s%s", other, code, out, errOut)
	}

	db := filepath.Join(t.TempDir(), "history.db")
	run := runID(t)
	// 200 raw_exec executors take ~35 s on an idle 2-core machine and
	// several times that on a loaded one: allow more than runTimeout.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, shardwiseBin, "run", "-run", run, "-fail-fast", "-feedback", "-history-db", db,
		"-catalog", fixture("many-allocs-catalog.hcl"), fixture("many-allocs.hcl"))
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	peak, seen, samples := 0, map[string]bool{}, 0
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-tick.C:
			socks := establishedSockets(cmd.Process.Pid)
			samples++
			peak = max(peak, len(socks))
			for _, s := range socks {
				seen[s] = true
			}
		}
	}
	t.Logf("run of 200 allocations: %s; %d samples; at most %d established connections at once, %d distinct",
		time.Since(start).Round(100*time.Millisecond), samples, peak, len(seen))
	if err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	if want := fmt.Sprintf("History: recorded 200 allocations of run %s", run); !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout lacks %q:\n%s", want, &stdout)
	}
	if peak > launcher.MaxAgentConns {
		t.Errorf("the run held up to %d connections at once, want at most %d", peak, launcher.MaxAgentConns)
	}
	if len(seen) > 3*launcher.MaxAgentConns {
		t.Errorf("the run opened %d distinct connections, want them reused (at most %d)", len(seen), 3*launcher.MaxAgentConns)
	}
	logLine := regexp.MustCompile(`^\S+ \[(TRACE|DEBUG|INFO|WARN|ERROR)\] `)
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if l != "" && !logLine.MatchString(l) {
			t.Errorf("stderr line is not a formatted log line: %q", l)
		}
	}
	recs := storeRecords(t, db)
	mine := 0
	for _, r := range recs {
		if r.Run == run {
			mine++
		}
	}
	if mine != 200 || len(recs) != 200 {
		t.Errorf("store holds %d records, %d of run %s; want exactly its 200", len(recs), mine, run)
	}
}

// establishedSockets returns the inodes of the established TCP sockets
// process pid holds: its socket descriptors (/proc/PID/fd) that the
// kernel's TCP tables (/proc/PID/net/tcp, tcp6) list in state 01.
func establishedSockets(pid int) []string {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil
	}
	mine := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			mine[strings.TrimSuffix(inode, "]")] = true
		}
	}
	var out []string
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) > 9 && fields[3] == "01" && mine[fields[9]] {
				out = append(out, fields[9])
			}
		}
		f.Close()
	}
	return out
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
