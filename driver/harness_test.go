package driver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/helper/testlog"
	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/drivers/testutils"

	"github.com/shardwise/shardwise/internal/testutil"
)

// patience bounds every wait in these tests; no test asserts on time.
const patience = 30 * time.Second

// testDriver is a driver behind Nomad's in-process plugin harness (all
// calls go through gRPC, as from a client).
type testDriver struct {
	*testutils.DriverHarness
	impl *Driver
}

// newTestDriver starts a configured driver. factory may be nil.
func newTestDriver(t *testing.T, factory ChannelFactory) *testDriver {
	t.Helper()
	return newConfiguredDriver(t, factory, &Config{CompressionLevel: 3, DataDir: t.TempDir()})
}

// newConfiguredDriver starts a driver configured with cfg, as a client
// configures it.
func newConfiguredDriver(t *testing.T, factory ChannelFactory, cfg *Config) *testDriver {
	t.Helper()
	d := New(testlog.HCLogger(t), factory)
	h := testutils.NewDriverHarness(t, d)
	var raw []byte
	if err := base.MsgPackEncode(&raw, cfg); err != nil {
		t.Fatal(err)
	}
	err := h.SetConfig(&base.Config{PluginConfig: raw, AgentConfig: &base.AgentConfig{
		Driver: &base.ClientDriverConfig{ClientMinPort: 14000, ClientMaxPort: 14512},
	}})
	if err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
	// No h.Kill(): it stops the gRPC server while the client's Close,
	// which it also calls, makes the server stop itself (a data race in
	// the v1.6.1 harness). MkAllocDir's cleanup closes the client; a
	// harness without tasks lives until the test binary exits.
	t.Cleanup(func() { _ = d.Shutdown() })
	return &testDriver{DriverHarness: h, impl: d}
}

// newTask returns a task running script under /bin/sh with its alloc dir
// built and its output going to logmon's FIFOs, as on a client; extra
// edits the config before it is encoded. The alloc dir's cleanup closes
// the harness's connection, so a harness serves the tasks of one test.
func (td *testDriver) newTask(t *testing.T, script string, extra func(*TaskConfig)) *drivers.TaskConfig {
	t.Helper()
	return td.makeTask(t, script, extra, true)
}

// newSilentTask is newTask without log FIFOs, for tasks whose command
// never runs: logmon would wait seconds for a writer at cleanup.
func (td *testDriver) newSilentTask(t *testing.T, script string, extra func(*TaskConfig)) *drivers.TaskConfig {
	t.Helper()
	return td.makeTask(t, script, extra, false)
}

func (td *testDriver) makeTask(t *testing.T, script string, extra func(*TaskConfig), logs bool) *drivers.TaskConfig {
	t.Helper()
	tc := TaskConfig{Command: "/bin/sh", Args: []string{"-c", script}}
	if extra != nil {
		extra(&tc)
	}
	task := &drivers.TaskConfig{
		ID:      uuid.Generate(),
		AllocID: uuid.Generate(),
		JobID:   "demo-job",
		Name:    "main",
		Env:     map[string]string{},
	}
	if err := task.EncodeConcreteDriverConfig(&tc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(td.MkAllocDir(task, logs))
	return task
}

// start starts task and returns its handle.
func (td *testDriver) start(t *testing.T, task *drivers.TaskConfig) *drivers.TaskHandle {
	t.Helper()
	handle, _, err := td.StartTask(task)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	t.Cleanup(func() { _ = td.DestroyTask(task.ID, true) })
	return handle
}

// wait returns the task's exit result.
func (td *testDriver) wait(t *testing.T, id string) *drivers.ExitResult {
	t.Helper()
	ch, err := td.WaitTask(context.Background(), id)
	if err != nil {
		t.Fatalf("WaitTask: %v", err)
	}
	select {
	case res := <-ch:
		if res == nil {
			t.Fatal("WaitTask closed without a result")
		}
		return res
	case <-time.After(patience):
		t.Fatal("task did not exit")
	}
	return nil
}

// statsUntil waits until the task's command runs, then reads its stats
// every 100 ms until cond holds for one reading, which it returns.
func (td *testDriver) statsUntil(t *testing.T, id, what string, cond func(*drivers.ResourceUsage) bool) *drivers.TaskResourceUsage {
	t.Helper()
	runningPid(t, td, id)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := td.TaskStats(ctx, id, 100*time.Millisecond)
	if err != nil {
		t.Fatalf("TaskStats: %v", err)
	}
	var last *drivers.TaskResourceUsage
	eventually(t, what, func() bool {
		last = <-ch
		if last == nil {
			t.Fatal("stats channel closed")
		}
		return cond(last.ResourceUsage)
	})
	return last
}

// eventually polls cond until it holds, failing the test after patience.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, patience, 20*time.Millisecond, what, func() (bool, string) { return cond(), "not yet" })
}

// taskFile is a path in task's task dir.
func taskFile(task *drivers.TaskConfig, name string) string {
	return filepath.Join(task.TaskDir().Dir, name)
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// lines returns the non-empty lines of the file at path ("" if missing).
func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}
