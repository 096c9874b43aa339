package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/driver/channel"
	"github.com/shardwise/shardwise/driver/channel/connect"
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

// publish runs producer p of run on class, writing size bytes of source
// (a shell command's output: `seq 1 1000000000` compresses about 20x,
// `cat /dev/urandom` not at all), and returns its registered channel and
// the SHA-256 the task printed.
//
// The task also copies its own environment (/proc/$$/environ, as the
// driver started it) to alloc/environ, for tests to read.
func publish(t *testing.T, cl *cluster.Cluster, reg *registry.Registry, class, run string, size int64, source string) (registry.Channel, string, *api.Allocation) {
	t.Helper()
	script := fmt.Sprintf(`set -e; tr '\0' '\n' < /proc/$$/environ > "$NOMAD_ALLOC_DIR/environ"; mkdir -p out; %s | head -c %d > out/data; echo "produce sha256 $(sha256sum < out/data | cut -d' ' -f1)"`, source, size)
	a := runJob(t, cl.Client(), shardJob("chan-"+run+"-p", class, run, "p", "produce", script, nil,
		[]map[string]any{channelSpec(size)}))
	sum, _ := checksumLine(t, taskStdout(t, cl.Client(), a, "produce"), "produce")
	ctx, cancel := context.WithTimeout(context.Background(), shardWait)
	defer cancel()
	ch, err := reg.Lookup(ctx, run, channelID, nil)
	if err != nil {
		t.Fatalf("channel %s of run %s after the producer completed: %v", channelID, run, err)
	}
	if ch.State != registry.StateReady || ch.Size != size || ch.SHA256 != sum || ch.Address+":"+fmt.Sprint(ch.Port) != cl.ChannelAddr(class) {
		t.Fatalf("registered channel %+v; want ready, %d bytes, sha256 %s at %s", ch, size, sum, cl.ChannelAddr(class))
	}
	return ch, sum, a
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

// TestShardChannelRefusesPeers publishes a channel on the io-bound node
// and fetches it from the test process as other peers would, over mutual
// TLS with Connect leaf certificates from the cluster's Consul. Refused,
// with no byte delivered and a log line for each: a peer with the channel
// service's identity but a key from another cluster secret or another
// run; a peer with a leaf certificate of another service (the cluster's
// intentions deny it) and the right key; a TLS peer without a client
// certificate. With the channel identity and the key derived from the
// cluster's channel_secret and the run ID it gets the bytes, after which
// the producer drops the channel. No log of the cluster or event of the
// run holds the channel secret, the run key or a private key.
func TestShardChannelRefusesPeers(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	reg := consulRegistry(t, cl)
	run := runID(t)
	const size = 1 << 20
	ch, sum, producer := publish(t, cl, reg, "io-bound", run, size, "seq 1 1000000000")

	ctx, cancel := context.WithTimeout(context.Background(), shardWait)
	defer cancel()
	channelTLS := connectIdentity(t, cl, registry.ServiceName).ClientConfig(registry.ServiceName)
	fetch := func(key []byte, tc *tls.Config, dest string) (channel.Result, error) {
		return channel.FetchFile(ctx, channel.Request{
			Run: run, Channel: channelID, Key: key, ExpectSize: ch.Size, ExpectSHA256: ch.SHA256, TLS: tc,
			NoCompression: true, // raw frames: only TLS can hide the data from the capture below
			Resolve:       func(context.Context) (string, error) { return ch.Addr(), nil },
			Retry:         channel.RetryPolicy{Attempts: 2, Initial: 10 * time.Millisecond, Max: 10 * time.Millisecond},
		}, dest, nil)
	}
	dir := t.TempDir()
	right, err := channel.RunKey(cl.ChannelSecret(), "", run)
	if err != nil {
		t.Fatal(err)
	}
	otherCluster, err := channel.RunKey("not-this-cluster's-secret", "", run)
	if err != nil {
		t.Fatal(err)
	}
	otherRun, err := channel.RunKey(cl.ChannelSecret(), "", run+"-other")
	if err != nil {
		t.Fatal(err)
	}
	intruderTLS := connectIdentity(t, cl, "intruder").ClientConfig(registry.ServiceName)
	noCertTLS := channelTLS.Clone()
	noCertTLS.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &tls.Certificate{}, nil }
	for _, p := range []struct {
		name string
		key  []byte
		tls  *tls.Config
		want error
	}{
		{"other-cluster", otherCluster, channelTLS, channel.ErrRefused},
		{"other-run", otherRun, channelTLS, channel.ErrRefused},
		{"other-service", right, intruderTLS, channel.ErrRefused},
		// Refused in the TLS handshake, which the client retries (a CA
		// change may be under way) until its attempts are spent.
		{"no-certificate", right, noCertTLS, channel.ErrUpstreamGone},
	} {
		dest := filepath.Join(dir, p.name)
		if _, err := fetch(p.key, p.tls, dest); !errors.Is(err, p.want) {
			t.Errorf("fetch as %s: %v, want %v", p.name, err, p.want)
		}
		if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("fetch as %s left %s (%v)", p.name, dest, err)
		}
	}
	waitUntil(t, shardWait, "each refusal in the io-bound plugin's log", func() (bool, string) {
		var keyRefusals, intruder, plain int
		for _, l := range pluginLogLines(t, cl, "io-bound", "refused channel peer") {
			switch {
			case logField(l, "run") == run && logField(l, "channel") == channelID && strings.Contains(l, "run's credential"):
				keyRefusals++
			case logField(l, "run") == run && strings.Contains(l, "intruder"):
				intruder++
			case strings.Contains(l, "refused channel peer: TLS"):
				plain++
			}
		}
		return keyRefusals >= 2 && intruder >= 1 && plain >= 1,
			fmt.Sprintf("%d run-key refusals, %d of the intruder service, %d TLS refusals", keyRefusals, intruder, plain)
	})

	// The accepted fetch goes through a proxy that records every byte both
	// ways, as a capture of the loopback traffic would: the data (`seq`
	// output, lines such as "100000\n100001\n") must not appear in clear.
	capture := startCaptureProxy(t, ch.Addr())
	viaCapture := ch
	viaCapture.Address, viaCapture.Port = "127.0.0.1", capture.port()
	ch = viaCapture
	res, err := fetch(right, channelTLS, filepath.Join(dir, "right"))
	if err != nil || res.Size != size || res.SHA256 != sum {
		t.Fatalf("fetch with the run key: %+v, %v; want %d bytes with sha256 %s", res, err, size, sum)
	}
	if seen := capture.bytes(); len(seen) < size {
		t.Fatalf("the capture saw %d bytes, fewer than the %d transferred", len(seen), size)
	} else if marker := []byte("\n100000\n100001\n"); bytes.Contains(seen, marker) {
		t.Fatalf("plaintext %q of the channel's data in the capture", marker)
	}
	// Consumed, the channel stays served for a new allocation of its
	// consumer (ConsumedRetention, docs/channels.md).
	if _, err := reg.Lookup(ctx, run, channelID, func(registry.Channel) bool { return true }); err != nil {
		t.Errorf("channel gone right after it was consumed: %v", err)
	}
	// The producer's environment as the driver gave it to the task (the
	// task's own /proc/<pid>/environ).
	env := allocFile(t, cl.Client(), producer, "alloc/environ")
	if !strings.Contains(env, "NOMAD_ALLOC_ID="+producer.ID) {
		t.Fatalf("alloc/environ of the producer is not its environment:\n%s", env)
	}
	assertNoSecrets(t, cl, run, map[string]string{
		"channel_secret": cl.ChannelSecret(), "run key": hex.EncodeToString(right),
		"run key (base64)": base64.StdEncoding.EncodeToString(right), "private key": "PRIVATE KEY",
	}, map[string]string{"the producer task's environment": env})
}

