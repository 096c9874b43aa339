package driver

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
)

// pidScript records each start of the command in pids, says ready, waits
// for the file go and exits 7.
const pidScript = `echo $$ >> pids; touch ready; while [ ! -f go ]; do sleep 0.05; done; exit 7`

// simulateDeath makes td's driver behave as if its plugin process had
// died for task id: its handle is dropped, and its lifecycle goroutine
// (which a real death would end) is cancelled so that it never launches
// or publishes. The executor and the command keep running.
func simulateDeath(t *testing.T, td *testDriver, id string) {
	t.Helper()
	h, ok := td.impl.tasks.Get(id)
	if !ok {
		t.Fatalf("no handle for %s", id)
	}
	h.halt()
	td.impl.tasks.Delete(id)
}

// recoverIn recovers handle in td, failing the test on error. The handle
// first goes through msgpack, as through a client's state DB, which drops
// the task config's raw driver config.
func recoverIn(t *testing.T, td *testDriver, handle *drivers.TaskHandle) {
	t.Helper()
	handle = persisted(t, handle)
	if err := td.RecoverTask(handle); err != nil {
		t.Fatalf("RecoverTask: %v", err)
	}
	t.Cleanup(func() { _ = td.DestroyTask(handle.Config.ID, true) })
}

// persisted returns handle as a client restores it from its state DB.
func persisted(t *testing.T, handle *drivers.TaskHandle) *drivers.TaskHandle {
	t.Helper()
	var raw []byte
	if err := base.MsgPackEncode(&raw, handle); err != nil {
		t.Fatal(err)
	}
	var out drivers.TaskHandle
	if err := base.MsgPackDecode(raw, &out); err != nil {
		t.Fatal(err)
	}
	var probe TaskConfig
	if err := out.Config.DecodeDriverConfig(&probe); err == nil {
		t.Fatal("the persisted handle still carries its raw driver config")
	}
	return &out
}

