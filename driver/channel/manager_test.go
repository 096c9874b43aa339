package channel

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	hclog "github.com/hashicorp/go-hclog"
	"github.com/shardwise/shardwise/driver/channel/internal/consultest"
	"github.com/shardwise/shardwise/driver/channel/registry"
	"github.com/shardwise/shardwise/sdk"
)

// twoManagers starts a real Consul dev agent (Connect enabled, intentions
// letting only the channel service pull) and two managers (two driver
// plugins) registered with it, each with its own data dir and port.
func twoManagers(t *testing.T, level int, opts ...func(*Config)) (producer, consumer *Manager, reg *registry.Registry) {
	t.Helper()
	agent := consultest.Start(t)
	reg, err := registry.New(agent.Config(), registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := api.NewClient(agent.Config())
	if err != nil {
		t.Fatal(err)
	}
	if err := registry.DenyAllButChannels(context.Background(), client); err != nil {
		t.Fatal(err)
	}
	return testManager(t, agent, "producer", level, nil, opts...), testManager(t, agent, "consumer", level, nil, opts...), reg
}

// testManager starts a manager on agent, logging at warn to stderr and to
// logBuf when not nil.
func testManager(t *testing.T, agent *consultest.Agent, name string, level int, logBuf io.Writer, opts ...func(*Config)) *Manager {
	t.Helper()
	return managerAt(t, agent, filepath.Join(t.TempDir(), name), name, level, logBuf, opts...)
}

// managerAt starts a manager with its data in dir.
func managerAt(t *testing.T, agent *consultest.Agent, dir, name string, level int, logBuf io.Writer, opts ...func(*Config)) *Manager {
	t.Helper()
	out := io.Writer(os.Stderr)
	if logBuf != nil {
		out = io.MultiWriter(os.Stderr, logBuf)
	}
	cfg := Config{
		BindAddr: "127.0.0.1", DataDir: dir, CompressionLevel: level,
		Consul: agent.Config(), StreamWindow: 1 << 20,
		Logger: hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.Warn, Output: out}),
	}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func managerCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// events collects progress lines.
type events struct {
	mu    sync.Mutex
	lines []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lines = append(e.lines, s)
}

func (e *events) has(prefix string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range e.lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// TestManagerEndToEnd publishes a 72 MiB file, a directory and a plain
// dependency on one manager and fetches them on another through Consul:
// the consumer starts first and reports that it waits, the bytes match,
// consumed channels are deregistered, and fetching again after that is
// answered from the consumer's own record.
func TestManagerEndToEnd(t *testing.T) {
	producer, consumer, reg := twoManagers(t, 3, func(c *Config) { c.ConsumedRetention = time.Second })
	ctx := managerCtx(t)
	prodDir, consDir := t.TempDir(), t.TempDir()
	big := textBytes(72<<20, 21)
	mustWrite(t, filepath.Join(prodDir, "out/big"), big)
	mustWrite(t, filepath.Join(prodDir, "out/tree/a.txt"), []byte("alpha"))
	mustWrite(t, filepath.Join(prodDir, "out/tree/sub/b.bin"), randomBytes(3000, 1))

	spec := TaskChannels{Graph: "g", Run: "run-e2e", Shard: "p", AllocID: "alloc-p",
		Outputs: []OutputChannel{
			{ID: "p->c/big", Name: "big", To: "c", Path: "out/big"},
			{ID: "p->c/tree", Name: "tree", To: "c", Path: "out/tree"},
			{ID: "p->c", To: "c"},
		}}
	in := TaskChannels{Graph: "g", Run: "run-e2e", Shard: "c", AllocID: "alloc-c",
		Inputs: []InputChannel{
			{ID: "p->c/big", From: "p", Name: "big", Path: "in/big"},
			{ID: "p->c/tree", From: "p", Name: "tree", Path: "in/tree"},
			{ID: "p->c", From: "p"},
		}}
	ev := &events{}
	fetched := make(chan error, 1)
	waiting := make(chan struct{})
	var once sync.Once
	go func() {
		fetched <- consumer.FetchInputs(ctx, in, consDir, func(s string) {
			ev.add(s)
			if strings.HasPrefix(s, "waiting for upstream") {
				once.Do(func() { close(waiting) })
			}
		})
	}()
	<-waiting // the consumer is blocked in a Consul query before anything is published
	if err := producer.PublishOutputs(ctx, spec, prodDir); err != nil {
		t.Fatal(err)
	}
	if err := <-fetched; err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(consDir, "in/big"))
	if !bytes.Equal(got, big) {
		t.Fatalf("big: %d bytes, sha %s; want %d, %s", len(got), sha(got), len(big), sha(big))
	}
	if b, _ := os.ReadFile(filepath.Join(consDir, "in/tree/sub/b.bin")); !bytes.Equal(b, randomBytes(3000, 1)) {
		t.Fatal("directory file differs")
	}
	if b, _ := os.ReadFile(filepath.Join(consDir, "in/tree/a.txt")); string(b) != "alpha" {
		t.Fatalf("a.txt = %q", b)
	}
	for _, p := range []string{"waiting for upstream p/big", "waiting for upstream p", "fetching p/big (75497472 bytes)"} {
		if !ev.has(p) {
			t.Errorf("no progress line %q in %q", p, ev.lines)
		}
	}
	waitDeregistered(t, ctx, reg, "run-e2e", "p->c/big", "p->c/tree", "p->c")
	if n := len(producer.store.List()); n != 0 {
		t.Fatalf("producer still stores %d consumed channels", n)
	}
	// Again, as after a plugin restart: answered from the records, although
	// the channels are gone upstream.
	if err := consumer.FetchInputs(ctx, in, consDir, nil); err != nil {
		t.Fatalf("idempotent fetch: %v", err)
	}
}

