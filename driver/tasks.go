package driver

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/consul-template/signals"
	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/drivers"

	"github.com/shardwise/shardwise/driver/proc"
)

// StartTask starts the task's executor and returns the task running; the
// executor launches the command once the inputs are fetched (see the
// package doc). It fails for a task ID already started, a config that
// does not decode or validate, channels without a channel manager, or an
// executor that does not start.
func (d *Driver) StartTask(cfg *drivers.TaskConfig) (*drivers.TaskHandle, *drivers.DriverNetwork, error) {
	if _, ok := d.tasks.Get(cfg.ID); ok {
		return nil, nil, fmt.Errorf("task %q already started", cfg.ID)
	}
	tc, spec, err := decodeTask(cfg)
	if err != nil {
		return nil, nil, err
	}
	conf, ports, chans := d.snapshot()
	if err := needChannels(spec, chans); err != nil {
		return nil, nil, err
	}
	logger := d.logger.With("alloc_id", cfg.AllocID, "task_name", cfg.Name)
	cg, err := d.taskCgroup(cfg, conf)
	if err != nil {
		return nil, nil, err
	}
	p, err := proc.Start(logger, ports, filepath.Join(cfg.TaskDir().Dir, "executor.out"))
	if err != nil {
		destroyCgroup(logger, cg)
		return nil, nil, err
	}
	handle := drivers.NewTaskHandle(taskHandleVersion)
	handle.Config = cfg
	state := TaskState{ReattachConfig: p.ReattachConfig(), StartedAt: time.Now().Round(time.Millisecond), DriverConfig: tc, Cgroup: cg}
	if err := handle.SetDriverState(&state); err != nil {
		p.Kill()
		destroyCgroup(logger, cg)
		return nil, nil, fmt.Errorf("store driver state: %w", err)
	}
	h := newHandle(cfg, spec, command(cfg, tc, conf.NoCgroups, cg), p, chans, d.eventer.EmitEvent, d.logger, state.StartedAt, false)
	d.tasks.Set(cfg.ID, h)
	go h.run()
	return handle, nil, nil
}

// envParentCgroup is the variable in which the client passes its
// cgroup_parent to tasks; defaultParentCgroup is its v1 default.
const (
	envParentCgroup     = "NOMAD_PARENT_CGROUP"
	defaultParentCgroup = "/nomad"
)

// taskCgroup creates the task's cgroup with the limits of its allocated
// resources, or returns nil when the driver cannot enforce limits (the
// fingerprint says why). Failing to create it fails the task: a driver
// that can enforce limits never runs a task without them.
func (d *Driver) taskCgroup(cfg *drivers.TaskConfig, conf *Config) (*proc.Cgroup, error) {
	e := d.enforcement()
	if !e.Enforced() {
		return nil, nil
	}
	parent := cfg.Env[envParentCgroup]
	if parent == "" {
		parent = defaultParentCgroup
	}
	name := "shard." + strings.ReplaceAll(cfg.ID, "/", ".")
	cg, err := proc.NewCgroup(e, parent, name, limitsOf(cfg.Resources, conf.PidsLimit))
	if err != nil {
		return nil, fmt.Errorf("task %s: resource limits: %w", cfg.Name, err)
	}
	return cg, nil
}

// limitsOf are the cgroup limits of a task's allocated resources, as
// Nomad's exec driver sets them: memory_max (when oversubscription gives
// one) else memory as the hard limit, memory as the soft limit below
// memory_max; CPU shares = allocated MHz; the client's cpuset cgroup.
func limitsOf(r *drivers.Resources, pidsMax int64) proc.Limits {
	l := proc.Limits{PidsMax: pidsMax}
	if r == nil {
		return l
	}
	if lr := r.LinuxResources; lr != nil {
		l.CpusetPath = lr.CpusetCgroupPath
	}
	nr := r.NomadResources
	if nr == nil {
		return l
	}
	hard, soft := nr.Memory.MemoryMaxMB, nr.Memory.MemoryMB
	if hard <= soft {
		hard, soft = nr.Memory.MemoryMB, 0
	}
	l.MemoryBytes, l.MemorySoftBytes = hard<<20, soft<<20
	l.CPUShares = nr.Cpu.CpuShares
	return l
}

