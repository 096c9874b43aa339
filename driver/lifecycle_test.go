package driver

import (
	"context"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
)

func TestPluginIdentity(t *testing.T) {
	td := newTestDriver(t, nil)
	info, err := td.PluginInfo()
	if err != nil || info.Name != "shard" || info.Type != "driver" || info.PluginVersion != PluginVersion {
		t.Fatalf("PluginInfo = %+v, %v", info, err)
	}
	caps, err := td.Capabilities()
	if err != nil || !caps.SendSignals || !caps.Exec || caps.FSIsolation != drivers.FSIsolationNone {
		t.Fatalf("Capabilities = %+v, %v", caps, err)
	}
}

func TestWaitReturnsExitCode(t *testing.T) {
	for _, code := range []int{0, 1, 7, 255} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			td := newTestDriver(t, nil)
			task := td.newTask(t, "exit "+strconv.Itoa(code), nil)
			td.start(t, task)
			res := td.wait(t, task.ID)
			if res.ExitCode != code || res.Signal != 0 || res.Err != nil {
				t.Fatalf("exit result = %+v, want code %d", res, code)
			}
			if got := res.Successful(); got != (code == 0) {
				t.Errorf("Successful() = %v", got)
			}
		})
	}
}

func TestEnvAndWorkingDir(t *testing.T) {
	td := newTestDriver(t, nil)
	task := td.newTask(t, `printf '%s\n' "$GREETING" > env.out && pwd > pwd.out`, nil)
	task.Env["GREETING"] = "hello 'shard' $HOME"
	td.start(t, task)
	if res := td.wait(t, task.ID); !res.Successful() {
		t.Fatalf("exit result = %+v", res)
	}
	env, err := os.ReadFile(taskFile(task, "env.out"))
	if err != nil || string(env) != "hello 'shard' $HOME\n" {
		t.Errorf("env.out = %q, %v", env, err)
	}
	pwd, err := os.ReadFile(taskFile(task, "pwd.out"))
	want, _ := filepath.EvalSymlinks(task.TaskDir().Dir)
	if err != nil || strings.TrimSpace(string(pwd)) != want {
		t.Errorf("working dir = %q, %v; want the task dir %s", pwd, err, want)
	}
}

func TestRunsAsTaskUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running as another user needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	td := newTestDriver(t, nil)
	task := td.newTask(t, "id -u > local/uid", nil)
	task.User = "nobody"
	// The harness makes its alloc dir private to root; open the path down
	// to the task dir as the client's alloc dirs are.
	for _, dir := range []string{filepath.Dir(task.AllocDir), task.AllocDir, task.TaskDir().Dir} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(task.TaskDir().Dir, "local"), 0o777); err != nil {
		t.Fatal(err)
	}
	td.start(t, task)
	if res := td.wait(t, task.ID); !res.Successful() {
		t.Fatalf("exit result = %+v", res)
	}
	if got := lines(t, taskFile(task, "local/uid")); len(got) != 1 || got[0] != nobody.Uid {
		t.Errorf("uid = %v, want nobody's %s", got, nobody.Uid)
	}
}

func TestFusedTasksRunInOrderAndStopAtFailure(t *testing.T) {
	td := newTestDriver(t, nil)
	// What translator/nomadjob emits for a fused shard of three tasks.
	script := "set -e\n# task \"a\"\necho a >> order\n# task \"b\"\nsh -c 'echo b >> order; exit 3'\n# task \"c\"\necho c >> order\n"
	task := td.newTask(t, script, func(tc *TaskConfig) {
		tc.Tasks = []TaskSpec{{Name: "a", Command: "echo"}, {Name: "b", Command: "sh"}, {Name: "c", Command: "echo"}}
	})
	td.start(t, task)
	if res := td.wait(t, task.ID); res.ExitCode != 3 {
		t.Fatalf("exit result = %+v, want task b's 3", res)
	}
	if got := strings.Join(lines(t, taskFile(task, "order")), ","); got != "a,b" {
		t.Errorf("tasks ran %q, want a,b", got)
	}
}

// runningPid waits until the task's command runs and returns its pid.
func runningPid(t *testing.T, td *testDriver, id string) int {
	t.Helper()
	var pid int
	eventually(t, "the command's pid", func() bool {
		st, err := td.InspectTask(id)
		if err != nil {
			t.Fatal(err)
		}
		pid, _ = strconv.Atoi(st.DriverAttributes["pid"])
		return pid > 0
	})
	return pid
}

