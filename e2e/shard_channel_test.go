package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/driver/channel"
	"github.com/shardwise/shardwise/driver/channel/registry"
	"github.com/shardwise/shardwise/e2e/cluster"
)

// The tests in this file register shard-driver jobs directly (not through
// `shardwise run`) so that they can act between the producer's publish
// and the consumer's fetch: on the real plugins, Consul and channel ports
// of the shared cluster.

// channelID is the one channel of these tests, from shard "p" to "q".
const channelID = "c0"

// channelSpec is the task config entry of channel c0 (producer p, task
// produce, output data; consumer q, task consume, delivered to in/data).
func channelSpec(bytes int64) map[string]any {
	return map[string]any{"id": channelID, "name": "data", "from": "p", "from_task": "produce", "from_path": "out/data",
		"to": "q", "to_task": "consume", "path": "in/data", "bytes": bytes}
}

// shardJob returns a batch job of one shard-driver task running script on
// the node of class, as shard of run, with the given channels. Nomad
// neither restarts nor reschedules it.
func shardJob(id, class, run, shard, task, script string, inputs, outputs []map[string]any) *api.Job {
	job := api.NewBatchJob(id, id, "global", 50)
	job.Datacenters = []string{"dc1"}
	job.Constrain(api.NewConstraint("${node.class}", "=", class))
	t := api.NewTask(task, cluster.ShardDriver)
	t.Config = map[string]any{
		"command": "/bin/sh", "args": []string{"-c", script},
		"graph": "e2e-channels", "run": run, "shard": shard, "shards": []string{shard},
	}
	if len(inputs) > 0 {
		t.Config["inputs"] = inputs
	}
	if len(outputs) > 0 {
		t.Config["outputs"] = outputs
	}
	t.Resources = &api.Resources{CPU: new(100), MemoryMB: new(64)}
	g := api.NewTaskGroup(task, 1).AddTask(t)
	g.RestartPolicy = &api.RestartPolicy{Attempts: new(0), Mode: new("fail")}
	g.ReschedulePolicy = &api.ReschedulePolicy{Attempts: new(0), Unlimited: new(false)}
	job.AddTaskGroup(g)
	return job
}