// mhzPerCore is the clock of one core in the node's MHz for a task that
// reserves cores (its CPU shares are cores x the node's MHz per core);
// 0 otherwise, which means the host's detected clock. The cores come as
// LinuxResources.CpusetCpus ("0,1"): gRPC does not carry ReservedCores.
func mhzPerCore(r *drivers.Resources) float64 {
	if r == nil || r.NomadResources == nil || r.NomadResources.Cpu.CpuShares <= 0 {
		return 0
	}
	cores := len(r.NomadResources.Cpu.ReservedCores)
	if lr := r.LinuxResources; cores == 0 && lr != nil && strings.TrimSpace(lr.CpusetCpus) != "" {
		cores = len(strings.Split(lr.CpusetCpus, ","))
	}
	if cores == 0 {
		return 0
	}
	return float64(r.NomadResources.Cpu.CpuShares) / float64(cores)
}

// destroyCgroup removes a cgroup made for a task that did not start.
func destroyCgroup(logger hclog.Logger, cg *proc.Cgroup) {
	if cg == nil {
		return
	}
	if err := cg.Destroy(); err != nil {
		logger.Warn("removing the task's cgroup failed", "error", err)
	}
}

// needChannels fails when spec has channels and chans is nil.
func needChannels(spec TaskChannels, chans ChannelManager) error {
	if n := len(spec.Inputs) + len(spec.Outputs); n > 0 && chans == nil {
		return fmt.Errorf("the task has %d channel(s) but the driver has no channel manager "+
			"(a plugin built without one, or not yet configured by the agent)", n)
	}
	return nil
}

// RecoverTask reattaches to the executor of a task started by an earlier
// plugin process, from the handle's driver state and task config. A
// launched command is awaited, never launched again; a task that was
// still fetching its inputs fetches them again and then launches. It
// returns nil if the task is known already, and an error when the state
// does not decode or the executor is gone.
func (d *Driver) RecoverTask(handle *drivers.TaskHandle) error {
	if handle == nil || handle.Config == nil {
		return fmt.Errorf("recover task: handle without task config")
	}
	cfg := handle.Config
	if _, ok := d.tasks.Get(cfg.ID); ok {
		return nil
	}
	var state TaskState
	if err := handle.GetDriverState(&state); err != nil {
		return fmt.Errorf("recover task %s: decode driver state: %w", cfg.Name, err)
	}
	if state.ReattachConfig == nil {
		return fmt.Errorf("recover task %s: driver state has no executor", cfg.Name)
	}
	tc, spec, err := recoveredConfig(cfg, state)
	if err != nil {
		return fmt.Errorf("recover task %s: %w", cfg.Name, err)
	}
	conf, _, chans := d.snapshot()
	if err := needChannels(spec, chans); err != nil {
		return fmt.Errorf("recover task %s: %w", cfg.Name, err)
	}
	p, err := proc.Reattach(d.logger.With("alloc_id", cfg.AllocID, "task_name", cfg.Name), state.ReattachConfig)
	if err != nil {
		return fmt.Errorf("recover task %s: %w", cfg.Name, err)
	}
	launched, err := p.Launched()
	if err != nil {
		return fmt.Errorf("recover task %s: %w", cfg.Name, err)
	}
	h := newHandle(cfg, spec, command(cfg, tc, conf.NoCgroups, state.Cgroup), p, chans, d.eventer.EmitEvent, d.logger, state.StartedAt, launched)
	d.tasks.Set(cfg.ID, h)
	// The client registers its event handler for the task only after
	// RecoverTask returns, so it usually drops the event below ("no
	// handler registered for event"); the log line is the lasting record.
	d.logger.Info("recovered task", "alloc_id", cfg.AllocID, "task_name", cfg.Name, "command_launched", launched,
		"resource_limits", state.Cgroup != nil)
	if launched {
		h.event("recovered after a plugin restart: command running")
	} else {
		h.event("recovered after a plugin restart: fetching inputs again")
	}
	go h.run()
	return nil
}