func TestInspect(t *testing.T) {
	td := newTestDriver(t, nil)
	task := td.newTask(t, "touch ready; while [ ! -f go ]; do sleep 0.05; done; exit 5", nil)
	td.start(t, task)
	eventually(t, "ready", func() bool { return exists(taskFile(task, "ready")) })
	st, err := td.InspectTask(task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != drivers.TaskStateRunning || st.DriverAttributes["phase"] != phaseRunning ||
		st.DriverAttributes["pid"] == "" || st.StartedAt.IsZero() || st.Name != "main" {
		t.Errorf("running status = %+v", st)
	}
	if err := os.WriteFile(taskFile(task, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	td.wait(t, task.ID)
	st, err = td.InspectTask(task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != drivers.TaskStateExited || st.ExitResult == nil || st.ExitResult.ExitCode != 5 ||
		st.CompletedAt.IsZero() || st.DriverAttributes["phase"] != phaseExited {
		t.Errorf("exited status = %+v", st)
	}
}

func TestStopSignalsThenKillsAfterTimeout(t *testing.T) {
	td := newTestDriver(t, nil)
	// The trap records SIGTERM and carries on, so only the kill ends it.
	task := td.newTask(t, `trap 'echo term >> got' TERM; touch ready; while :; do sleep 0.05; done`, nil)
	td.start(t, task)
	eventually(t, "ready", func() bool { return exists(taskFile(task, "ready")) })
	if err := td.StopTask(task.ID, 1500*1e6, "SIGTERM"); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	res := td.wait(t, task.ID)
	if res.Signal != int(syscall.SIGKILL) || res.ExitCode != 128+int(syscall.SIGKILL) {
		t.Errorf("exit result = %+v, want killed by SIGKILL", res)
	}
	if got := lines(t, taskFile(task, "got")); len(got) != 1 || got[0] != "term" {
		t.Errorf("trap saw %v, want one SIGTERM before the kill", got)
	}
}

func TestStopGracefulExitNeedsNoKill(t *testing.T) {
	td := newTestDriver(t, nil)
	task := td.newTask(t, `trap 'exit 3' TERM; touch ready; while :; do sleep 0.05; done`, nil)
	td.start(t, task)
	eventually(t, "ready", func() bool { return exists(taskFile(task, "ready")) })
	if err := td.StopTask(task.ID, patience, "SIGTERM"); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	if res := td.wait(t, task.ID); res.ExitCode != 3 || res.Signal != 0 {
		t.Errorf("exit result = %+v, want the trap's exit 3", res)
	}
}

func TestDestroy(t *testing.T) {
	td := newTestDriver(t, nil)
	task := td.newTask(t, "sleep 1000", nil)
	td.start(t, task)
	pid := runningPid(t, td, task.ID)
	if err := td.DestroyTask(task.ID, false); err == nil {
		t.Fatal("DestroyTask without force destroyed a running task")
	}
	if err := td.DestroyTask(task.ID, true); err != nil {
		t.Fatalf("DestroyTask(force): %v", err)
	}
	if _, err := td.InspectTask(task.ID); !isNotFound(err) {
		t.Errorf("InspectTask after destroy: %v, want task not found", err)
	}
	eventually(t, "the command to be gone", func() bool { return syscall.Kill(pid, 0) != nil })
}

func TestDestroyExitedTaskWithoutForce(t *testing.T) {
	td := newTestDriver(t, nil)
	task := td.newTask(t, "exit 0", nil)
	td.start(t, task)
	td.wait(t, task.ID)
	if err := td.DestroyTask(task.ID, false); err != nil {
		t.Fatalf("DestroyTask: %v", err)
	}
}

func TestStatsOfBusyProcess(t *testing.T) {
	td := newTestDriver(t, nil)
	task := td.newTask(t, "x=0; while :; do x=$((x+1)); done", nil)
	td.start(t, task)
	last := td.statsUntil(t, task.ID, "nonzero CPU ticks and memory", func(ru *drivers.ResourceUsage) bool {
		return ru.CpuStats.TotalTicks > 0 && ru.MemoryStats.RSS > 0
	})
	if len(last.Pids) == 0 {
		t.Errorf("stats name no pids: %+v", last)
	}
}

func TestSignalDelivered(t *testing.T) {
	td := newTestDriver(t, nil)
	task := td.newTask(t, `trap 'echo usr1 > got; exit 3' USR1; touch ready; while :; do sleep 0.05; done`, nil)
	td.start(t, task)
	eventually(t, "ready", func() bool { return exists(taskFile(task, "ready")) })
	if err := td.SignalTask(task.ID, "SIGNOPE"); err == nil {
		t.Error("SignalTask accepted an unknown signal")
	}
	if err := td.SignalTask(task.ID, "SIGUSR1"); err != nil {
		t.Fatalf("SignalTask: %v", err)
	}
	if res := td.wait(t, task.ID); res.ExitCode != 3 {
		t.Errorf("exit result = %+v, want the trap's 3", res)
	}
	if got := lines(t, taskFile(task, "got")); len(got) != 1 || got[0] != "usr1" {
		t.Errorf("trap saw %v", got)
	}
}

func TestExecBesideTask(t *testing.T) {
	td := newTestDriver(t, nil)
	task := td.newTask(t, "sleep 1000", nil)
	task.Env["MARK"] = "m1"
	td.start(t, task)
	runningPid(t, td, task.ID)
	res, err := td.ExecTask(task.ID, []string{"/bin/sh", "-c", `echo "$MARK"; exit 2`}, patience)
	if err != nil {
		t.Fatalf("ExecTask: %v", err)
	}
	if string(res.Stdout) != "m1\n" || res.ExitResult.ExitCode != 2 {
		t.Errorf("exec = %q, %+v", res.Stdout, res.ExitResult)
	}
}

// A shard process killed from outside (kill -9) fails the task with its
// signal, and WaitTask reports it.
func TestKilledProcessFailsTask(t *testing.T) {
	td := newTestDriver(t, nil)
	task := td.newTask(t, "sleep 1000", nil)
	td.start(t, task)
	pid := runningPid(t, td, task.ID)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	res := td.wait(t, task.ID)
	if res.Signal != int(syscall.SIGKILL) || res.ExitCode != 137 || res.Successful() {
		t.Fatalf("exit result = %+v, want signal 9 / exit 137", res)
	}
	st, err := td.InspectTask(task.ID)
	if err != nil || st.State != drivers.TaskStateExited || st.ExitResult.Signal != int(syscall.SIGKILL) {
		t.Errorf("status = %+v, %v", st, err)
	}
}

func TestUnknownTask(t *testing.T) {
	td := newTestDriver(t, nil)
	if _, err := td.InspectTask("nope"); !isNotFound(err) {
		t.Errorf("InspectTask: %v", err)
	}
	// Through gRPC the error of WaitTask arrives as the result's Err.
	if ch, err := td.WaitTask(context.Background(), "nope"); err == nil {
		if res := <-ch; res == nil || !isNotFound(res.Err) {
			t.Errorf("WaitTask result: %+v", res)
		}
	} else if !isNotFound(err) {
		t.Errorf("WaitTask: %v", err)
	}
	if err := td.StopTask("nope", 0, ""); !isNotFound(err) {
		t.Errorf("StopTask: %v", err)
	}
	if err := td.SignalTask("nope", "SIGTERM"); !isNotFound(err) {
		t.Errorf("SignalTask: %v", err)
	}
	if err := td.DestroyTask("nope", true); !isNotFound(err) {
		t.Errorf("DestroyTask: %v", err)
	}
}

func TestStartTwiceRefused(t *testing.T) {
	td := newTestDriver(t, nil)
	task := td.newTask(t, "sleep 1000", nil)
	td.start(t, task)
	if _, _, err := td.StartTask(task); err == nil || !strings.Contains(err.Error(), "already started") {
		t.Errorf("second StartTask: %v", err)
	}
}

func TestBadConfigRefused(t *testing.T) {
	td := newTestDriver(t, nil)
	task := td.newSilentTask(t, "", func(tc *TaskConfig) { tc.Command = "" })
	if _, _, err := td.StartTask(task); err == nil || !strings.Contains(err.Error(), "command is empty") {
		t.Errorf("StartTask: %v", err)
	}
}

func TestMissingCommandFailsTask(t *testing.T) {
	td := newTestDriver(t, nil)
	task := td.newTask(t, "", func(tc *TaskConfig) { tc.Command, tc.Args = "no-such-command-xyz", nil })
	td.start(t, task)
	res := td.wait(t, task.ID)
	if res.ExitCode != exitNotRun || res.Err == nil || !strings.Contains(res.Err.Error(), "no-such-command-xyz") {
		t.Errorf("exit result = %+v", res)
	}
}

// isNotFound reports whether err is drivers.ErrTaskNotFound, also after
// the gRPC round trip that keeps only its text.
func isNotFound(err error) bool {
	return err != nil && (errors.Is(err, drivers.ErrTaskNotFound) || strings.Contains(err.Error(), drivers.ErrTaskNotFound.Error()))
}

// After the plugin shut down (as the plugin of a killed client does while
// the restarted client may already be reattached to it), WaitTask still
// waits for the task: ending without a result would make Nomad v1.6.1's
// client panic on the empty gRPC answer (see WaitTask). The command's exit
// is still reported.
func TestWaitTaskOutlivesShutdown(t *testing.T) {
	td := newTestDriver(t, nil)
	task := td.newTask(t, "sleep 1000", nil)
	td.start(t, task)
	pid := runningPid(t, td, task.ID)
	if err := td.impl.Shutdown(); err != nil {
		t.Fatal(err)
	}
	ch, err := td.WaitTask(context.Background(), task.ID)
	if err != nil {
		t.Fatalf("WaitTask: %v", err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-ch:
		if res == nil || res.Err != nil || res.Signal != int(syscall.SIGKILL) {
			t.Fatalf("exit result %+v, want the command killed by SIGKILL", res)
		}
	case <-time.After(patience):
		t.Fatal("task did not exit")
	}
}
