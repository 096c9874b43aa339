package driver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/drivers"
	pstructs "github.com/hashicorp/nomad/plugins/shared/structs"

	"github.com/shardwise/shardwise/driver/proc"
)

// TaskState is the driver state stored in a task handle: what
// RecoverTask needs besides the handle's task config (ID, names, env,
// user, dirs).
type TaskState struct {
	// ReattachConfig reaches the task's executor.
	ReattachConfig *pstructs.ReattachConfig
	// StartedAt is when StartTask ran.
	StartedAt time.Time
	// DriverConfig is the task's decoded driver config. A client that
	// restarts restores handle.Config from its state DB without the raw
	// driver config (an unexported field that is not persisted), so
	// RecoverTask must not decode it from there.
	DriverConfig *TaskConfig
	// Cgroup is the task's cgroup with its limits; nil when the driver
	// could not enforce limits (see proc.Detect).
	Cgroup *proc.Cgroup
}

// Phases of a task, shown by InspectTask as driver attribute "phase".
const (
	phaseFetching   = "fetching inputs"
	phaseRunning    = "running"
	phasePublishing = "publishing outputs"
	phaseExited     = "exited"
)

// exitNotRun is the exit code of a task whose command never ran (fetch or
// launch failed, or the task was stopped while fetching).
const exitNotRun = 1

var (
	errStopped     = errors.New("stopped before the command started")
	errNotLaunched = errors.New("the command has not started yet (fetching inputs)")
)

// taskHandle is one task: its executor, its channels and the state that
// InspectTask and WaitTask report. run drives the lifecycle.
type taskHandle struct {
	cfg    *drivers.TaskConfig
	spec   TaskChannels
	cmd    proc.Command
	proc   *proc.Process
	chans  ChannelManager // nil when the task has no channels
	emit   func(*drivers.TaskEvent) error
	logger hclog.Logger

	// ctx bounds fetching, streaming and publishing; cancelled when the
	// task is stopped or run returns.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	// launchMu orders Launch against halt, so that a stopped task is never
	// launched and a launching one is shut down only after Launch returns.
	launchMu sync.Mutex
	stopping bool
	launched bool

	mu          sync.RWMutex
	phase       string
	pid         int // 0 until known
	startedAt   time.Time
	completedAt time.Time
	result      *drivers.ExitResult // nil while running
}

// newHandle returns the handle of a task whose executor p is up. launched
// says whether p has launched the command already (a recovered task).
func newHandle(cfg *drivers.TaskConfig, spec TaskChannels, cmd proc.Command, p *proc.Process,
	chans ChannelManager, emit func(*drivers.TaskEvent) error, logger hclog.Logger, startedAt time.Time, launched bool) *taskHandle {
	ctx, cancel := context.WithCancel(context.Background())
	h := &taskHandle{
		cfg: cfg, spec: spec, cmd: cmd, proc: p, chans: chans, emit: emit,
		logger: logger.With("alloc_id", cfg.AllocID, "task_name", cfg.Name, "shard", spec.Shard),
		ctx:    ctx, cancel: cancel, done: make(chan struct{}),
		launched: launched, phase: phaseFetching, startedAt: startedAt,
	}
	if launched {
		h.phase = phaseRunning
	}
	return h
}

// run drives the task to its end and records the exit result.
func (h *taskHandle) run() {
	defer close(h.done)
	defer h.cancel()
	res := h.lifecycle()
	if res.Err != nil {
		h.logger.Warn("task failed", "error", res.Err)
	}
	// The task is over once its command exited and its outputs are
	// published: what it left running dies with its cgroup, as under
	// exec, and the cgroup goes now rather than only at DestroyTask,
	// which a client that dies first never calls.
	if h.isLaunched() {
		h.destroyCgroup()
	}
	h.finish(res)
}