// runJob registers job, waits until it completed and returns its
// allocation; the job is purged at the end of t.
func runJob(t *testing.T, c *api.Client, job *api.Job) *api.Allocation {
	t.Helper()
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatalf("register %s: %v", *job.ID, err)
	}
	t.Cleanup(func() { _, _, _ = c.Jobs().Deregister(*job.ID, true, nil) })
	waitDone(t, c, *job.ID)
	stubs, _, err := c.Jobs().Allocations(*job.ID, true, nil)
	if err != nil || len(stubs) != 1 {
		t.Fatalf("allocations of %s: %d, %v", *job.ID, len(stubs), err)
	}
	a, _, err := c.Allocations().Info(stubs[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// publish runs producer p of run on class, writing size bytes of `seq`
// output, and returns its registered channel and the SHA-256 the task
// printed.
func publish(t *testing.T, cl *cluster.Cluster, reg *registry.Registry, class, run string, size int64) (registry.Channel, string) {
	t.Helper()
	script := fmt.Sprintf(`set -e; mkdir -p out; seq 1 1000000000 | head -c %d > out/data; echo "produce sha256 $(sha256sum < out/data | cut -d' ' -f1)"`, size)
	a := runJob(t, cl.Client(), shardJob("chan-"+run+"-p", class, run, "p", "produce", script, nil,
		[]map[string]any{channelSpec(size)}))
	sum, _ := checksumLine(t, taskStdout(t, cl.Client(), a, "produce"), "produce")
	ctx, cancel := context.WithTimeout(context.Background(), shardWait)
	defer cancel()
	ch, err := reg.Lookup(ctx, run, channelID)
	if err != nil {
		t.Fatalf("channel %s of run %s after the producer completed: %v", channelID, run, err)
	}
	if ch.State != registry.StateReady || ch.Size != size || ch.SHA256 != sum || ch.Address+":"+fmt.Sprint(ch.Port) != cl.ChannelAddr(class) {
		t.Fatalf("registered channel %+v; want ready, %d bytes, sha256 %s at %s", ch, size, sum, cl.ChannelAddr(class))
	}
	return ch, sum
}

// consulRegistry returns a channel registry on the cluster's Consul.
func consulRegistry(t *testing.T, cl *cluster.Cluster) *registry.Registry {
	t.Helper()
	reg, err := registry.New(&consulapi.Config{Address: strings.TrimPrefix(cl.ConsulAddr(), "http://"), Scheme: "http"}, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestShardChannelRefusesPeerWithoutRunKey publishes a channel on the
// io-bound node's plugin and fetches it with driver/channel's client, as a
// peer would: with a key from another cluster secret and with another
// run's key it is refused (no byte delivered) and the plugin logs each
// refusal; with the key derived from the cluster's channel_secret and the
// run ID it gets the bytes, after which the producer drops the channel.
func TestShardChannelRefusesPeerWithoutRunKey(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	reg := consulRegistry(t, cl)
	run := runID(t)
	const size = 1 << 20
	ch, sum := publish(t, cl, reg, "io-bound", run, size)

	ctx, cancel := context.WithTimeout(context.Background(), shardWait)
	defer cancel()
	fetch := func(key []byte, dest string) (channel.Result, error) {
		return channel.FetchFile(ctx, channel.Request{
			Run: run, Channel: channelID, Key: key, ExpectSize: ch.Size, ExpectSHA256: ch.SHA256,
			Resolve: func(context.Context) (string, error) { return ch.Addr(), nil },
			Retry:   channel.RetryPolicy{Attempts: 2, Initial: 10 * time.Millisecond, Max: 10 * time.Millisecond},
		}, dest, nil)
	}
	dir := t.TempDir()
	otherCluster, err := channel.RunKey("not-this-cluster's-secret", "", run)
	if err != nil {
		t.Fatal(err)
	}
	otherRun, err := channel.RunKey(cl.ChannelSecret(), "", run+"-other")
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string][]byte{"other-cluster": otherCluster, "other-run": otherRun} {
		dest := filepath.Join(dir, name)
		if _, err := fetch(key, dest); !errors.Is(err, channel.ErrRefused) {
			t.Errorf("fetch with the %s key: %v, want %v", name, err, channel.ErrRefused)
		}
		if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("fetch with the %s key left %s (%v)", name, dest, err)
		}
	}
	waitUntil(t, shardWait, "two refusals in the io-bound plugin's log", func() (bool, string) {
		var lines []string
		for _, l := range pluginLogLines(t, cl, "io-bound", "refused channel peer") {
			if logField(l, "run") == run && logField(l, "channel") == channelID && logField(l, "reason") != "" {
				lines = append(lines, l)
			}
		}
		return len(lines) >= 2, fmt.Sprintf("%d refusal lines for run %s", len(lines), run)
	})

	right, err := channel.RunKey(cl.ChannelSecret(), "", run)
	if err != nil {
		t.Fatal(err)
	}
	res, err := fetch(right, filepath.Join(dir, "right"))
	if err != nil || res.Size != size || res.SHA256 != sum {
		t.Fatalf("fetch with the run key: %+v, %v; want %d bytes with sha256 %s", res, err, size, sum)
	}
	if err := reg.WaitGone(ctx, run, channelID); err != nil {
		t.Errorf("channel still registered after it was consumed: %v", err)
	}
}

// TestShardChannelCutResumes cuts a 256 MiB transfer between two nodes'
// plugins three times: after the producer published, the test points the
// channel's Consul registration at a TCP proxy that drops the first three
// connections after 2 MiB each, then starts the consumer. The consumer's
// plugin resumes each time from the bytes it already holds (the resume
// offsets of its four hellos grow from 0) and delivers the producer's
// bytes.
func TestShardChannelCutResumes(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	c := cl.Client()
	reg := consulRegistry(t, cl)
	run := runID(t)
	const size = 256 << 20
	ch, sum := publish(t, cl, reg, "io-bound", run, size)

	proxy := startCutProxy(t, ch.Addr(), 3, 2<<20)
	moved := ch
	moved.Address, moved.Port = "127.0.0.1", proxy.port()
	ctx, cancel := context.WithTimeout(context.Background(), shardWait)
	defer cancel()
	if err := reg.Register(ctx, moved); err != nil {
		t.Fatal(err)
	}

	script := `set -e; echo "consume sha256 $(sha256sum < in/data | cut -d' ' -f1) bytes $(wc -c < in/data)"`
	in := channelSpec(size)
	a := runJob(t, c, shardJob("chan-"+run+"-q", "memory-intensive", run, "q", "consume", script, []map[string]any{in}, nil))
	got, n := checksumLine(t, taskStdout(t, c, a, "consume"), "consume")
	if got != sum || n != size {
		t.Errorf("consumer received %d bytes with sha256 %s; producer wrote %d with %s", n, got, int64(size), sum)
	}
	offsets := proxy.hellos()
	if len(offsets) != 4 || offsets[0] != 0 {
		t.Fatalf("resume offsets of the connections through the proxy %v, want 4 starting at 0", offsets)
	}
	for i := 1; i < len(offsets); i++ {
		if offsets[i] <= offsets[i-1] {
			t.Errorf("connection %d resumed at %d, not after the previous one's %d: %v", i, offsets[i], offsets[i-1], offsets)
		}
	}
	line := fetchLogs(t, cl, "memory-intensive", run, channelID)[channelID]
	if logField(line, "attempts") != "4" || logField(line, "bytes") != fmt.Sprint(size) {
		t.Errorf("fetch log: %s", line)
	}
	t.Logf("resume offsets %v; fetch: %s bytes in %s s, %s attempts", offsets, logField(line, "bytes"), logField(line, "seconds"), logField(line, "attempts"))
}

// cutProxy forwards TCP connections to a channel server. It reads each
// connection's client hello (recording its resume offset) and drops the
// first cuts connections that carry one once cutAfter bytes went from the
// server to the client. Connections without a hello (Consul's TCP check)
// pass untouched.
type cutProxy struct {
	ln       net.Listener
	target   string
	cuts     int
	cutAfter int64

	mu      sync.Mutex
	offsets []uint64
	wg      sync.WaitGroup
}

func startCutProxy(t *testing.T, target string, cuts int, cutAfter int64) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, cuts: cuts, cutAfter: cutAfter}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// hellos returns the resume offsets of the client hellos seen, in order.
func (p *cutProxy) hellos() []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]uint64(nil), p.offsets...)
}

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(conn)
		}()
	}
}