// waitDeregistered follows the channels with blocking queries until none
// is registered.
func waitDeregistered(t *testing.T, ctx context.Context, reg *registry.Registry, run string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := reg.WaitGone(ctx, run, id); err != nil {
			t.Fatalf("channel %s still registered: %v", id, err)
		}
	}
}

func mustWrite(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestManagerStream runs a streaming edge, the producer's output a file
// served as it grows (default) or a named pipe through a window in memory
// (MemoryStreams), the consumer's input a named pipe: the test plays both
// tasks, writing the producer's output and reading the consumer's input
// concurrently.
func TestManagerStream(t *testing.T) {
	agent := consultest.Start(t)
	for _, mode := range []struct {
		name   string
		memory bool
	}{{"file", false}, {"memory", true}} {
		t.Run(mode.name, func(t *testing.T) {
			opt := func(c *Config) { c.MemoryStreams = mode.memory }
			producer := testManager(t, agent, "producer", 1, nil, opt)
			consumer := testManager(t, agent, "consumer", 1, nil, opt)
			managerStream(t, producer, consumer)
		})
	}
}

func managerStream(t *testing.T, producer, consumer *Manager) {
	ctx := managerCtx(t)
	prodDir, consDir := t.TempDir(), t.TempDir()
	data := textBytes(24<<20, 22)
	out := TaskChannels{Graph: "g", Run: "run-s", Shard: "p", AllocID: "alloc-p",
		Outputs: []OutputChannel{{ID: "p->c", Name: "log", To: "c", Path: "out/log", Stream: true}}}
	in := TaskChannels{Graph: "g", Run: "run-s", Shard: "c", AllocID: "alloc-c",
		Inputs: []InputChannel{{ID: "p->c", From: "p", Name: "log", Path: "in/log", Stream: true}}}
	taskCtx, stopTask := context.WithCancel(ctx)
	defer stopTask()
	if err := producer.StreamOutputs(taskCtx, out, prodDir); err != nil {
		t.Fatal(err)
	}
	if err := consumer.FetchInputs(taskCtx, in, consDir, nil); err != nil {
		t.Fatal(err)
	}
	read := make(chan []byte, 1)
	go func() { // the consuming task
		f, err := os.Open(filepath.Join(consDir, "in/log"))
		if err != nil {
			t.Error(err)
			read <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		read <- b
	}()
	w, err := os.OpenFile(filepath.Join(prodDir, "out/log"), os.O_WRONLY, 0) // the producing task
	if err != nil {
		t.Fatal(err)
	}
	for p := data; len(p) > 0; p = p[min(len(p), 64<<10):] {
		if _, err := w.Write(p[:min(len(p), 64<<10)]); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if err := producer.PublishOutputs(ctx, out, prodDir); err != nil {
		t.Fatal(err)
	}
	if got := <-read; !bytes.Equal(got, data) {
		t.Fatalf("stream: %d bytes sha %s, want %d sha %s", len(got), sha(got), len(data), sha(data))
	}
}

// TestManagerFailsWhenUpstreamGone: the producer published, then its
// plugin went away for good; the consumer fails with ErrUpstreamGone after
// its bounded retries instead of hanging.
func TestManagerFailsWhenUpstreamGone(t *testing.T) {
	// The policy is set through the config: a write to cfg after start
	// races with the manager's goroutines (-race saw it).
	producer, consumer, _ := twoManagers(t, 0, func(c *Config) {
		c.Retry = RetryPolicy{Attempts: 3, Initial: time.Millisecond, Max: 2 * time.Millisecond}
	})
	ctx := managerCtx(t)
	prodDir := t.TempDir()
	mustWrite(t, filepath.Join(prodDir, "out/x"), []byte("data"))
	out := TaskChannels{Run: "run-g", Shard: "p", AllocID: "alloc-p", Outputs: []OutputChannel{{ID: "x", Name: "x", Path: "out/x"}}}
	if err := producer.PublishOutputs(ctx, out, prodDir); err != nil {
		t.Fatal(err)
	}
	producer.Close() // registered, still passing in Consul, but nobody answers
	in := TaskChannels{Run: "run-g", Shard: "c", AllocID: "a", Inputs: []InputChannel{{ID: "x", From: "p", Name: "x", Path: "in/x"}}}
	err := consumer.FetchInputs(ctx, in, t.TempDir(), nil)
	if !errors.Is(err, ErrUpstreamGone) || !strings.Contains(err.Error(), "p/x") {
		t.Fatalf("err = %v, want ErrUpstreamGone naming p/x", err)
	}
	if got := sdk.ParseUpstreamGone(err.Error()); got != nil {
		t.Errorf("without from_alloc the error tags %v: the launcher cannot know the producer completed", got)
	}
	// Told the producer's completed allocation, the consumer's error
	// tags it, so that the launcher runs the producer again.
	in.AllocID, in.Inputs[0].FromAlloc = "a2", "alloc-p"
	err = consumer.FetchInputs(ctx, in, t.TempDir(), nil)
	if got := sdk.ParseUpstreamGone(errText(err)); !errors.Is(err, ErrUpstreamGone) || len(got) != 1 || got[0] != (sdk.UpstreamGone{Shard: "p", Alloc: "alloc-p"}) {
		t.Fatalf("err = %v, want ErrUpstreamGone tagging p/alloc-p", err)
	}
}

// A consumer told its upstream allocation never reads a registration of
// another allocation of the same channel: with only a stale one (an
// earlier allocation's, on another plugin) registered it waits, and it
// fetches the live allocation's bytes once they are registered. The
// stale plugin never sees a connection.
func TestManagerReadsOnlyTheNamedAllocation(t *testing.T) {
	agent := consultest.Start(t)
	stale := testManager(t, agent, "stale", 0, nil)
	live := testManager(t, agent, "live", 0, nil)
	consumer := testManager(t, agent, "consumer", 0, nil)
	ctx := managerCtx(t)
	out := func(alloc string, data []byte) (TaskChannels, string) {
		dir := t.TempDir()
		mustWrite(t, filepath.Join(dir, "out/x"), data)
		return TaskChannels{Graph: "g", Run: "run-alloc", Shard: "p", Job: "job-p", AllocID: alloc,
			Outputs: []OutputChannel{{ID: "p->c/x", Name: "x", To: "c", Path: "out/x"}}}, dir
	}
	oldSpec, oldDir := out("alloc-old", []byte("stale bytes of an earlier allocation"))
	if err := stale.PublishOutputs(ctx, oldSpec, oldDir); err != nil {
		t.Fatal(err)
	}
	in := TaskChannels{Graph: "g", Run: "run-alloc", Shard: "c", AllocID: "alloc-c",
		Inputs: []InputChannel{{ID: "p->c/x", From: "p", Name: "x", FromAlloc: "alloc-new", Path: "in/x"}}}
	consDir := t.TempDir()
	waiting := make(chan struct{})
	var once sync.Once
	fetched := make(chan error, 1)
	go func() {
		fetched <- consumer.FetchInputs(ctx, in, consDir, func(s string) {
			if strings.HasPrefix(s, "waiting for upstream") {
				once.Do(func() { close(waiting) })
			}
		})
	}()
	select {
	case <-waiting:
	case err := <-fetched:
		t.Fatalf("fetch returned (%v) with only a stale registration", err)
	}
	liveData := []byte("the live allocation's bytes")
	newSpec, newDir := out("alloc-new", liveData)
	if err := live.PublishOutputs(ctx, newSpec, newDir); err != nil {
		t.Fatal(err)
	}
	if err := <-fetched; err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(consDir, "in/x")); !bytes.Equal(got, liveData) {
		t.Fatalf("consumer read %q, want %q", got, liveData)
	}
	// A consumed channel is deleted by its producer: the stale one never was.
	if n := len(stale.store.List()); n != 1 {
		t.Fatalf("the stale plugin stores %d channels, want its unread 1", n)
	}
}

// A producer plugin that dies in the middle of a file-backed stream and
// starts again (a new manager on the same data dir, another port) serves
// the stream again from the task's file: the consumer resumes at its
// offset and receives every byte once, SHA-256 verified over the whole.
func TestManagerStreamSurvivesProducerRestart(t *testing.T) {
	agent := consultest.Start(t)
	prodData := filepath.Join(t.TempDir(), "producer")
	producer := managerAt(t, agent, prodData, "producer", 0, nil)
	consumer := testManager(t, agent, "consumer", 0, nil)
	ctx := managerCtx(t)
	prodDir, consDir := t.TempDir(), t.TempDir()
	data := textBytes(16<<20, 23)
	half := len(data) / 2
	out := TaskChannels{Graph: "g", Run: "run-r", Shard: "p", AllocID: "alloc-p",
		Outputs: []OutputChannel{{ID: "p->c", Name: "log", To: "c", Path: "out/log", Stream: true}}}
	in := TaskChannels{Graph: "g", Run: "run-r", Shard: "c", AllocID: "alloc-c",
		Inputs: []InputChannel{{ID: "p->c", From: "p", Name: "log", Path: "in/log", Stream: true}}}
	if err := producer.StreamOutputs(ctx, out, prodDir); err != nil {
		t.Fatal(err)
	}
	if err := consumer.FetchInputs(ctx, in, consDir, nil); err != nil {
		t.Fatal(err)
	}
	got, received := consumeTask(t, filepath.Join(consDir, "in/log"))
	w, err := os.OpenFile(filepath.Join(prodDir, "out/log"), os.O_WRONLY|os.O_APPEND, 0) // the producing task
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write(data[:half]); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); received.Load() < int64(half)/2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("consumer received only %d bytes", received.Load())
		}
	}
	producer.Close() // the plugin dies: its connections break
	restarted := managerAt(t, agent, prodData, "producer-restarted", 0, nil)
	if _, err := w.Write(data[half:]); err != nil { // the task went on writing
		t.Fatal(err)
	}
	if err := restarted.PublishOutputs(ctx, out, prodDir); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, data) {
			t.Fatalf("consumer read %d bytes, sha %s; want %d, %s", len(b), sha(b), len(data), sha(data))
		}
	case <-ctx.Done():
		t.Fatalf("stream not complete after the restart (received %d of %d bytes)", received.Load(), len(data))
	}
}