// lifecycle runs the stages that remain: fetch and launch unless the
// command was launched already (a recovered task), then wait and publish.
func (h *taskHandle) lifecycle() *drivers.ExitResult {
	var streamErr error
	if h.isLaunched() {
		streamErr = h.resumeStreams()
	} else {
		if err := h.prepare(); err != nil {
			return notRun(err)
		}
		if err := h.launch(); err != nil {
			return notRun(err)
		}
	}
	st, err := h.proc.Wait(context.Background())
	if err != nil {
		return &drivers.ExitResult{Err: err}
	}
	h.setExited(st)
	res := &drivers.ExitResult{ExitCode: st.ExitCode, Signal: st.Signal, Err: streamErr}
	h.checkOOM(res)
	if res.Successful() && !h.isStopping() {
		if err := h.publish(); err != nil {
			res.Err = fmt.Errorf("publish outputs: %w", err)
		}
	}
	return res
}

// checkOOM sets res.OOMKilled when the kernel's OOM killer killed a
// process of the task's cgroup and the task failed (a killed child whose
// parent still exits 0 is not the task's death), and says so in a task
// event either way.
func (h *taskHandle) checkOOM(res *drivers.ExitResult) {
	cg := h.cmd.Limits
	if cg == nil {
		return
	}
	kills, err := cg.OOMKills()
	if err != nil {
		h.logger.Warn("cannot tell whether the task was OOM-killed", "error", err)
		return
	}
	if kills == 0 {
		return
	}
	msg := fmt.Sprintf("OOM killer killed %d process(es) of the task at its memory limit of %d MiB", kills, cg.Limits.MemoryBytes>>20)
	if peak, ok := cg.PeakBytes(); ok {
		msg += fmt.Sprintf(" (peak %d MiB, page cache included)", peak>>20)
	}
	h.event(msg)
	res.OOMKilled = !res.Successful()
}

// killTree kills what is left of the task's process tree in its cgroup:
// the executor kills the tree it knows, a process that left its process
// group is still in the cgroup.
func (h *taskHandle) killTree() {
	if cg := h.cmd.Limits; cg != nil {
		if err := cg.Kill(5 * time.Second); err != nil {
			h.logger.Warn("killing the task's cgroup failed", "error", err)
		}
	}
}

// destroyCgroup kills what is left and removes the task's cgroup.
func (h *taskHandle) destroyCgroup() {
	if cg := h.cmd.Limits; cg != nil {
		if err := cg.Destroy(); err != nil {
			h.logger.Warn("removing the task's cgroup failed", "error", err)
		}
	}
}

// notRun is the exit result of a task whose command never ran.
func notRun(err error) *drivers.ExitResult {
	return &drivers.ExitResult{ExitCode: exitNotRun, Err: err}
}

// prepare fetches the inputs and starts serving streaming outputs.
func (h *taskHandle) prepare() error {
	if n := len(h.spec.Inputs); n > 0 {
		h.event(fmt.Sprintf("fetching %d input channel(s)", n))
		if err := h.chans.FetchInputs(h.ctx, h.spec, h.cmd.TaskDir, h.event); err != nil {
			if h.isStopping() {
				return errStopped
			}
			return fmt.Errorf("fetch inputs: %w", err)
		}
		h.event("inputs ready")
	}
	if h.spec.streamsOutputs() {
		if err := h.streamOutputs(); err != nil {
			return err
		}
	}
	return nil
}

// streamOutputs starts serving the streaming outputs.
func (h *taskHandle) streamOutputs() error {
	s, ok := h.chans.(OutputStreamer)
	if !ok {
		return fmt.Errorf("stream outputs: the channel manager cannot stream (no OutputStreamer)")
	}
	if err := s.StreamOutputs(h.ctx, h.spec, h.cmd.TaskDir); err != nil {
		return fmt.Errorf("stream outputs: %w", err)
	}
	return nil
}

