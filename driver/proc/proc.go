// Package proc runs a task's command as a process tree that outlives the
// plugin, on Nomad v1.6.1's shared executor (drivers/shared/executor), as
// the raw_exec driver does.
//
// Start re-executes the current binary as "<binary> executor <json>" in a
// new session: that child, the executor, launches the command, reaps it,
// keeps its exit state and measures the tree, and keeps running when the
// plugin dies. The plugin talks to it over go-plugin gRPC; Reattach
// connects a new plugin process to a running executor from the reattach
// config stored in the task handle. The executor's entry point is the
// init function of package executor, so any binary that imports this
// package (the plugin, a test binary) can serve as the executor.
//
// An executor runs one command once: a second Launch fails, which is what
// keeps a recovered task from being started twice.
package proc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"github.com/hashicorp/nomad/drivers/shared/executor"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	pstructs "github.com/hashicorp/nomad/plugins/shared/structs"
)

// Process is a connection to one task's executor.
type Process struct {
	exec   executor.Executor
	client *plugin.Client
}

// ExitState is how a command ended. ExitCode is 128+Signal when a signal
// killed it (the shell's convention); Signal is 0 otherwise.
type ExitState struct {
	Pid      int
	ExitCode int
	Signal   int
	Time     time.Time
}

// Command is what Launch runs.
type Command struct {
	// Path is the program: a name looked up in TaskDir/local, TaskDir and
	// $PATH, or a path.
	Path string
	Args []string
	// Env is the complete environment, KEY=value.
	Env []string
	// User runs the command as that user when set (needs root).
	User string
	// TaskDir is the working directory.
	TaskDir string
	// StdoutPath and StderrPath are the files or FIFOs that receive the
	// output (the client's logmon FIFOs).
	StdoutPath, StderrPath string
	// Cgroup puts the tree in a cgroup of its own, killed as a whole on
	// Shutdown; without it the tree is killed through its process group.
	Cgroup bool
	// Limits, when set, is the task's cgroup with its resource limits:
	// the command joins it before it starts (see cgexec.go).
	Limits           *Cgroup
	NetworkIsolation *drivers.NetworkIsolationSpec
}

// Start starts an executor for one task. logFile receives the executor's
// own log (JSON lines); ports bounds the loopback port range of its gRPC
// listener on platforms without unix sockets (nil: Nomad's defaults).
// The executor runs no command until Launch.
func Start(logger hclog.Logger, ports *base.ClientDriverConfig, logFile string) (*Process, error) {
	cfg := &executor.ExecutorConfig{LogFile: logFile, LogLevel: "debug"}
	exec, client, err := executor.CreateExecutor(logger, ports, cfg)
	if err != nil {
		return nil, fmt.Errorf("start executor: %w", err)
	}
	return &Process{exec: exec, client: client}, nil
}

// Reattach connects to the running executor described by rc, as stored
// by ReattachConfig. It fails when the executor is gone.
func Reattach(logger hclog.Logger, rc *pstructs.ReattachConfig) (*Process, error) {
	prc, err := pstructs.ReattachConfigToGoPlugin(rc)
	if err != nil {
		return nil, fmt.Errorf("decode executor reattach config: %w", err)
	}
	exec, client, err := executor.ReattachToExecutor(prc, logger)
	if err != nil {
		return nil, fmt.Errorf("reattach to executor pid %d: %w", rc.Pid, err)
	}
	return &Process{exec: exec, client: client}, nil
}

// ReattachConfig describes how to reach the executor from another plugin
// process; it survives a msgpack round trip through the task handle.
func (p *Process) ReattachConfig() *pstructs.ReattachConfig {
	return pstructs.ReattachConfigFromGoPlugin(p.client.ReattachConfig())
}

// Launch starts the command and returns its pid. It fails if the
// executor has launched a command before.
func (p *Process) Launch(c Command) (int, error) {
	ec := &executor.ExecCommand{
		Cmd:                c.Path,
		Args:               c.Args,
		Env:                c.Env,
		User:               c.User,
		TaskDir:            c.TaskDir,
		StdoutPath:         c.StdoutPath,
		StderrPath:         c.StderrPath,
		BasicProcessCgroup: c.Cgroup,
		NetworkIsolation:   c.NetworkIsolation,
	}
	if c.Limits != nil {
		if err := wrapInCgroup(ec, c); err != nil {
			return 0, fmt.Errorf("launch %s: %w", c.Path, err)
		}
	}
	ps, err := p.exec.Launch(ec)
	if err != nil {
		return 0, fmt.Errorf("launch %s: %w", c.Path, err)
	}
	return ps.Pid, nil
}

