package launcher

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// describeFailure collects what Nomad knows about u's final failure: the
// failed allocation's failed task, its events and the tail of its stderr.
func (r *runner) describeFailure(ctx context.Context, u *unit) *Failure {
	f := &Failure{Shard: u.shards[0].ID, Job: u.id, Reason: u.reason}
	a, ok := u.allocs[u.failedAlloc]
	if !ok {
		return f
	}
	if a.Index >= 0 && a.Index < len(u.shards) {
		f.Shard = u.shards[a.Index].ID
	}
	f.Alloc, f.Node = a.ID, a.NodeName
	q := (&api.QueryOptions{Namespace: r.ns}).WithContext(ctx)
	alloc, _, err := r.c.Allocations().Info(a.ID, q)
	if err != nil {
		f.StderrErr = fmt.Errorf("read allocation %s: %w", shortID(a.ID), ConnectError(r.c, err))
		return f
	}
	task, ts := failedTask(alloc.TaskStates)
	f.Task = task
	if ts != nil {
		f.Events = taskEvents(ts.Events)
	}
	if task != "" {
		f.Stderr, f.StderrErr = stderrTail(r.c.AllocFS(), alloc, task, r.o.StderrBytes, q)
	}
	return f
}

// failedTask returns the task that failed (the first by name when several
// did), else the first task by name.
func failedTask(states map[string]*api.TaskState) (string, *api.TaskState) {
	names := slices.Sorted(maps.Keys(states))
	for _, n := range names {
		if ts := states[n]; ts != nil && ts.Failed {
			return n, ts
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	return names[0], states[names[0]]
}

// taskEvents converts Nomad's task events, oldest first.
func taskEvents(evs []*api.TaskEvent) []TaskEvent {
	out := make([]TaskEvent, 0, len(evs))
	for _, e := range evs {
		if e == nil {
			continue
		}
		msg := e.DisplayMessage
		if msg == "" {
			msg = e.Message
		}
		out = append(out, TaskEvent{Time: time.Unix(0, e.Time), Type: e.Type, Message: msg})
	}
	return out
}

// stderrTail reads the last n bytes of the task's newest stderr log file
// (alloc/logs/TASK.stderr.N with the highest N) through the client file
// system API.
func stderrTail(fs *api.AllocFS, alloc *api.Allocation, task string, n int64, q *api.QueryOptions) (string, error) {
	files, _, err := fs.List(alloc, "alloc/logs", q)
	if err != nil {
		return "", fmt.Errorf("list alloc/logs: %w", err)
	}
	name, size := newestLog(files, task+".stderr.")
	if name == "" {
		return "", fmt.Errorf("no stderr log for task %q in alloc/logs", task)
	}
	off := max(size-n, 0)
	rc, err := fs.ReadAt(alloc, path.Join("alloc/logs", name), off, size-off, q)
	if err != nil {
		return "", fmt.Errorf("read alloc/logs/%s: %w", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, n))
	if err != nil {
		return "", fmt.Errorf("read alloc/logs/%s: %w", name, err)
	}
	return string(b), nil
}

// newestLog returns the log file named prefix+N with the highest N, and
// its size in bytes.
func newestLog(files []*api.AllocFileInfo, prefix string) (string, int64) {
	best, bestN, size := "", -1, int64(0)
	for _, f := range files {
		if f == nil || f.IsDir || !strings.HasPrefix(f.Name, prefix) {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(f.Name, prefix))
		if err == nil && n > bestN {
			best, bestN, size = f.Name, n, f.Size
		}
	}
	return best, size
}

// placementReason summarises why Nomad could not place a job's groups,
// as `nomad job status` does: nodes filtered by class or constraint, and
// resources exhausted.
func placementReason(failed map[string]*api.AllocationMetric) string {
	var parts []string
	for _, g := range slices.Sorted(maps.Keys(failed)) {
		if m := failed[g]; m != nil {
			parts = append(parts, fmt.Sprintf("group %s cannot be placed yet (%s)", g, strings.Join(metricWhy(m), "; ")))
		}
	}
	return strings.Join(parts, "; ")
}
