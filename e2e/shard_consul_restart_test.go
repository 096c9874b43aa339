package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/e2e/cluster"
)

// TestShardStreamSurvivesConsulRestart streams 32 MiB from a producer on
// the io-bound node to a consumer on the memory-intensive node over
// mutual TLS, the producer writing at a steady pace. In the middle of the
// stream the cluster's Consul agent is killed (SIGKILL) and started again:
// a dev agent, so it comes back without the channel's registration,
// with a new Connect CA and without intentions (the cluster writes them
// again). The connection under way needs no Consul and goes on; the
// producer publishes the finished stream to the new agent. Both tasks
// print the same SHA-256 and size.
func TestShardStreamSurvivesConsulRestart(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	c := cl.Client()
	run := runID(t)
	const chunks, chunk = 32, 1 << 20 // 32 MiB, one MiB every 0.25 s
	spec := channelSpec(chunks * chunk)
	spec["stream"] = true
	produce := fmt.Sprintf(`set -e; mkdir -p out; i=0; while [ $i -lt %d ]; do head -c %d /dev/urandom; i=$((i+1)); sleep 0.25; done > out/data; `+
		`echo "produce sha256 $(sha256sum < out/data | cut -d' ' -f1) bytes $(wc -c < out/data)"`, chunks, chunk)
	consume := `set -e; cat in/data > got; echo "consume sha256 $(sha256sum < got | cut -d' ' -f1) bytes $(wc -c < got)"`
	pJob := shardJob("chan-"+run+"-p", "io-bound", run, "p", "produce", produce, nil, []map[string]any{spec})
	qJob := shardJob("chan-"+run+"-q", "memory-intensive", run, "q", "consume", consume, []map[string]any{spec}, nil)
	for _, j := range []*api.Job{pJob, qJob} {
		if _, _, err := c.Jobs().Register(j, nil); err != nil {
			t.Fatalf("register %s: %v", *j.ID, err)
		}
		t.Cleanup(func() { _, _, _ = c.Jobs().Deregister(*j.ID, true, nil) })
	}
	waitUntil(t, shardWait, "the consumer's command started (stream connected)", func() (bool, string) {
		return streamStarted(t, c, *qJob.ID), "not started"
	})
	time.Sleep(2 * time.Second) // about 8 MiB into the stream
	consul, err := consulapi.NewClient(&consulapi.Config{Address: strings.TrimPrefix(cl.ConsulAddr(), "http://"), Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	before := trustDomain(t, consul)
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), shardWait)
	defer cancel()
	if err := cl.RestartConsul(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("consul killed and back, cluster ready, in %s", time.Since(began).Round(100*time.Millisecond))
	if after := trustDomain(t, consul); after == before {
		t.Fatalf("Connect trust domain %s before and after the restart: the agent did not start afresh", after)
	}
	if streamDone(t, c, *qJob.ID) {
		t.Fatal("the consumer finished before Consul was back: the restart was not during the transfer")
	}
	waitDone(t, c, *pJob.ID)
	waitDone(t, c, *qJob.ID)
	pSum, pSize := checksumLine(t, taskStdout(t, c, alloc(t, c, *pJob.ID), "produce"), "produce")
	qSum, qSize := checksumLine(t, taskStdout(t, c, alloc(t, c, *qJob.ID), "consume"), "consume")
	if pSum != qSum || pSize != qSize || pSize != chunks*chunk {
		t.Fatalf("producer wrote %d bytes with sha256 %s; consumer read %d with %s", pSize, pSum, qSize, qSum)
	}
	t.Logf("%d bytes, sha256 %s at both ends across the Consul restart", pSize, pSum)
}

// trustDomain returns the Connect CA's trust domain (a dev agent makes a
// new one each start).
func trustDomain(t *testing.T, c *consulapi.Client) string {
	t.Helper()
	roots, _, err := c.Connect().CARoots(nil)
	if err != nil || roots.TrustDomain == "" {
		t.Fatalf("Connect CA roots: %+v, %v", roots, err)
	}
	return roots.TrustDomain
}

// streamDone reports whether the job's allocation has finished.
func streamDone(t *testing.T, c *api.Client, job string) bool {
	t.Helper()
	stubs, _, err := c.Jobs().Allocations(job, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stubs {
		if s.ClientStatus == api.AllocClientStatusComplete || s.ClientStatus == api.AllocClientStatusFailed {
			return true
		}
	}
	return false
}
