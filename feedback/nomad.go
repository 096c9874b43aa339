package feedback

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/sdk"
)

// UsageReportPath is where, inside an allocation's directory, a task (or
// the shard driver) may leave an IOReport as JSON; the service reads it
// through the client file system API when the allocation finishes.
// ${NOMAD_ALLOC_DIR}/shardwise/usage.json from inside the task.
const UsageReportPath = "alloc/shardwise/usage.json"

// maxReport bounds the usage report read, bytes.
const maxReport = 64 << 10

// nomadCache caches what the service asks Nomad repeatedly: whether a job
// is one to record, and node facts.
type nomadCache struct {
	c *api.Client
	// run, when not empty, restricts the jobs to record to that run's.
	run   string
	mu    sync.Mutex
	jobs  map[string]bool     // namespace + "/" + job ID -> to record
	nodes map[string]NodeInfo // node ID
}

func newNomadCache(c *api.Client, run string) *nomadCache {
	return &nomadCache{c: c, run: run, jobs: map[string]bool{}, nodes: map[string]NodeInfo{}}
}

// wanted reports whether j or one of its groups has Shardwise meta, of
// the cache's run when it has one.
func (n *nomadCache) wanted(j *api.Job) bool {
	if n.wantedMeta(j.Meta) {
		return true
	}
	for _, g := range j.TaskGroups {
		if n.wantedMeta(g.Meta) {
			return true
		}
	}
	return false
}

func (n *nomadCache) wantedMeta(meta map[string]string) bool {
	return IsShardwise(meta) && (n.run == "" || meta[sdk.MetaRun] == n.run)
}

func jobKey(ns, id string) string { return ns + "/" + id }

// noteJob caches the verdict on a job seen on the Job topic.
func (n *nomadCache) noteJob(j *api.Job) {
	ns := api.DefaultNamespace
	if j.Namespace != nil && *j.Namespace != "" {
		ns = *j.Namespace
	}
	n.mu.Lock()
	n.jobs[jobKey(ns, *j.ID)] = n.wanted(j)
	n.mu.Unlock()
}

// isShardwise reports whether job jobID in ns is a Shardwise job to record
// (of the cache's run, if any): from the
// cache, else from Nomad (the job, or when it has been purged the
// allocation allocID, which embeds its job).
func (n *nomadCache) isShardwise(ctx context.Context, ns, jobID, allocID string) (bool, error) {
	if ns == "" {
		ns = api.DefaultNamespace
	}
	n.mu.Lock()
	v, ok := n.jobs[jobKey(ns, jobID)]
	n.mu.Unlock()
	if ok {
		return v, nil
	}
	q := (&api.QueryOptions{Namespace: ns}).WithContext(ctx)
	j, _, err := n.c.Jobs().Info(jobID, q)
	if err != nil && launcher.IsNotFound(err) {
		a, _, aerr := n.c.Allocations().Info(allocID, q)
		if aerr != nil {
			return false, fmt.Errorf("read allocation %s: %w", allocID, aerr)
		}
		j, err = a.Job, nil
	}
	if err != nil {
		return false, fmt.Errorf("read job %s: %w", jobID, err)
	}
	v = j != nil && n.wanted(j)
	n.mu.Lock()
	n.jobs[jobKey(ns, jobID)] = v
	n.mu.Unlock()
	return v, nil
}

// node returns the class and clock of node id; a zero NodeInfo when Nomad
// cannot say (the record then lacks them).
func (n *nomadCache) node(ctx context.Context, id string) NodeInfo {
	n.mu.Lock()
	info, ok := n.nodes[id]
	n.mu.Unlock()
	if ok || id == "" {
		return info
	}
	nd, _, err := n.c.Nodes().Info(id, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return NodeInfo{}
	}
	info.Class = nd.NodeClass
	info.CPUMHz, _ = strconv.ParseFloat(nd.Attributes["cpu.frequency"], 64)
	n.mu.Lock()
	n.nodes[id] = info
	n.mu.Unlock()
	return info
}

// ioReport reads the allocation's UsageReportPath; nil when there is none
// or it cannot be read or parsed.
//
// It asks the agent the service's client talks to, which forwards to the
// allocation's node, rather than AllocFS().Cat: Cat dials the node
// directly through a new HTTP client with a transport of its own each
// call, so every recorded allocation left one more idle connection open
// (a 23-shard run grew from 2 to 26, and Nomad refuses a client IP more
// than 100 by default). This way the service's connections are reused.
func (n *nomadCache) ioReport(ctx context.Context, a *api.Allocation) *IOReport {
	q := &api.QueryOptions{Namespace: a.Namespace, Params: map[string]string{"path": UsageReportPath}}
	rc, err := n.c.Raw().Response("/v1/client/fs/cat/"+a.ID, q.WithContext(ctx))
	if err != nil {
		return nil
	}
	defer rc.Close()
	var rep IOReport
	if err := json.NewDecoder(io.LimitReader(rc, maxReport)).Decode(&rep); err != nil {
		return nil
	}
	return &rep
}

// taskTimes reads the task times file of allocation a when it completed
// and its job names a fused shard's tasks (HasTaskManifest); nil data and
// error otherwise (a failed shard's times stop at the failed task).
func (n *nomadCache) taskTimes(ctx context.Context, a *api.Allocation) ([]byte, error) {
	if a.ClientStatus != api.AllocClientStatusComplete || !HasTaskManifest(allocMeta(a)) {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, taskTimesTimeout)
	defer cancel()
	return launcher.ReadTaskTimes(n.c, a.ID, (&api.QueryOptions{Namespace: a.Namespace}).WithContext(ctx))
}

// taskTimesTimeout bounds the read of one allocation's task times: the
// commit of its batch waits for it.
const taskTimesTimeout = 10 * time.Second