// The Consul agent restarts in the middle of a stream. A dev agent comes
// back with nothing: no registration and a new Connect CA. The transfer
// under way completes (it needs no Consul), the producer registers again
// what the agent lost (a file channel published before the restart is
// fetched after it), the identities move to the new CA, and a channel
// published after the restart is fetched over the new CA's mutual TLS.
func TestTransferSurvivesConsulRestart(t *testing.T) {
	agent := consultest.Start(t)
	fast := func(c *Config) { c.RegistryOptions.CheckInterval = time.Second }
	producer := testManager(t, agent, "producer", 0, nil, fast)
	consumer := testManager(t, agent, "consumer", 0, nil, fast)
	ctx := managerCtx(t)
	prodDir, consDir := t.TempDir(), t.TempDir()
	data := textBytes(8<<20, 24)
	out := TaskChannels{Graph: "g", Run: "run-cr", Shard: "p", AllocID: "alloc-p",
		Outputs: []OutputChannel{{ID: "p->c", Name: "log", To: "c", Path: "out/log", Stream: true}}}
	in := TaskChannels{Graph: "g", Run: "run-cr", Shard: "c", AllocID: "alloc-c",
		Inputs: []InputChannel{{ID: "p->c", From: "p", Name: "log", Path: "in/log", Stream: true}}}
	if err := producer.StreamOutputs(ctx, out, prodDir); err != nil {
		t.Fatal(err)
	}
	if err := consumer.FetchInputs(ctx, in, consDir, nil); err != nil {
		t.Fatal(err)
	}
	got, received := consumeTask(t, filepath.Join(consDir, "in/log"))
	w, err := os.OpenFile(filepath.Join(prodDir, "out/log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write(data[:len(data)/2])
	for deadline := time.Now().Add(time.Minute); received.Load() < 1<<20; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("consumer received only %d bytes", received.Load())
		}
	}
	// A file channel published before the restart and fetched after it:
	// the agent loses its registration, the producer's resync restores it.
	mustWrite(t, filepath.Join(prodDir, "out/early"), data[:2<<20])
	early := TaskChannels{Graph: "g", Run: "run-cr", Shard: "p", AllocID: "alloc-p",
		Outputs: []OutputChannel{{ID: "p->c/early", Name: "early", To: "c", Path: "out/early"}}}
	if err := producer.PublishOutputs(ctx, early, prodDir); err != nil {
		t.Fatal(err)
	}
	before := producer.ident.Leaf()
	agent.Restart(t)
	w.Write(data[len(data)/2:])
	if err := producer.PublishOutputs(ctx, out, prodDir); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("stream across the restart: %d bytes, want %d equal", len(b), len(data))
	}

	// A new channel after the restart: both ends need the new CA.
	for deadline := time.Now().Add(time.Minute); bytes.Equal(producer.ident.Leaf().AuthorityKeyId, before.AuthorityKeyId) ||
		!bytes.Equal(consumer.ident.Leaf().AuthorityKeyId, producer.ident.Leaf().AuthorityKeyId); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("identities not on the new CA a minute after the restart")
		}
	}
	mustWrite(t, filepath.Join(prodDir, "out/after"), data[:1<<20])
	out2 := TaskChannels{Graph: "g", Run: "run-cr", Shard: "p", AllocID: "alloc-p",
		Outputs: []OutputChannel{{ID: "p->c/after", Name: "after", To: "c", Path: "out/after"}}}
	in2 := TaskChannels{Graph: "g", Run: "run-cr", Shard: "c", AllocID: "alloc-c",
		Inputs: []InputChannel{{ID: "p->c/after", From: "p", Name: "after", Path: "in/after"},
			{ID: "p->c/early", From: "p", Name: "early", Path: "in/early"}}}
	if err := producer.PublishOutputs(ctx, out2, prodDir); err != nil {
		t.Fatal(err)
	}
	if err := consumer.FetchInputs(ctx, in2, consDir, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(consDir, "in/after")); !bytes.Equal(b, data[:1<<20]) {
		t.Fatal("channel published after the restart differs")
	}
	if b, _ := os.ReadFile(filepath.Join(consDir, "in/early")); !bytes.Equal(b, data[:2<<20]) {
		t.Fatal("channel published before the restart differs")
	}
}

