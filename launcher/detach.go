package launcher

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/sdk"
)

// Environment variables of a launcher running as a Nomad job.
const (
	// EnvAllocID is Nomad's allocation ID of the task; a launcher job's
	// lease is named after it, so that Nomad's restart of the task in the
	// same allocation takes the run back at once.
	EnvAllocID = "NOMAD_ALLOC_ID"
	// EnvNode is the node name the launcher job's task runs on, set from
	// ${node.unique.name} in the job.
	EnvNode = "SHARDWISE_LAUNCHER_NODE"
	// EnvJob is Nomad's job ID of the task.
	EnvJob = "NOMAD_JOB_ID"
)

// LauncherJob says how to run the launcher as a Nomad batch job.
type LauncherJob struct {
	// Command is the shardwise binary's path on the Nomad clients.
	Command string
	// Args go after "run -resume RUN -as-job": connection flags, lease
	// period.
	Args []string
	// Env is added to the task's environment (e.g. NOMAD_TOKEN).
	Env map[string]string
	// Driver is the task driver: raw_exec (default) or exec.
	Driver string
}

// LauncherJobID is the ID of run's launcher job for a graph.
func LauncherJobID(graph, run string) string { return graph + "-" + run + "-launcher" }

// launcherJob returns the batch job that drives run p: Nomad restarts its
// task in place when it dies (kill -9, a crash) and reschedules it to
// another node when its node is lost or drained, without limit; each
// start resumes the run.
func launcherJob(p *plan.Plan, ns string, lj LauncherJob) *api.Job {
	id := LauncherJobID(p.Graph, p.Run)
	j := api.NewBatchJob(id, id, p.Region, max(p.Priority, 50))
	if p.Region == "" {
		j.Region = nil // the agent's
	}
	if ns != "" {
		j.Namespace = &ns
	}
	j.Datacenters = p.Datacenters
	if len(j.Datacenters) == 0 {
		j.Datacenters = []string{"*"}
	}
	j.Meta = map[string]string{metaRun: p.Run, metaGraph: p.Graph, sdk.MetaRole: sdk.RoleLauncher}
	tg := api.NewTaskGroup("launcher", 1)
	// Keep the launcher off the nodes of the classes the run uses, where
	// it could take capacity from a shard and go down with a drained
	// class; a soft preference, since a cluster may have no other node.
	var classes []string
	for _, s := range p.Shards {
		if !slices.Contains(classes, s.Class) {
			classes = append(classes, s.Class)
		}
	}
	if len(classes) > 0 {
		tg.Affinities = []*api.Affinity{{LTarget: "${node.class}", Operand: "set_contains_any",
			RTarget: strings.Join(classes, ","), Weight: new(int8(-100))}}
	}
	tg.RestartPolicy = &api.RestartPolicy{Attempts: new(10), Interval: new(30 * time.Minute),
		Delay: new(time.Second), Mode: new(api.RestartPolicyModeDelay)}
	tg.ReschedulePolicy = &api.ReschedulePolicy{Attempts: new(0), Unlimited: new(true), Delay: new(5 * time.Second),
		DelayFunction: new("constant")}
	driver := lj.Driver
	if driver == "" {
		driver = "raw_exec"
	}
	t := api.NewTask("launcher", driver)
	t.Config = map[string]any{"command": lj.Command,
		"args": append([]string{"run", "-resume", p.Run, "-as-job"}, lj.Args...)}
	t.Env = maps.Clone(lj.Env)
	if t.Env == nil {
		t.Env = map[string]string{}
	}
	t.Env[EnvNode] = "${node.unique.name}"
	t.Resources = &api.Resources{CPU: new(200), MemoryMB: new(128)}
	t.KillTimeout = new(20 * time.Second)
	tg.AddTask(t)
	j.AddTaskGroup(tg)
	return j
}

// Detach stores run p (its jobs, opts and opts.Durable's inputs) in
// Nomad, after the checks Run makes, and registers its launcher job
// instead of driving it: the run survives the machine that submitted it
// and the node its launcher runs on. It returns the launcher job's ID.
// On an error nothing is left in Nomad.
func (l *Launcher) Detach(ctx context.Context, p *plan.Plan, jobs []*api.Job, opts Options, lj LauncherJob) (string, error) {
	if l.Client == nil || p == nil {
		return "", errors.New("launcher: a client and a plan are required")
	}
	o := opts.withDefaults()
	if _, err := newTracker(p, jobs, o.Retries); err != nil {
		return "", fmt.Errorf("launcher: %w", err)
	}
	ns := namespaceOf(jobs)
	if _, err := CurrentIndex(ctx, l.Client, ns, o.ConnectTimeout); err != nil {
		return "", err
	}
	job := launcherJob(p, ns, lj)
	if err := validate(ctx, l.Client, append(jobs[:len(jobs):len(jobs)], job), ns, o.RegisterConcurrency); err != nil {
		return "", err
	}
	d := o.Durable
	if d == nil {
		d = &Durable{}
	}
	held, err := d.create(ctx, l.Client, ns, p, jobs, o)
	if err != nil {
		return "", err
	}
	undo := func(err error) (string, error) {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.StopTimeout)
		defer cancel()
		_, _ = held.Store().Purge(uctx, p.Run)
		return "", err
	}
	// The launcher job takes the run as soon as it starts.
	if err := held.Release(ctx, &runstate.Progress{}); err != nil {
		return undo(stateError(l.Client, p.Run, err))
	}
	if _, _, err := l.Client.Jobs().Register(job, (&api.WriteOptions{Namespace: ns}).WithContext(ctx)); err != nil {
		return undo(fmt.Errorf("register the launcher job %s: %w", *job.ID, ConnectError(l.Client, err)))
	}
	return *job.ID, nil
}

// JobLease returns the lease of a launcher running as a Nomad job: named
// after its allocation (so a restart of the task in place resumes at
// once) and its node; false outside a Nomad allocation.
func JobLease() (runstate.Lease, bool) {
	alloc := os.Getenv(EnvAllocID)
	if alloc == "" {
		return runstate.Lease{}, false
	}
	name := fmt.Sprintf("launcher job %s, allocation %s on node %s", os.Getenv(EnvJob), shortID(alloc), os.Getenv(EnvNode))
	return runstate.Lease{ID: "alloc-" + alloc, Name: name}, true
}
