package feedback

import (
	"context"
	"fmt"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/sdk"
)

// Advisor answers what a launcher asks before it submits the next shards
// of a run: how loaded each class is now, and what history says. Either
// field may be nil when the corresponding method is not used.
type Advisor struct {
	Client *api.Client
	Store  *Store
}

// NodeClassLoad is the current load of the nodes of one Nomad node class.
type NodeClassLoad struct {
	Nodes      int // nodes of the class
	ReadyNodes int // of which ready and eligible
	// Allocations pending or running on the class's nodes.
	Allocations int
}

// Load is a snapshot of the cluster's load.
type Load struct {
	// Classes is keyed by Nomad node class ("" for nodes without one).
	Classes map[string]NodeClassLoad
	// Blocked counts blocked evaluations (jobs waiting for capacity) by
	// the executor class of their job (shardwise_class; "" for jobs that
	// are not Shardwise's).
	Blocked map[string]int
}

// Load reads the nodes, the live allocations and the blocked evaluations
// of every namespace from Nomad: three list requests, plus one job read
// per distinct blocked job. It fails with the first request's error.
func (a *Advisor) Load(ctx context.Context) (*Load, error) {
	q := (&api.QueryOptions{Namespace: "*"}).WithContext(ctx)
	nodes, _, err := a.Client.Nodes().List(q)
	if err != nil {
		return nil, fmt.Errorf("advisor: list nodes: %w", err)
	}
	out := &Load{Classes: map[string]NodeClassLoad{}, Blocked: map[string]int{}}
	classOf := map[string]string{}
	for _, n := range nodes {
		classOf[n.ID] = n.NodeClass
		l := out.Classes[n.NodeClass]
		l.Nodes++
		if n.Status == api.NodeStatusReady && n.SchedulingEligibility == api.NodeSchedulingEligible {
			l.ReadyNodes++
		}
		out.Classes[n.NodeClass] = l
	}
	allocs, _, err := a.Client.Allocations().List(q)
	if err != nil {
		return nil, fmt.Errorf("advisor: list allocations: %w", err)
	}
	for _, al := range allocs {
		if al.ClientStatus == api.AllocClientStatusPending || al.ClientStatus == api.AllocClientStatusRunning {
			c := classOf[al.NodeID]
			l := out.Classes[c]
			l.Allocations++
			out.Classes[c] = l
		}
	}
	return out, a.blocked(ctx, out.Blocked)
}

// blocked counts blocked evaluations by their job's executor class.
func (a *Advisor) blocked(ctx context.Context, into map[string]int) error {
	q := (&api.QueryOptions{Namespace: "*", Filter: `Status == "blocked"`}).WithContext(ctx)
	evals, _, err := a.Client.Evaluations().List(q)
	if err != nil {
		return fmt.Errorf("advisor: list evaluations: %w", err)
	}
	classes := map[string]string{}
	for _, e := range evals {
		key := jobKey(e.Namespace, e.JobID)
		class, ok := classes[key]
		if !ok {
			j, _, err := a.Client.Jobs().Info(e.JobID, (&api.QueryOptions{Namespace: e.Namespace}).WithContext(ctx))
			if err != nil && !isNotFound(err) {
				return fmt.Errorf("advisor: read job %s: %w", e.JobID, err)
			}
			if j != nil {
				class = j.Meta[sdk.MetaClass]
			}
			classes[key] = class
		}
		into[class]++
	}
	return nil
}

// History returns every record of the store, freshest state.
func (a *Advisor) History(ctx context.Context) ([]history.Record, error) {
	if a.Store == nil {
		return nil, fmt.Errorf("advisor: no history store")
	}
	return a.Store.Records(ctx)
}

// Predictor refits the predictor from the store's records (FitRecords)
// plus extra
// (e.g. the -history files the run was planned with); see predict.New.
func (a *Advisor) Predictor(ctx context.Context, cat *catalog.Catalog, extra ...history.Record) (*predict.Predictor, error) {
	if a.Store == nil {
		return nil, fmt.Errorf("advisor: no history store")
	}
	recs, err := a.Store.FitRecords(ctx)
	if err != nil {
		return nil, err
	}
	p, err := predict.New(cat, append(append([]history.Record(nil), extra...), recs...))
	if err != nil {
		return nil, fmt.Errorf("advisor: %w", err)
	}
	return p, nil
}

// OOMRecord returns the record BuildRecord makes of a failed allocation,
// and true, when its task was OOM-killed (OOMKilled); the record died at
// least at its limit (MemoryBytes >= MemoryLimitBytes) and names its
// executor class. a must carry its Job, as /v1/allocation/:id returns it.
// It reports false for an allocation that was not OOM-killed, has no
// Shardwise meta or no task state. How much memory the retry gets is the
// launcher's re-planner's policy (launcher/replan.OOMRetry).
func OOMRecord(a *api.Allocation) (history.Record, bool) {
	if a == nil {
		return history.Record{}, false
	}
	rec, ok := BuildRecord(a, Usage{}, NodeInfo{}, nil)
	if !ok || !rec.OOMKilled {
		return history.Record{}, false
	}
	return rec, true
}
