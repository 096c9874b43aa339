package launcher

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/sdk"
)

// Per-task times of fused shards. A fused shard's script records the time
// at each boundary between its tasks in its allocation directory
// (sdk.TaskTimesFile); when its allocation completes in a run that
// re-plans, the launcher reads the file through Nomad's client file system
// API and hands each task's own runtime to the Replanner
// (ShardResult.TaskSeconds), whose in-run learning then sees each task
// type's speed instead of the shard's. A file that cannot be read or does
// not parse is no error: the shard's one runtime stands.

// taskTimesTimeout bounds the read of one allocation's task times; the
// run's loop waits for it.
const taskTimesTimeout = 10 * time.Second

// taskTimesMaxBytes bounds what is read of the file (sdk.MaxTimedTasks+1
// lines of about 25 bytes).
const taskTimesMaxBytes = 64 << 10

// readTaskTimes sets u.taskSeconds from u's complete allocation, when u is
// a fused batch shard whose script times its tasks and the run re-plans;
// a failure is logged at debug level and leaves them unset.
func (r *runner) readTaskTimes(ctx context.Context, u *unit) {
	if r.o.Replanner == nil || u.service || len(u.shards) != 1 || u.taskSeconds != nil {
		return
	}
	s := u.shards[0]
	if s.Split != nil || !sdk.TimesTasks(len(s.Tasks)) {
		return
	}
	a, ok := u.bestAlloc(0)
	if !ok || !a.complete() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, taskTimesTimeout)
	defer cancel()
	q := (&api.QueryOptions{Namespace: r.ns}).WithContext(ctx)
	secs, err := taskTimes(r.c, a.ID, len(s.Tasks), q)
	if err != nil {
		r.log.Debug("per-task times not read; the shard's runtime stands", "job", u.id, "alloc", shortID(a.ID), "error", err)
		return
	}
	u.taskSeconds = secs
}

// taskTimes reads sdk.TaskTimesPath of allocation alloc (ReadTaskTimes)
// and parses it for n tasks.
func taskTimes(c *api.Client, alloc string, n int, q *api.QueryOptions) ([]float64, error) {
	data, err := ReadTaskTimes(c, alloc, q)
	if err != nil {
		return nil, err
	}
	return sdk.ParseTaskTimes(data, n)
}

// ReadTaskTimes returns the bytes of allocation alloc's task times file
// (sdk.TaskTimesPath; at most 64 KiB), read with q (whose Params it
// sets) through the agent c talks to, which forwards the read to the
// allocation's client (Nomad's /v1/client/fs/cat): api.AllocFS.Cat would
// first try the client directly, through a new connection each time. Its
// error names the file and carries Nomad's (no such file, say).
func ReadTaskTimes(c *api.Client, alloc string, q *api.QueryOptions) ([]byte, error) {
	q.Params = map[string]string{"path": sdk.TaskTimesPath}
	rc, err := c.Raw().Response("/v1/client/fs/cat/"+url.PathEscape(alloc), q)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", sdk.TaskTimesPath, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, taskTimesMaxBytes))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", sdk.TaskTimesPath, err)
	}
	return data, nil
}