// recoveredConfig returns the driver config of a task to recover: the
// copy in its driver state, or for a handle without one (as written by
// another version) the handle's task config.
func recoveredConfig(cfg *drivers.TaskConfig, state TaskState) (*TaskConfig, TaskChannels, error) {
	if state.DriverConfig == nil {
		return decodeTask(cfg)
	}
	spec, err := state.DriverConfig.resolve(cfg)
	if err != nil {
		return nil, TaskChannels{}, err
	}
	return state.DriverConfig, spec, nil
}

// WaitTask returns a channel that receives the task's exit result once,
// after outputs are published, then closes; it closes without a result
// when ctx ends first.
//
// It does not end when the plugin shuts down: over gRPC a channel closed
// without a result becomes a WaitTask answer without one, and Nomad
// v1.6.1's client dereferences the missing result and panics
// (plugins/drivers/client.go, handleWaitTask), taking the agent down. That
// happens when a restarted client reattaches to the plugin of the client
// it replaces, which shuts down once it notices its parent is gone. A
// plugin that exits breaks the stream instead, which the client handles.
func (d *Driver) WaitTask(ctx context.Context, taskID string) (<-chan *drivers.ExitResult, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	ch := make(chan *drivers.ExitResult)
	go func() {
		defer close(ch)
		select {
		case <-h.done:
		case <-ctx.Done():
			return
		}
		select {
		case ch <- h.exitResult():
		case <-ctx.Done():
		}
	}()
	return ch, nil
}

// StopTask stops the task: a task still fetching inputs ends without
// running its command; a running command gets signal (e.g. "SIGTERM";
// "" means SIGINT) and is killed with its whole tree after timeout. It
// returns once the task has ended, and then ends the executor.
func (d *Driver) StopTask(taskID string, timeout time.Duration, signal string) error {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return drivers.ErrTaskNotFound
	}
	if h.halt() {
		if err := h.proc.Shutdown(signal, timeout); err != nil && !h.proc.Exited() {
			return fmt.Errorf("stop task %s: %w", h.cfg.Name, err)
		}
	}
	<-h.done
	h.killTree()
	h.proc.Kill()
	return nil
}

// DestroyTask forgets the task after killing what is left of it. It
// refuses a running task unless force is set.
func (d *Driver) DestroyTask(taskID string, force bool) error {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return drivers.ErrTaskNotFound
	}
	if h.IsRunning() && !force {
		return fmt.Errorf("destroy task %s: the task is running", h.cfg.Name)
	}
	h.halt()
	if !h.proc.Exited() {
		if err := h.proc.Shutdown("", 0); err != nil {
			h.logger.Warn("killing the command failed", "error", err)
		}
		h.proc.Kill()
	}
	h.destroyCgroup()
	d.tasks.Delete(taskID)
	return nil
}

// InspectTask returns the task's status; driver attributes "phase"
// (fetching inputs, running, publishing outputs, exited), "shard" and,
// once known, "pid".
func (d *Driver) InspectTask(taskID string) (*drivers.TaskStatus, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	return h.TaskStatus(), nil
}

