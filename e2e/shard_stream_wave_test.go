package e2e

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"

	"github.com/shardwise/shardwise/driver/channel/registry"
	"github.com/shardwise/shardwise/e2e/cluster"
)

// TestShardStreamWaveNeverReadsStaleRegistration runs a plan whose
// consumer streams from a producer of the same submission wave, with a
// stale Consul registration of the channel in place before the run: an
// instance of an old allocation ("stale-alloc") whose listener accepts
// connections (its TCP check passes) and records every one that sends a
// byte. The launcher registers the consumer only once the producer is
// placed, so the consumer's first and only attempt names the producer's
// allocation (from_alloc) and waits for its registration: the stale
// listener never sees a channel connection, and the bytes at both ends
// are equal.
func TestShardStreamWaveNeverReadsStaleRegistration(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	c := cl.Client()
	run := runID(t)
	graph := fixture("shard-stream-wave.hcl")
	p := planOf(t, run, graph)
	if len(p.Shards) != 2 || len(p.Channels) != 1 || !p.Channels[0].Stream {
		t.Fatalf("plan has %d shards and %d channels, want 2 and one stream", len(p.Shards), len(p.Channels))
	}
	ch := p.Channels[0]
	stopRun(t, cl.NomadAddr(), run)

	stale := startStaleListener(t)
	consul, err := consulapi.NewClient(&consulapi.Config{Address: strings.TrimPrefix(cl.ConsulAddr(), "http://"), Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	// Another service ID than the live one's: the old allocation's
	// registration stays while the run goes on, as on another node.
	staleID := registry.ServiceID(run, ch.ID) + "-old"
	if err := consul.Agent().ServiceRegister(&consulapi.AgentServiceRegistration{
		ID: staleID, Name: registry.ServiceName, Address: "127.0.0.1", Port: stale.port(),
		Meta: map[string]string{"graph": p.Graph, "run": run, "shard": ch.From, "channel": ch.ID, "to": ch.To,
			"state": registry.StateStreaming, "format": "stream", "size": "-1", "sha256": "",
			"job": "old-job", "alloc": "stale-alloc"},
		Check: &consulapi.AgentServiceCheck{TCP: stale.addr(), Interval: "1s", Timeout: "1s", Status: consulapi.HealthPassing},
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = consul.Agent().ServiceDeregister(staleID) })

	out, errOut, code := cli(t, nil, "run", "-address", cl.NomadAddr(), "-run", run, "-driver", "shard", graph)
	if code != 0 {
		t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	runs := shardRuns(t, c, p)
	prod, cons := runs[ch.From], runs[ch.To]
	pSum, pSize := checksumLine(t, taskStdout(t, c, prod.alloc, "produce"), "produce")
	qSum, qSize := checksumLine(t, taskStdout(t, c, cons.alloc, "consume"), "consume")
	if pSum != qSum || pSize != qSize || pSize != 16<<20 {
		t.Errorf("producer wrote %d bytes with sha256 %s; consumer read %d with %s", pSize, pSum, qSize, qSum)
	}
	if got := inputFromAlloc(t, cons.alloc, ch.ID); got != prod.alloc.ID {
		t.Errorf("consumer's job: input %s from_alloc %q, want the producer's allocation %s", ch.ID, got, prod.alloc.ID)
	}
	if n := stale.dataConns.Load(); n != 0 {
		t.Errorf("%d channel connections reached the stale registration's listener", n)
	}
	t.Logf("%d bytes streamed, sha256 %s at both ends; stale listener: %d connections (Consul's checks), %d that sent bytes",
		qSize, qSum, stale.conns.Load(), stale.dataConns.Load())
}

// staleListener accepts TCP connections and counts those that send at
// least one byte (a channel client's TLS hello; Consul's TCP check sends
// nothing).
type staleListener struct {
	ln               net.Listener
	conns, dataConns atomic.Int64
}

func startStaleListener(t *testing.T) *staleListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &staleListener{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			wg.Go(func() {
				defer conn.Close()
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				var b [1]byte
				if n, _ := conn.Read(b[:]); n > 0 {
					s.dataConns.Add(1)
				}
			})
		}
	})
	return s
}

func (s *staleListener) addr() string { return s.ln.Addr().String() }
func (s *staleListener) port() int    { return s.ln.Addr().(*net.TCPAddr).Port }