// wrapInCgroup makes ec start this binary as the cgroup-joining launcher
// of c's command. The launcher starts as root and drops to c.User itself
// (a task user could not join a root-owned cgroup). On cgroup v2 the
// executor gets no process cgroup of its own: it would join the task's
// cgroup and be charged to it.
func wrapInCgroup(ec *executor.ExecCommand, c Command) error {
	path, err := lookupBin(c.TaskDir, c.Path)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the plugin binary: %w", err)
	}
	spec, err := json.Marshal(cgexecSpec{Join: c.Limits.Join, User: c.User, Path: path, Args: c.Args})
	if err != nil {
		return err
	}
	ec.Cmd, ec.Args, ec.User = self, []string{cgexecArg, string(spec)}, ""
	ec.BasicProcessCgroup = c.Cgroup && c.Limits.Version == 1
	return nil
}

// notLaunched is the error text of the v1.6.1 executor's Signal before
// Launch (UniversalExecutor.Signal); gRPC carries only the text.
const notLaunched = "Task not yet run"

// Launched reports whether the executor has launched its command (which
// may have exited since). It asks by sending signal 0, which the executor
// refuses before Launch and which harms no process.
func (p *Process) Launched() (bool, error) {
	err := p.exec.Signal(syscall.Signal(0))
	switch {
	case err == nil:
		return true, nil
	case strings.Contains(err.Error(), notLaunched):
		return false, nil
	case strings.Contains(err.Error(), os.ErrProcessDone.Error()):
		return true, nil
	default:
		return false, fmt.Errorf("probe executor: %w", err)
	}
}

// Wait blocks until the launched command exits, or ctx ends (ctx.Err()).
// It keeps returning the same state after the exit, for as long as the
// executor runs. Before Launch it blocks until ctx ends.
func (p *Process) Wait(ctx context.Context) (ExitState, error) {
	ps, err := p.exec.Wait(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ExitState{}, ctx.Err()
		}
		return ExitState{}, fmt.Errorf("wait for command: %w", err)
	}
	return ExitState{Pid: ps.Pid, ExitCode: ps.ExitCode, Signal: ps.Signal, Time: ps.Time}, nil
}

// Shutdown stops the command: it sends signal (a name such as "SIGTERM";
// "" means SIGINT), waits up to grace for the command to exit, then kills
// the whole tree. grace 0 kills at once. It returns nil when no command
// was launched.
func (p *Process) Shutdown(signal string, grace time.Duration) error {
	if err := p.exec.Shutdown(signal, grace); err != nil {
		return fmt.Errorf("shut down command: %w", err)
	}
	return nil
}

// Signal sends sig to the command's main process.
func (p *Process) Signal(sig os.Signal) error {
	if err := p.exec.Signal(sig); err != nil {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	return nil
}

// Stats sends the resource usage of the command's process tree every
// interval until ctx ends, then closes the channel.
func (p *Process) Stats(ctx context.Context, interval time.Duration) (<-chan *drivers.TaskResourceUsage, error) {
	ch, err := p.exec.Stats(ctx, interval)
	if err != nil {
		return nil, fmt.Errorf("task stats: %w", err)
	}
	return ch, nil
}

// Exec runs cmd with args beside the command (same env, dir and user)
// until deadline; it returns the combined output and the exit code.
func (p *Process) Exec(deadline time.Time, cmd string, args []string) ([]byte, int, error) {
	out, code, err := p.exec.Exec(deadline, cmd, args)
	if err != nil {
		return nil, 0, fmt.Errorf("exec %s: %w", cmd, err)
	}
	return out, code, nil
}

// ExecStreaming runs command beside the task's command, wired to stream.
func (p *Process) ExecStreaming(ctx context.Context, command []string, tty bool, stream drivers.ExecTaskStream) error {
	if err := p.exec.ExecStreaming(ctx, command, tty, stream); err != nil {
		return fmt.Errorf("exec %s: %w", command[0], err)
	}
	return nil
}

// Exited reports whether the executor process is gone.
func (p *Process) Exited() bool { return p.client.Exited() }

// Kill ends the executor process (not the command; Shutdown first) and
// closes the connection.
func (p *Process) Kill() { p.client.Kill() }