// consumeTask plays a consuming task: it reads path (a named pipe) to its
// end of file in the background, counting the bytes as they come, and
// sends everything it read on the returned channel.
func consumeTask(t *testing.T, path string) (<-chan []byte, *atomic.Int64) {
	got := make(chan []byte, 1)
	received := &atomic.Int64{}
	go func() {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			got <- nil
			return
		}
		defer f.Close()
		var b bytes.Buffer
		buf := make([]byte, 64<<10)
		for {
			n, err := f.Read(buf)
			b.Write(buf[:n])
			received.Add(int64(n))
			if err != nil {
				break
			}
		}
		got <- b.Bytes()
	}()
	return got, received
}

// The consumer's plugin dies in the middle of a stream: the task's input
// pipe loses its writer and the task reads an early end of file. The
// restarted plugin, recovering the running task, fails the stream input
// with ErrStreamCut (saying how many bytes the task got) instead of
// resuming into a pipe whose reader already saw the end; the task run
// again in the same allocation gets the whole stream from its start.
func TestManagerStreamCutByConsumerRestart(t *testing.T) {
	agent := consultest.Start(t)
	producer := testManager(t, agent, "producer", 0, nil)
	consData := filepath.Join(t.TempDir(), "consumer")
	consumer := managerAt(t, agent, consData, "consumer", 0, nil)
	ctx := managerCtx(t)
	prodDir, consDir := t.TempDir(), t.TempDir()
	data := textBytes(8<<20, 25)
	out := TaskChannels{Graph: "g", Run: "run-k", Shard: "p", AllocID: "alloc-p",
		Outputs: []OutputChannel{{ID: "p->c", Name: "log", To: "c", Path: "out/log", Stream: true}}}
	in := TaskChannels{Graph: "g", Run: "run-k", Shard: "c", AllocID: "alloc-c",
		Inputs: []InputChannel{{ID: "p->c", From: "p", Name: "log", Path: "in/log", Stream: true}}}
	if err := producer.StreamOutputs(ctx, out, prodDir); err != nil {
		t.Fatal(err)
	}
	taskCtx, taskEnd := context.WithCancel(ctx) // the plugin's streams of the task
	if err := consumer.FetchInputs(taskCtx, in, consDir, nil); err != nil {
		t.Fatal(err)
	}
	got, received := consumeTask(t, filepath.Join(consDir, "in/log"))
	w, err := os.OpenFile(filepath.Join(prodDir, "out/log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write(data[:len(data)/2]); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); received.Load() < 1<<20; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("consumer received only %d bytes", received.Load())
		}
	}
	// The plugin dies: its end of the pipe closes, the task sees an end
	// of file early.
	taskEnd()
	consumer.Close()
	short := <-got
	if len(short) >= len(data) {
		t.Fatalf("the task read %d bytes, want an early end of file", len(short))
	}

	restarted := managerAt(t, agent, consData, "consumer-restarted", 0, nil)
	recovered := in
	recovered.Recovered = true
	err = restarted.FetchInputs(ctx, recovered, consDir, nil)
	if !errors.Is(err, ErrStreamCut) || !strings.Contains(err.Error(), "input p/log") || !strings.Contains(err.Error(), " bytes") {
		t.Fatalf("FetchInputs of the recovered task: %v, want ErrStreamCut naming p/log and the bytes delivered", err)
	}
	t.Logf("task read %d bytes before the end of file; %v", len(short), err)

	// The task runs again in the same allocation: the whole stream, from
	// its start, though the cut run's delivery point was recorded.
	if err := restarted.FetchInputs(ctx, in, consDir, nil); err != nil {
		t.Fatal(err)
	}
	again, _ := consumeTask(t, filepath.Join(consDir, "in/log"))
	if _, err := w.Write(data[len(data)/2:]); err != nil {
		t.Fatal(err)
	}
	if err := producer.PublishOutputs(ctx, out, prodDir); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-again:
		if !bytes.Equal(b, data) {
			t.Fatalf("the task run again read %d bytes, sha %s; want %d, %s", len(b), sha(b), len(data), sha(data))
		}
	case <-ctx.Done():
		t.Fatal("the stream of the task run again did not complete")
	}
}