// handle forwards one connection until either side closes or it is cut.
func (p *cutProxy) handle(client net.Conn) {
	defer client.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	var cut atomic.Bool
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer up.Close()
		defer client.Close()
		hello, offset, err := readHello(client)
		if err != nil {
			return
		}
		p.mu.Lock()
		cut.Store(len(p.offsets) < p.cuts)
		p.offsets = append(p.offsets, offset)
		p.mu.Unlock()
		if _, err := up.Write(hello); err != nil {
			return
		}
		_, _ = io.Copy(up, client)
	}()
	buf := make([]byte, 32<<10)
	var sent int64
	for {
		n, err := up.Read(buf)
		if n > 0 {
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
			sent += int64(n)
			if cut.Load() && sent >= p.cutAfter {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// readHello reads a channel client hello up to its resume offset (see
// docs/channels.md: "SWCH", version, flags, run and channel as u16-length
// strings, offset u64) and returns the bytes read and the offset.
func readHello(r io.Reader) ([]byte, uint64, error) {
	head := make([]byte, 8)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, 0, err
	}
	if string(head[:4]) != "SWCH" {
		return nil, 0, fmt.Errorf("not a channel hello: %q", head[:4])
	}
	run := make([]byte, int(binary.BigEndian.Uint16(head[6:8]))+2)
	if _, err := io.ReadFull(r, run); err != nil {
		return nil, 0, err
	}
	rest := make([]byte, int(binary.BigEndian.Uint16(run[len(run)-2:]))+8)
	if _, err := io.ReadFull(r, rest); err != nil {
		return nil, 0, err
	}
	hello := append(append(head, run...), rest...)
	return hello, binary.BigEndian.Uint64(rest[len(rest)-8:]), nil
}