// connectIdentity returns a Connect identity of service from the
// cluster's Consul agent.
func connectIdentity(t *testing.T, cl *cluster.Cluster, service string) *connect.Identity {
	t.Helper()
	client, err := consulapi.NewClient(&consulapi.Config{Address: strings.TrimPrefix(cl.ConsulAddr(), "http://"), Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := connect.Start(ctx, client, service, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(id.Close)
	return id
}

// assertNoSecrets fails when any secret value appears in a log of the
// cluster (the agents' logs, every allocation's task logs), in a task
// event of the run's jobs or in one of texts (where -> text, e.g. a
// task's environment).
func assertNoSecrets(t *testing.T, cl *cluster.Cluster, run string, secrets, texts map[string]string) {
	t.Helper()
	var files []string
	err := filepath.WalkDir(cl.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // allocation dirs come and go
		}
		// Regular files only: Nomad's log shippers keep FIFOs in alloc/logs.
		if d.Type().IsRegular() && (strings.HasSuffix(path, ".log") || strings.Contains(path, "/alloc/logs/")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(where, text string) {
		for name, v := range secrets {
			if v != "" && strings.Contains(text, v) {
				t.Errorf("%s holds the %s", where, name)
			}
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			check(f, string(b))
		}
	}
	for where, text := range texts {
		check(where, text)
	}
	jobs, _, err := cl.Client().Jobs().PrefixList("chan-" + run)
	if err != nil {
		t.Fatal(err)
	}
	events := 0
	for _, j := range jobs {
		stubs, _, err := cl.Client().Jobs().Allocations(j.ID, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stubs {
			for task, ts := range s.TaskStates {
				for _, ev := range ts.Events {
					events++
					check(fmt.Sprintf("event of %s/%s", s.ID, task), ev.DisplayMessage+" "+ev.Message+" "+fmt.Sprint(ev.Details))
				}
			}
		}
	}
	if len(files) < 3 || events == 0 {
		t.Fatalf("checked only %d log files and %d events", len(files), events)
	}
	t.Logf("no secret in %d log files, %d task events and %d other texts", len(files), events, len(texts))
}

// TestShardChannelCutResumes cuts a 256 MiB transfer between two nodes'
// plugins three times: after the producer published, the test points the
// channel's Consul registration at a TCP proxy that drops the first three
// data connections after 24 MiB each, then starts the consumer. The
// bytes are random, which zstd cannot shrink, so what crosses the proxy is
// the stream itself. The
// connections are mutual TLS, so the proxy cannot read the resume offsets;
// instead it counts the bytes: a consumer that resumes from the bytes it
// already holds needs little more than 256 MiB from the producer in all,
// one that started over would need 3 x 24 MiB more. The consumer's plugin
// delivers the producer's bytes after four connections.
func TestShardChannelCutResumes(t *testing.T) {
	cl := cluster.Shared(t)
	requireShardDriver(t, cl)
	c := cl.Client()
	reg := consulRegistry(t, cl)
	run := runID(t)
	const size, cuts, cutAfter = 256 << 20, 3, 24 << 20
	// Random bytes: their zstd frames go out raw, so the bytes through the
	// proxy are the stream's (plus framing and TLS records).
	ch, sum, _ := publish(t, cl, reg, "io-bound", run, size, "cat /dev/urandom")

	proxy := startCutProxy(t, ch.Addr(), cuts, cutAfter)
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
	conns, sent := proxy.stats()
	if conns != cuts+1 {
		t.Errorf("%d data connections through the proxy, want %d", conns, cuts+1)
	}
	// Resuming wastes at most the frame cut short (1 MiB) per cut, plus
	// the TLS records' overhead (under 1%).
	if limit := int64(size) + size/100 + cuts*(2<<20); sent > limit {
		t.Errorf("the producer sent %d bytes through the proxy, over the %d of a resuming consumer (starting over: about %d)",
			sent, limit, int64(size)+cuts*cutAfter)
	}
	line := fetchLogs(t, cl, "memory-intensive", run, channelID)[channelID]
	if logField(line, "attempts") != fmt.Sprint(cuts+1) || logField(line, "bytes") != fmt.Sprint(size) {
		t.Errorf("fetch log: %s", line)
	}
	t.Logf("%d connections, %d bytes from the producer for %d; fetch: %s bytes in %s s, %s attempts",
		conns, sent, size, logField(line, "bytes"), logField(line, "seconds"), logField(line, "attempts"))
}

// captureProxy forwards TCP connections to target and records every byte
// crossing it, both ways.
type captureProxy struct {
	ln   net.Listener
	mu   sync.Mutex
	seen []byte
}

func startCaptureProxy(t *testing.T, target string) *captureProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &captureProxy{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			wg.Go(func() { p.pipe(u, c) })
			wg.Go(func() { p.pipe(c, u) })
		}
	})
	return p
}

func (p *captureProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *captureProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			p.seen = append(p.seen, buf[:n]...)
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *captureProxy) bytes() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.seen...)
}

// cutProxy forwards TCP connections to a channel server and drops the
// first cuts data connections once cutAfter bytes went from the server to
// the client. A data connection is one whose client sent something (the
// TLS handshake); Consul's TCP check connects and closes without a byte.
type cutProxy struct {
	ln       net.Listener
	target   string
	cuts     int
	cutAfter int64

	mu    sync.Mutex
	conns int   // data connections seen
	sent  int64 // bytes from the server to clients, all connections
	wg    sync.WaitGroup
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

// stats returns the data connections seen and the bytes the server sent.
func (p *cutProxy) stats() (int, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns, p.sent
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
	first := make([]byte, 1)
	if _, err := io.ReadFull(client, first); err != nil {
		return // a health check
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	p.mu.Lock()
	p.conns++
	cut := p.conns <= p.cuts
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer up.Close()
		defer client.Close()
		if _, err := up.Write(first); err != nil {
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
			p.mu.Lock()
			p.sent += int64(n)
			p.mu.Unlock()
			if cut && sent >= p.cutAfter {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
