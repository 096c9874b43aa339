package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/internal/testutil"
)

// Helpers of the shard driver tests (shard_*_test.go): they run on the
// shared cluster, whose clients all load nomad-driver-shard.

// shardWait bounds each wait of the shard driver tests for a condition
// that does not involve a whole run.
const shardWait = 90 * time.Second

// requireShardDriver skips t when the shared cluster runs without the
// shard driver: cluster.Start leaves it out only when the plugin binary is
// missing and CI is unset (in CI a missing plugin fails the start).
func requireShardDriver(t *testing.T, cl *cluster.Cluster) {
	t.Helper()
	if !cl.ShardDriver() {
		t.Skip("the shared cluster runs without the shard driver: .bin/plugins/nomad-driver-shard is missing (run `make driver`)")
	}
}

// waitUntil polls cond every 100 ms until it holds, failing t after
// timeout with cond's last description of what it still waits for.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	testutil.Eventually(t, timeout, 100*time.Millisecond, what, cond)
}

// checkEvents asserts that the allocation's task events hold each message.
func checkEvents(t *testing.T, a *api.Allocation, msgs ...string) {
	t.Helper()
	var seen []string
	for _, ts := range a.TaskStates {
		for _, ev := range ts.Events {
			seen = append(seen, ev.DisplayMessage)
		}
	}
	for _, m := range msgs {
		found := false
		for _, s := range seen {
			found = found || strings.Contains(s, m)
		}
		if !found {
			t.Errorf("allocation %s: no task event %q among %q", a.ID, m, seen)
		}
	}
}

// allocFile reads a file of the allocation through the Nomad API (the
// server forwards the request to the client that ran it); path is
// relative to the allocation dir, e.g. "alloc/logs/TASK.stdout.0".
func allocFile(t *testing.T, c *api.Client, a *api.Allocation, path string) string {
	t.Helper()
	rc, err := c.AllocFS().Cat(a, path, nil)
	if err != nil {
		t.Fatalf("read %s of allocation %s: %v", path, a.ID, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s of allocation %s: %v", path, a.ID, err)
	}
	return string(b)
}

// taskStdout returns the stdout log of the allocation's task.
func taskStdout(t *testing.T, c *api.Client, a *api.Allocation, task string) string {
	t.Helper()
	return allocFile(t, c, a, "alloc/logs/"+task+".stdout.0")
}

// checksumLine finds "WHO sha256 HEX" (and " bytes N" when present) in out.
func checksumLine(t *testing.T, out, who string) (sum string, size int64) {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(who) + ` sha256 ([0-9a-f]{64})(?: bytes (\d+))?`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q checksum line in:\n%s", who, out)
	}
	if m[2] != "" {
		size, _ = strconv.ParseInt(m[2], 10, 64)
	}
	return m[1], size
}

// bgRun is a `shardwise` command running in the background.
type bgRun struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	ctx            context.Context
	cancel         context.CancelFunc
}

// startCLI starts the shardwise binary with args; it is killed at the end
// of t if still running.
func startCLI(t *testing.T, args ...string) *bgRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	r := &bgRun{done: make(chan struct{}), ctx: ctx, cancel: cancel}
	r.cmd = exec.CommandContext(ctx, shardwiseBin, args...)
	r.cmd.Dir = repoRoot
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start shardwise %v: %v", args, err)
	}
	go func() {
		_ = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// exited reports whether the command has exited.
func (r *bgRun) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// wait waits for the command and returns stdout, stderr and its exit
// status; it fails t when the command outlives runTimeout.
func (r *bgRun) wait(t *testing.T) (string, string, int) {
	t.Helper()
	<-r.done
	if r.ctx.Err() != nil {
		t.Fatalf("shardwise %v: killed after %s\nstdout:\n%s\nstderr:\n%s", r.cmd.Args[1:], runTimeout, &r.stdout, &r.stderr)
	}
	return r.stdout.String(), r.stderr.String(), r.cmd.ProcessState.ExitCode()
}

// output returns what the command printed so far (only safe after exit).
func (r *bgRun) output() string {
	return fmt.Sprintf("stdout:\n%s\nstderr:\n%s", &r.stdout, &r.stderr)
}

// markerPids returns the /bin/sh processes whose command line holds
// marker and whose parent's does not: a task's shell, not the short-lived
// forks it makes for command substitutions and before exec.
func markerPids(marker string) []int {
	entries, _ := os.ReadDir("/proc")
	holds := map[int]bool{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.HasPrefix(string(b), "/bin/sh\x00") && strings.Contains(string(b), marker) {
			holds[pid] = true
		}
	}
	var out []int
	for pid := range holds {
		if !holds[parentPid(pid)] {
			out = append(out, pid)
		}
	}
	return out
}

// parentPid returns the parent of pid (0 if unknown), from /proc/PID/stat,
// whose second field (the command name in parentheses) may hold spaces.
func parentPid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// waitMarkerProcess waits for exactly one task process carrying marker
// and returns its pid; it fails t early if run exits first.
func waitMarkerProcess(t *testing.T, r *bgRun, marker string) int {
	t.Helper()
	var pid int
	waitUntil(t, shardWait, "the task process "+marker, func() (bool, string) {
		if r.exited() {
			t.Fatalf("shardwise exited before the task ran\n%s", r.output())
		}
		pids := markerPids(marker)
		if len(pids) == 1 {
			pid = pids[0]
		}
		return len(pids) == 1, fmt.Sprintf("processes %v", pids)
	})
	return pid
}

// pluginLogLines returns the lines of the client log of class that hold
// every one of words (the shard driver plugin logs into its client's log).
func pluginLogLines(t *testing.T, cl *cluster.Cluster, class string, words ...string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cl.Dir(), class+".log"))
	if err != nil {
		t.Fatalf("client log of %s: %v", class, err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		keep := true
		for _, w := range words {
			keep = keep && strings.Contains(line, w)
		}
		if keep {
			out = append(out, line)
		}
	}
	return out
}

// logField returns the value of key=value in a log line ("" when absent).
func logField(line, key string) string {
	m := regexp.MustCompile(`(?:^|\s)` + regexp.QuoteMeta(key) + `=("[^"]*"|\S+)`).FindStringSubmatch(line)
	if m == nil {
		return ""
	}
	return strings.Trim(m[1], `"`)
}

// fetchLogs waits until the client log of class holds the plugin's
// "fetched input channel" line of each of channels in run, and returns
// them by channel ID.
func fetchLogs(t *testing.T, cl *cluster.Cluster, class, run string, channels ...string) map[string]string {
	t.Helper()
	got := map[string]string{}
	waitUntil(t, shardWait, "fetch log lines on "+class, func() (bool, string) {
		for _, line := range pluginLogLines(t, cl, class, "fetched input channel") {
			if logField(line, "run") == run {
				got[logField(line, "channel")] = line
			}
		}
		for _, ch := range channels {
			if got[ch] == "" {
				return false, "no line for channel " + ch
			}
		}
		return true, ""
	})
	return got
}
