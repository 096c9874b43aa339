package driver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
)

// fakeChannels is a ChannelManager for tests: FetchInputs writes each
// input's Path with "data from <From>" and PublishOutputs records which
// output files exist; gates hold either call until the test opens them.
type fakeChannels struct {
	fetchGate   chan struct{} // nil: FetchInputs does not wait
	publishGate chan struct{} // nil: PublishOutputs does not wait
	fetchErr    error
	publishErr  error

	mu        sync.Mutex
	fetches   []TaskChannels
	publishes []TaskChannels
	present   []string // output paths that existed at publish time
	closed    bool
}

func (f *fakeChannels) factory() ChannelFactory {
	return func(*Config, hclog.Logger) (ChannelManager, error) { return f, nil }
}

func (f *fakeChannels) FetchInputs(ctx context.Context, spec TaskChannels, taskDir string, progress func(string)) error {
	f.mu.Lock()
	f.fetches = append(f.fetches, spec)
	f.mu.Unlock()
	for _, in := range spec.Inputs {
		progress("waiting for upstream " + in.From + "/" + in.Name)
	}
	if f.fetchGate != nil {
		select {
		case <-f.fetchGate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if f.fetchErr != nil {
		return f.fetchErr
	}
	for _, in := range spec.Inputs {
		path := filepath.Join(taskDir, in.Path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte("data from "+in.From+"\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeChannels) PublishOutputs(ctx context.Context, spec TaskChannels, taskDir string) error {
	f.mu.Lock()
	f.publishes = append(f.publishes, spec)
	for _, out := range spec.Outputs {
		if exists(filepath.Join(taskDir, out.Path)) {
			f.present = append(f.present, out.Path)
		}
	}
	f.mu.Unlock()
	if f.publishGate != nil {
		select {
		case <-f.publishGate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return f.publishErr
}

func (f *fakeChannels) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// isClosed reports whether Close was called.
func (f *fakeChannels) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// counts returns how often FetchInputs and PublishOutputs were called.
func (f *fakeChannels) counts() (fetches, publishes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.fetches), len(f.publishes)
}

// withChannels gives a task one input from s000 and one output to s002.
func withChannels(tc *TaskConfig) {
	tc.Graph, tc.Run, tc.Shard, tc.Shards = "demo", "r1", "s001", []string{"s001"}
	tc.Inputs = []ChannelConfig{{ID: "c0", Name: "raw", From: "s000", FromTask: "ingest", To: "s001", ToTask: "prep", Path: "in/raw", Bytes: 10}}
	tc.Outputs = []ChannelConfig{{ID: "c1", Name: "clean", From: "s001", FromTask: "prep", To: "s002", ToTask: "train", Path: "in/prep-clean"}}
}

// collectEvents gathers the driver's task events until the test ends.
func collectEvents(t *testing.T, td *testDriver) func() []string {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := td.TaskEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var msgs []string
	go func() {
		for ev := range ch {
			mu.Lock()
			msgs = append(msgs, ev.Message)
			mu.Unlock()
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), msgs...)
	}
}

func TestInputsFetchedBeforeCommand(t *testing.T) {
	fc := &fakeChannels{fetchGate: make(chan struct{})}
	td := newTestDriver(t, fc.factory())
	events := collectEvents(t, td)
	task := td.newTask(t, "cat in/raw > seen && mkdir -p out && echo ok > out/clean", withChannels)
	td.start(t, task)

	// StartTask has returned while the fetch waits: running, fetching.
	eventually(t, "the upstream event", func() bool {
		return slices.Contains(events(), "waiting for upstream s000/raw")
	})
	st, err := td.InspectTask(task.ID)
	if err != nil || st.State != drivers.TaskStateRunning || st.DriverAttributes["phase"] != phaseFetching || st.DriverAttributes["pid"] != "" {
		t.Fatalf("status while fetching = %+v, %v", st, err)
	}
	if err := td.SignalTask(task.ID, "SIGUSR1"); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("SignalTask while fetching: %v", err)
	}
	close(fc.fetchGate)

	if res := td.wait(t, task.ID); !res.Successful() {
		t.Fatalf("exit result = %+v", res)
	}
	if got, _ := os.ReadFile(taskFile(task, "seen")); string(got) != "data from s000\n" {
		t.Errorf("the command read %q, want the fetched input", got)
	}
	spec := fc.fetches[0]
	if spec.Shard != "s001" || spec.Graph != "demo" || spec.Run != "r1" || spec.Job != "demo-job" || spec.Task != "main" ||
		len(spec.Inputs) != 1 || spec.Inputs[0].Path != "in/raw" || spec.Outputs[0].Path != "out/clean" {
		t.Errorf("spec = %+v", spec)
	}
	if fetches, publishes := fc.counts(); fetches != 1 || publishes != 1 || len(fc.present) != 1 {
		t.Errorf("fetches %d publishes %d present %v", fetches, publishes, fc.present)
	}
	for _, want := range []string{"fetching 1 input channel(s)", "inputs ready", "publishing 1 output channel(s)", "outputs published"} {
		eventually(t, "event "+want, func() bool { return slices.Contains(events(), want) })
	}
}

func TestFetchFailureFailsTask(t *testing.T) {
	fc := &fakeChannels{fetchErr: errors.New("upstream s000 gone")}
	td := newTestDriver(t, fc.factory())
	task := td.newSilentTask(t, "touch ran", withChannels)
	td.start(t, task)
	res := td.wait(t, task.ID)
	if res.ExitCode != exitNotRun || res.Err == nil || !strings.Contains(res.Err.Error(), "fetch inputs: upstream s000 gone") {
		t.Errorf("exit result = %+v, want exit 1 with the fetch error", res)
	}
	if exists(taskFile(task, "ran")) {
		t.Error("the command ran although its inputs failed")
	}
	if _, publishes := fc.counts(); publishes != 0 {
		t.Errorf("published %d times", publishes)
	}
}

func TestPublishBeforeExitReported(t *testing.T) {
	fc := &fakeChannels{publishGate: make(chan struct{})}
	td := newTestDriver(t, fc.factory())
	task := td.newTask(t, "mkdir -p out && echo ok > out/clean", withChannels)
	td.start(t, task)
	ch, err := td.WaitTask(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "PublishOutputs", func() bool { _, p := fc.counts(); return p == 1 })
	st, err := td.InspectTask(task.ID)
	if err != nil || st.State != drivers.TaskStateRunning || st.DriverAttributes["phase"] != phasePublishing {
		t.Errorf("status while publishing = %+v, %v", st, err)
	}
	select {
	case res := <-ch:
		t.Fatalf("WaitTask reported %+v before the outputs were published", res)
	default:
	}
	close(fc.publishGate)
	if res := <-ch; res == nil || !res.Successful() {
		t.Fatalf("exit result = %+v", res)
	}
	if len(fc.present) != 1 || fc.present[0] != "out/clean" {
		t.Errorf("output files present at publish time: %v", fc.present)
	}
}

func TestNoPublishAfterFailure(t *testing.T) {
	fc := &fakeChannels{}
	td := newTestDriver(t, fc.factory())
	task := td.newTask(t, "exit 4", withChannels)
	td.start(t, task)
	if res := td.wait(t, task.ID); res.ExitCode != 4 || res.Err != nil {
		t.Errorf("exit result = %+v", res)
	}
	if _, publishes := fc.counts(); publishes != 0 {
		t.Errorf("published %d times after a failed command", publishes)
	}
}

func TestPublishFailureFailsTask(t *testing.T) {
	fc := &fakeChannels{publishErr: errors.New("consul refused")}
	td := newTestDriver(t, fc.factory())
	task := td.newTask(t, "exit 0", withChannels)
	td.start(t, task)
	res := td.wait(t, task.ID)
	if res.ExitCode != 0 || res.Successful() || !strings.Contains(res.Err.Error(), "publish outputs: consul refused") {
		t.Errorf("exit result = %+v", res)
	}
}

func TestStopWhileFetching(t *testing.T) {
	fc := &fakeChannels{fetchGate: make(chan struct{})}
	td := newTestDriver(t, fc.factory())
	task := td.newSilentTask(t, "touch ran", withChannels)
	td.start(t, task)
	eventually(t, "FetchInputs", func() bool { f, _ := fc.counts(); return f == 1 })
	if err := td.StopTask(task.ID, patience, "SIGTERM"); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	res := td.wait(t, task.ID)
	if res.Successful() || res.Err == nil || !strings.Contains(res.Err.Error(), errStopped.Error()) {
		t.Errorf("exit result = %+v", res)
	}
	if exists(taskFile(task, "ran")) {
		t.Error("the command ran after StopTask")
	}
}

func TestChannelsNeedManager(t *testing.T) {
	td := newTestDriver(t, nil)
	task := td.newSilentTask(t, "true", withChannels)
	if _, _, err := td.StartTask(task); err == nil || !strings.Contains(err.Error(), "no channel manager") {
		t.Errorf("StartTask: %v", err)
	}
}

func TestSetConfigBuildsAndReplacesManager(t *testing.T) {
	var built []*fakeChannels
	var closedBeforeSecond bool
	factory := func(cfg *Config, _ hclog.Logger) (ChannelManager, error) {
		if len(built) == 1 {
			closedBeforeSecond = built[0].isClosed()
		}
		f := &fakeChannels{}
		built = append(built, f)
		return f, nil
	}
	d := New(hclog.NewNullLogger(), factory)
	t.Cleanup(func() { _ = d.Shutdown() })
	if err := d.SetConfig(validationConfig(t)); err != nil || len(built) != 0 {
		t.Fatalf("validation SetConfig: %v, built %d managers", err, len(built))
	}
	// The loader's validation over gRPC: an empty agent config, no driver
	// settings (twice in one process, as loader.validatePluginConfig does).
	for range 2 {
		c := validationConfig(t)
		c.AgentConfig = &base.AgentConfig{}
		if err := d.SetConfig(c); err != nil || len(built) != 0 {
			t.Fatalf("validation SetConfig over gRPC: %v, built %d managers", err, len(built))
		}
	}
	for range 2 {
		if err := d.SetConfig(agentConfig(t)); err != nil {
			t.Fatal(err)
		}
	}
	if len(built) != 2 || !built[0].closed || built[1].closed || !closedBeforeSecond {
		t.Fatalf("managers built %d, first closed %v (before the second was built: %v)", len(built), built[0].closed, closedBeforeSecond)
	}
	if err := d.Shutdown(); err != nil || !built[1].closed {
		t.Errorf("Shutdown: %v, closed %v", err, built[1].closed)
	}
}