// TaskStats sends the CPU and memory use of the task's process tree every
// interval until ctx ends (zero while the task fetches its inputs). With
// a cgroup the figures are the cgroup's (proc.StatsReader: RSS, cache,
// swap; CPU from cpuacct or cpu.stat) and the executor adds the pids;
// without one they are the executor's, summed over the tree's processes.
func (d *Driver) TaskStats(ctx context.Context, taskID string, interval time.Duration) (<-chan *drivers.TaskResourceUsage, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	in, err := h.proc.Stats(ctx, interval)
	if err != nil {
		return nil, err
	}
	var cgStats *proc.StatsReader
	if cg := h.cmd.Limits; cg != nil {
		cgStats = proc.NewStatsReader(cg, mhzPerCore(h.cfg.Resources))
	}
	out := make(chan *drivers.TaskResourceUsage)
	go func() {
		defer close(out)
		for u := range in {
			if cgStats != nil && u != nil {
				if ru, err := cgStats.Read(); err == nil {
					if u.ResourceUsage != nil {
						ru.DeviceStats = u.ResourceUsage.DeviceStats
					}
					u.ResourceUsage = ru
				} else {
					h.logger.Debug("cgroup stats unavailable, sending the executor's", "error", err)
				}
			}
			select {
			case out <- finiteUsage(u):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// finiteUsage replaces NaN and infinite CPU figures with 0: one NaN makes
// the client's whole allocation stats unencodable as JSON.
func finiteUsage(u *drivers.TaskResourceUsage) *drivers.TaskResourceUsage {
	if u == nil {
		return u
	}
	fixCPU := func(ru *drivers.ResourceUsage) {
		if ru == nil || ru.CpuStats == nil {
			return
		}
		for _, f := range []*float64{&ru.CpuStats.SystemMode, &ru.CpuStats.UserMode, &ru.CpuStats.TotalTicks, &ru.CpuStats.Percent} {
			if math.IsNaN(*f) || math.IsInf(*f, 0) {
				*f = 0
			}
		}
	}
	fixCPU(u.ResourceUsage)
	for _, ru := range u.Pids {
		fixCPU(ru)
	}
	return u
}

// TaskEvents streams the driver's task events (fetch and publish progress,
// recoveries) until ctx ends.
func (d *Driver) TaskEvents(ctx context.Context) (<-chan *drivers.TaskEvent, error) {
	return d.eventer.TaskEvents(ctx)
}

// SignalTask sends the named signal (e.g. "SIGUSR1") to the command's main
// process. It fails for an unknown signal name and before the command
// has started.
func (d *Driver) SignalTask(taskID string, signal string) error {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return drivers.ErrTaskNotFound
	}
	sig, ok := signals.SignalLookup[signal]
	if !ok {
		return fmt.Errorf("signal task %s: unknown signal %q", h.cfg.Name, signal)
	}
	if !h.isLaunched() {
		return fmt.Errorf("signal task %s: %w", h.cfg.Name, errNotLaunched)
	}
	return h.proc.Signal(sig)
}

// ExecTask runs cmd beside the task's command (same user, env and dir)
// for at most timeout and returns its output and exit code.
func (d *Driver) ExecTask(taskID string, cmd []string, timeout time.Duration) (*drivers.ExecTaskResult, error) {
	h, err := d.execHandle(taskID, cmd)
	if err != nil {
		return nil, err
	}
	out, code, err := h.proc.Exec(time.Now().Add(timeout), cmd[0], cmd[1:])
	if err != nil {
		return nil, err
	}
	return &drivers.ExecTaskResult{Stdout: out, ExitResult: &drivers.ExitResult{ExitCode: code}}, nil
}

var _ drivers.ExecTaskStreamingRawDriver = (*Driver)(nil)

// ExecTaskStreamingRaw runs command beside the task's command, wired to
// stream (nomad alloc exec).
func (d *Driver) ExecTaskStreamingRaw(ctx context.Context, taskID string, command []string, tty bool, stream drivers.ExecTaskStream) error {
	h, err := d.execHandle(taskID, command)
	if err != nil {
		return err
	}
	return h.proc.ExecStreaming(ctx, command, tty, stream)
}

// execHandle returns the handle of a task that can run exec commands.
func (d *Driver) execHandle(taskID string, cmd []string) (*taskHandle, error) {
	if len(cmd) == 0 {
		return nil, fmt.Errorf("exec: empty command")
	}
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	if !h.isLaunched() {
		return nil, fmt.Errorf("exec in task %s: %w", h.cfg.Name, errNotLaunched)
	}
	return h, nil
}