// resumeStreams reconnects the streaming channels of a recovered running
// task. On failure it kills the command, whose stream would stall, and
// returns the error for the exit result.
func (h *taskHandle) resumeStreams() error {
	in := h.spec.streamingInputs()
	var err error
	if len(in.Inputs) > 0 {
		if ferr := h.chans.FetchInputs(h.ctx, in, h.cmd.TaskDir, h.event); ferr != nil {
			err = fmt.Errorf("resume streaming inputs: %w", ferr)
		}
	}
	if err == nil && h.spec.streamsOutputs() {
		err = h.streamOutputs()
	}
	if err != nil && !h.isStopping() {
		h.event("killing the command: " + err.Error())
		if serr := h.proc.Shutdown("", 0); serr != nil {
			h.logger.Warn("killing the command failed", "error", serr)
		}
	}
	return err
}

// launch starts the command unless the task is being stopped.
func (h *taskHandle) launch() error {
	h.launchMu.Lock()
	defer h.launchMu.Unlock()
	if h.stopping {
		return errStopped
	}
	pid, err := h.proc.Launch(h.cmd)
	if err != nil {
		return err
	}
	h.launched = true
	h.mu.Lock()
	h.phase, h.pid = phaseRunning, pid
	h.mu.Unlock()
	return nil
}

// publish registers the outputs of a command that exited with code 0.
func (h *taskHandle) publish() error {
	if len(h.spec.Outputs) == 0 {
		return nil
	}
	h.setPhase(phasePublishing)
	h.event(fmt.Sprintf("publishing %d output channel(s)", len(h.spec.Outputs)))
	if err := h.chans.PublishOutputs(h.ctx, h.spec, h.cmd.TaskDir); err != nil {
		return err
	}
	h.event("outputs published")
	return nil
}

// halt marks the task as stopping and cancels fetching, streaming and
// publishing; it reports whether the command was launched, in which case
// the caller shuts it down.
func (h *taskHandle) halt() bool {
	h.launchMu.Lock()
	defer h.launchMu.Unlock()
	h.stopping = true
	h.cancel()
	return h.launched
}

// event emits a task event with msg.
func (h *taskHandle) event(msg string) {
	err := h.emit(&drivers.TaskEvent{
		TaskID:    h.cfg.ID,
		TaskName:  h.cfg.Name,
		AllocID:   h.cfg.AllocID,
		Timestamp: time.Now(),
		Message:   msg,
	})
	if err != nil {
		h.logger.Debug("task event not delivered", "message", msg, "error", err)
	}
}

func (h *taskHandle) isStopping() bool {
	h.launchMu.Lock()
	defer h.launchMu.Unlock()
	return h.stopping
}

func (h *taskHandle) isLaunched() bool {
	h.launchMu.Lock()
	defer h.launchMu.Unlock()
	return h.launched
}

func (h *taskHandle) setPhase(p string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.phase = p
}

// setExited records the command's end.
func (h *taskHandle) setExited(st proc.ExitState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pid, h.completedAt = st.Pid, st.Time
}

// finish records the exit result; WaitTask reports it from now on.
func (h *taskHandle) finish(res *drivers.ExitResult) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.result, h.phase = res, phaseExited
	if h.completedAt.IsZero() {
		h.completedAt = time.Now()
	}
}

// exitResult returns a copy of the exit result, nil while running.
func (h *taskHandle) exitResult() *drivers.ExitResult {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.result.Copy()
}

// IsRunning reports whether the task has not ended yet (fetching inputs
// counts as running).
func (h *taskHandle) IsRunning() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.result == nil
}

// TaskStatus is the task's status for InspectTask.
func (h *taskHandle) TaskStatus() *drivers.TaskStatus {
	h.mu.RLock()
	defer h.mu.RUnlock()
	st := &drivers.TaskStatus{
		ID:               h.cfg.ID,
		Name:             h.cfg.Name,
		State:            drivers.TaskStateRunning,
		StartedAt:        h.startedAt,
		CompletedAt:      h.completedAt,
		DriverAttributes: map[string]string{"phase": h.phase, "shard": h.spec.Shard},
	}
	if h.pid != 0 {
		st.DriverAttributes["pid"] = strconv.Itoa(h.pid)
	}
	if h.result != nil {
		st.State, st.ExitResult = drivers.TaskStateExited, h.result.Copy()
	}
	return st
}
