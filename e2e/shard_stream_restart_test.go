package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
)

// TestShardStreamSurvivesProducerPluginKill streams 64 MiB from a
// producer on the io-bound node to a consumer on the memory-intensive
// node, the producer writing at a steady pace. In the middle of the
// stream the producer's shard driver plugin is killed with SIGKILL; the
// Nomad client starts it again and recovers the task. The consumer
// resumes where it was and receives every byte once: the SHA-256 both
// tasks print are equal.
func TestShardStreamSurvivesProducerPluginKill(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	c := cl.Client()
	run := runID(t)
	const chunks, chunk = 64, 1 << 20 // 64 MiB, one MiB every 0.25 s
	spec := channelSpec(chunks * chunk)
	spec["stream"] = true
	produce := fmt.Sprintf(`set -e; mkdir -p out; i=0; while [ $i -lt %d ]; do head -c %d /dev/urandom; i=$((i+1)); sleep 0.25; done > out/data; `+
		`echo "produce sha256 $(sha256sum < out/data | cut -d' ' -f1) bytes $(wc -c < out/data)"`, chunks, chunk)
	// in/data is a named pipe: read it once, into a file.
	consume := `set -e; cat in/data > got; echo "consume sha256 $(sha256sum < got | cut -d' ' -f1) bytes $(wc -c < got)"`
	pJob := shardJob("chan-"+run+"-p", "io-bound", run, "p", "produce", produce, nil, []map[string]any{spec})
	qJob := shardJob("chan-"+run+"-q", "memory-intensive", run, "q", "consume", consume, []map[string]any{spec}, nil)
	for _, j := range []*api.Job{pJob, qJob} {
		if _, _, err := c.Jobs().Register(j, nil); err != nil {
			t.Fatalf("register %s: %v", *j.ID, err)
		}
		t.Cleanup(func() { _, _, _ = c.Jobs().Deregister(*j.ID, true, nil) })
	}
	// Kill the producer's plugin once the consumer is receiving.
	waitUntil(t, shardWait, "the consumer's command started (stream connected)", func() (bool, string) {
		return streamStarted(t, c, *qJob.ID), "not started"
	})
	time.Sleep(4 * time.Second) // about 16 MiB into the stream
	pid := shardPluginPid(t, cl, "io-bound")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the io-bound shard plugin (pid %d): %v", pid, err)
	}
	t.Logf("killed the io-bound shard driver plugin, pid %d", pid)
	waitDone(t, c, *pJob.ID)
	waitDone(t, c, *qJob.ID)
	pSum, pSize := checksumLine(t, taskStdout(t, c, alloc(t, c, *pJob.ID), "produce"), "produce")
	qSum, qSize := checksumLine(t, taskStdout(t, c, alloc(t, c, *qJob.ID), "consume"), "consume")
	if pSum != qSum || pSize != qSize || pSize != chunks*chunk {
		t.Fatalf("producer wrote %d bytes with sha256 %s; consumer read %d with %s", pSize, pSum, qSize, qSum)
	}
	if newPid := shardPluginPid(t, cl, "io-bound"); newPid == pid {
		t.Fatalf("the plugin pid %d did not change", pid)
	}
	t.Logf("%d bytes, sha256 %s at both ends across the plugin kill", pSize, pSum)
}

// streamStarted reports whether the job's task runs its command (its
// inputs are connected).
func streamStarted(t *testing.T, c *api.Client, job string) bool {
	t.Helper()
	stubs, _, err := c.Jobs().Allocations(job, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stubs {
		for _, ts := range s.TaskStates {
			for _, ev := range ts.Events {
				if ev.Type == api.TaskStarted {
					return true
				}
			}
		}
	}
	return false
}

// alloc returns the one allocation of job.
func alloc(t *testing.T, c *api.Client, job string) *api.Allocation {
	t.Helper()
	stubs, _, err := c.Jobs().Allocations(job, true, nil)
	if err != nil || len(stubs) != 1 {
		t.Fatalf("allocations of %s: %d, %v", job, len(stubs), err)
	}
	a, _, err := c.Allocations().Info(stubs[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// shardPluginPid returns the pid of the shard driver plugin of the client
// of class: the process started from that client's plugin dir with no
// argument (the executors are the same binary with "executor" and a
// config).
func shardPluginPid(t *testing.T, cl *cluster.Cluster, class string) int {
	t.Helper()
	bin := filepath.Join(cl.Dir(), class, "plugins", "nomad-driver-shard")
	var found []int
	des, _ := os.ReadDir("/proc")
	for _, d := range des {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) == 1 && args[0] == bin {
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d shard plugin processes of %s (%s): %v", len(found), class, bin, found)
	}
	return found[0]
}
