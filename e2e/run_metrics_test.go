package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/shardwise/shardwise/e2e/cluster"
)

// TestRunMetrics runs a graph with -metrics-addr and scrapes /metrics
// while its first shard runs: the shards gauge shows one running and one
// pending shard, and the submission latency of the running job was
// observed at every stage. Then it interrupts the run. A -metrics-addr
// whose port is in use fails the run at once (exit 1), naming the
// address, before any job is registered.
func TestRunMetrics(t *testing.T) {
	cl := cluster.Shared(t)
	c := cl.Client()
	graph := fixture("interrupt.hcl")

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	run := runID(t)
	p := planOf(t, run, graph)
	_, errOut, code := cli(t, nil, "run", "-address", cl.NomadAddr(), "-run", run, "-metrics-addr", busy.Addr().String(), graph)
	if code != 1 || !strings.Contains(errOut, "-metrics-addr "+busy.Addr().String()) || !strings.Contains(errOut, "address already in use") {
		t.Errorf("run with a busy -metrics-addr: exit %d, want 1 naming the address\nstderr:\n%s", code, errOut)
	}
	if _, _, err := c.Jobs().Info(jobOf(p, "s000-wait"), nil); err == nil {
		t.Errorf("job %s was registered despite the busy metrics port", jobOf(p, "s000-wait"))
	}

	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	free.Close()
	run = runID(t)
	stopRun(t, cl.NomadAddr(), run)
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, shardwiseBin, "run", "-address", cl.NomadAddr(), "-run", run, "-metrics-addr", addr, graph)
	cmd.Dir = repoRoot
	cmd.Env = os.Environ()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
	}()
	var seen strings.Builder
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "s000-wait  running") {
			break
		}
	}
	if !strings.Contains(seen.String(), "Metrics on http://"+addr+"/metrics") {
		t.Errorf("stdout does not give the metrics URL:\n%s", seen.String())
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v\nstdout:\n%s\nstderr:\n%s", err, seen.String(), stderr.String())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{
		`shardwise_launcher_shards{run="` + run + `",state="running"} 1`,
		`shardwise_launcher_shards{run="` + run + `",state="pending"} 1`,
		`shardwise_launcher_submission_latency_seconds_count{stage="registered_to_placed"} 1`,
		`shardwise_launcher_submission_latency_seconds_count{stage="placed_to_running"} 1`,
		`shardwise_launcher_submission_latency_seconds_count{stage="registered_to_running"} 1`,
		`shardwise_launcher_retries_total 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	sum := regexp.MustCompile(`shardwise_launcher_submission_latency_seconds_sum\{stage="registered_to_running"\} (\S+)`).FindStringSubmatch(text)
	if sum == nil || sum[1] == "0" {
		t.Errorf("registered_to_running latency sum %v, want a positive number of seconds", sum)
	} else {
		t.Logf("registered -> running: %s s", sum[1])
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
}