// release lets pidScript finish.
func release(t *testing.T, task *drivers.TaskConfig) {
	t.Helper()
	if err := os.WriteFile(taskFile(task, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// assertOneStart checks that the command started exactly once.
func assertOneStart(t *testing.T, task *drivers.TaskConfig) {
	t.Helper()
	if pids := lines(t, taskFile(task, "pids")); len(pids) != 1 {
		t.Errorf("command started %d times (pids %v), want once", len(pids), pids)
	}
}

func TestRecoverDroppedHandle(t *testing.T) {
	td := newTestDriver(t, nil)
	task := td.newTask(t, pidScript, nil)
	handle := td.start(t, task)
	eventually(t, "ready", func() bool { return exists(taskFile(task, "ready")) })
	pid, _ := strconv.Atoi(lines(t, taskFile(task, "pids"))[0])

	simulateDeath(t, td, task.ID)
	if _, err := td.InspectTask(task.ID); !isNotFound(err) {
		t.Fatalf("handle not dropped: %v", err)
	}
	recoverIn(t, td, handle)
	if err := td.RecoverTask(handle); err != nil {
		t.Errorf("second RecoverTask of a known task: %v", err)
	}
	st, err := td.InspectTask(task.ID)
	if err != nil || st.State != drivers.TaskStateRunning || st.DriverAttributes["phase"] != phaseRunning {
		t.Fatalf("recovered status = %+v, %v", st, err)
	}
	if syscall.Kill(pid, 0) != nil {
		t.Fatal("the command died during recovery")
	}
	release(t, task)
	if res := td.wait(t, task.ID); res.ExitCode != 7 {
		t.Errorf("exit result = %+v, want the real exit code 7", res)
	}
	if st, _ := td.InspectTask(task.ID); st.DriverAttributes["pid"] != strconv.Itoa(pid) {
		t.Errorf("pid after exit = %s, want the original %d", st.DriverAttributes["pid"], pid)
	}
	assertOneStart(t, task)
}

// A new plugin process (a second driver) takes over a running task.
func TestRecoverInNewDriver(t *testing.T) {
	old := newTestDriver(t, nil)
	task := old.newTask(t, pidScript, nil)
	handle := old.start(t, task)
	eventually(t, "ready", func() bool { return exists(taskFile(task, "ready")) })
	simulateDeath(t, old, task.ID)

	fresh := newTestDriver(t, nil)
	recoverIn(t, fresh, handle)
	release(t, task)
	if res := fresh.wait(t, task.ID); res.ExitCode != 7 || res.Err != nil {
		t.Errorf("exit result = %+v, want 7", res)
	}
	assertOneStart(t, task)
}

// A task that exited while no plugin ran reports its real exit code.
func TestRecoverExitedTask(t *testing.T) {
	old := newTestDriver(t, nil)
	task := old.newTask(t, pidScript, nil)
	handle := old.start(t, task)
	eventually(t, "ready", func() bool { return exists(taskFile(task, "ready")) })
	simulateDeath(t, old, task.ID)
	release(t, task)
	eventually(t, "the command to exit", func() bool {
		pid, _ := strconv.Atoi(lines(t, taskFile(task, "pids"))[0])
		return syscall.Kill(pid, 0) != nil
	})

	fresh := newTestDriver(t, nil)
	recoverIn(t, fresh, handle)
	if res := fresh.wait(t, task.ID); res.ExitCode != 7 {
		t.Errorf("exit result = %+v, want 7", res)
	}
	assertOneStart(t, task)
}

// The plugin died while fetching inputs: the new one fetches again and
// launches the command once.
func TestRecoverWhileFetching(t *testing.T) {
	stuck := &fakeChannels{fetchGate: make(chan struct{})}
	old := newTestDriver(t, stuck.factory())
	task := old.newTask(t, pidScript, withChannels)
	handle := old.start(t, task)
	eventually(t, "FetchInputs", func() bool { f, _ := stuck.counts(); return f == 1 })
	simulateDeath(t, old, task.ID)

	fc := &fakeChannels{}
	fresh := newTestDriver(t, fc.factory())
	recoverIn(t, fresh, handle)
	eventually(t, "ready", func() bool { return exists(taskFile(task, "ready")) })
	release(t, task)
	if res := fresh.wait(t, task.ID); res.ExitCode != 7 {
		t.Errorf("exit result = %+v, want 7", res)
	}
	if fetches, _ := fc.counts(); fetches != 1 {
		t.Errorf("new driver fetched %d times, want 1", fetches)
	}
	if got, _ := os.ReadFile(taskFile(task, "in/raw")); string(got) != "data from s000\n" {
		t.Errorf("input = %q", got)
	}
	assertOneStart(t, task)
}

// A recovered task whose command exits 0 publishes its outputs, without
// fetching its (non-streaming) inputs again.
func TestRecoverPublishesAfterExit(t *testing.T) {
	old := newTestDriver(t, (&fakeChannels{}).factory())
	script := "mkdir -p out && echo ok > out/clean && " + strings.Replace(pidScript, "exit 7", "exit 0", 1)
	task := old.newTask(t, script, withChannels)
	handle := old.start(t, task)
	eventually(t, "ready", func() bool { return exists(taskFile(task, "ready")) })
	simulateDeath(t, old, task.ID)

	fc := &fakeChannels{}
	fresh := newTestDriver(t, fc.factory())
	recoverIn(t, fresh, handle)
	release(t, task)
	if res := fresh.wait(t, task.ID); !res.Successful() {
		t.Fatalf("exit result = %+v", res)
	}
	if fetches, publishes := fc.counts(); fetches != 0 || publishes != 1 || len(fc.present) != 1 {
		t.Errorf("fetches %d publishes %d present %v, want 0, 1, [out/clean]", fetches, publishes, fc.present)
	}
}

func TestRecoverWithoutExecutorFails(t *testing.T) {
	old := newTestDriver(t, nil)
	task := old.newTask(t, "exit 0", nil)
	handle := old.start(t, task)
	old.wait(t, task.ID)
	if err := old.DestroyTask(task.ID, true); err != nil {
		t.Fatal(err)
	}
	fresh := newTestDriver(t, nil)
	if err := fresh.RecoverTask(persisted(t, handle)); err == nil || !strings.Contains(err.Error(), "executor") {
		t.Errorf("RecoverTask with the executor gone: %v", err)
	}
}

// streamCutChannels fails FetchInputs for a recovered task, as the
// channel manager does for a stream input not delivered whole (its pipe
// lost its writer with the plugin).
type streamCutChannels struct{ fakeChannels }

var errCut = errors.New("input s000/raw (channel c0): input stream cut by a plugin restart after 4096 bytes")

func (f *streamCutChannels) FetchInputs(ctx context.Context, spec TaskChannels, taskDir string, progress func(string)) error {
	if spec.Recovered {
		f.mu.Lock()
		f.fetches = append(f.fetches, spec)
		f.mu.Unlock()
		return errCut
	}
	return f.fakeChannels.FetchInputs(ctx, spec, taskDir, progress)
}

func (f *streamCutChannels) factory() ChannelFactory {
	return func(*Config, hclog.Logger) (ChannelManager, error) { return f, nil }
}

// The plugin died while the task read a streaming input, and the task
// exited 0 meanwhile (it read an early end of file): the new plugin fails
// the task with the stream's error and publishes nothing, so a truncated
// input never passes for a whole one; the launcher runs it again.
func TestRecoveredTaskWithCutStreamFails(t *testing.T) {
	old := newTestDriver(t, (&fakeChannels{}).factory())
	script := "mkdir -p out && echo ok > out/clean && " + strings.Replace(pidScript, "exit 7", "exit 0", 1)
	task := old.newTask(t, script, func(tc *TaskConfig) {
		withChannels(tc)
		tc.Inputs[0].Stream = true
	})
	handle := old.start(t, task)
	eventually(t, "ready", func() bool { return exists(taskFile(task, "ready")) })
	simulateDeath(t, old, task.ID)
	release(t, task)
	eventually(t, "the command to exit", func() bool {
		pid, _ := strconv.Atoi(lines(t, taskFile(task, "pids"))[0])
		return syscall.Kill(pid, 0) != nil
	})

	fc := &streamCutChannels{}
	fresh := newTestDriver(t, fc.factory())
	recoverIn(t, fresh, handle)
	res := fresh.wait(t, task.ID)
	// The result crosses the plugin's gRPC: its error arrives as text.
	if res.Successful() || res.Err == nil || !strings.Contains(res.Err.Error(), errCut.Error()) {
		t.Fatalf("exit result = %+v, want a failure with the stream's error", res)
	}
	fetches, publishes := fc.counts()
	if fetches != 1 || publishes != 0 {
		t.Errorf("fetches %d publishes %d, want 1 (the streaming input, recovered) and 0", fetches, publishes)
	}
	if got := fc.fetches[0]; !got.Recovered || len(got.Inputs) != 1 || !got.Inputs[0].Stream {
		t.Errorf("FetchInputs of the recovered task got %+v, want only the streaming input, Recovered", got)
	}
	assertOneStart(t, task)
}