// A consumer's fetch does not end the channel: a new allocation of the
// consumer (its task failed after the fetch; a Nomad reschedule or a
// launcher retry) fetches the same bytes. ConsumedRetention after the
// first fetch the producer deregisters and deletes it.
func TestManagerKeepsConsumedChannelForNewAllocation(t *testing.T) {
	producer, consumer, reg := twoManagers(t, 0, func(c *Config) { c.ConsumedRetention = 3 * time.Second })
	ctx := managerCtx(t)
	prodDir := t.TempDir()
	data := randomBytes(300_000, 7)
	mustWrite(t, filepath.Join(prodDir, "out/data"), data)
	out := TaskChannels{Run: "run-k", Shard: "gen", AllocID: "alloc-gen",
		Outputs: []OutputChannel{{ID: "c0", Name: "data", To: "use", Path: "out/data"}}}
	if err := producer.PublishOutputs(ctx, out, prodDir); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	for _, alloc := range []string{"alloc-use-1", "alloc-use-2"} {
		in := TaskChannels{Run: "run-k", Shard: "use", AllocID: alloc,
			Inputs: []InputChannel{{ID: "c0", From: "gen", Name: "data", Path: "in/gen-data"}}}
		dir := t.TempDir()
		fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := consumer.FetchInputs(fctx, in, dir, nil)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", alloc, err)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "in/gen-data")); !bytes.Equal(got, data) {
			t.Fatalf("%s: %d bytes, sha %s; want %s", alloc, len(got), sha(got), sha(data))
		}
	}
	if time.Since(began) < 3*time.Second && len(producer.store.List()) != 1 {
		t.Fatalf("producer dropped the channel before ConsumedRetention")
	}
	waitDeregistered(t, ctx, reg, "run-k", "c0")
	if took := time.Since(began); took < 3*time.Second {
		t.Fatalf("deregistered after %v, before ConsumedRetention (3s)", took)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(producer.store.List()) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("producer still stores the consumed channel after ConsumedRetention")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A consumer told its producer's (completed) allocation, whose channel no
// plugin serves (the producer's node or data lost), fails after GoneAfter
// with ErrUpstreamGone naming the upstream, instead of waiting forever.
func TestManagerFailsFastWhenNamedProducerLost(t *testing.T) {
	_, consumer, _ := twoManagers(t, 0, func(c *Config) { c.GoneAfter = 2 * time.Second })
	ctx := managerCtx(t)
	in := TaskChannels{Run: "run-lost", Shard: "use", AllocID: "alloc-use-2",
		Inputs: []InputChannel{{ID: "c0", From: "s000-gen", Name: "data", FromAlloc: "alloc-gen", Path: "in/gen-data"}}}
	began := time.Now()
	err := consumer.FetchInputs(ctx, in, t.TempDir(), nil)
	if !errors.Is(err, ErrUpstreamGone) || !strings.Contains(err.Error(), "s000-gen/data") || !strings.Contains(err.Error(), "alloc-gen") {
		t.Fatalf("err = %v, want ErrUpstreamGone naming s000-gen/data and alloc-gen", err)
	}
	// The launcher reads the producer to run again from the tag.
	if got := sdk.ParseUpstreamGone(err.Error()); len(got) != 1 || got[0] != (sdk.UpstreamGone{Shard: "s000-gen", Alloc: "alloc-gen"}) {
		t.Fatalf("ParseUpstreamGone(%q) = %v, want s000-gen/alloc-gen", err, got)
	}
	if took := time.Since(began); took > 30*time.Second {
		t.Fatalf("failed after %v", took)
	}
	// Without a named producer allocation (first attempt, producer maybe
	// not run yet) the consumer keeps waiting.
	in.Inputs[0].FromAlloc = ""
	wctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	if err := consumer.FetchInputs(wctx, in, t.TempDir(), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("without from_alloc: err = %v, want to wait until the deadline", err)
	}
}

// errText is err's message, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
