package evaluate

import (
	"sort"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/place"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
)

// problem is the task graph in planner/place's terms: one node per task
// (index as in g.Tasks), one edge per graph edge, runtimes from tb
// (place.Infeasible where a class cannot run a task).
func problem(g *graph.Graph, cat *catalog.Catalog, tb *predict.Table) *place.Problem {
	nc := len(cat.Classes)
	p := &place.Problem{Nodes: len(g.Tasks), Runtime: make([]float64, len(g.Tasks)*nc)}
	for _, cl := range cat.Classes {
		p.Classes = append(p.Classes, place.Class{
			Name: cl.Name, Instances: cl.Instances, BandwidthBytes: cl.BandwidthBytes,
			StartupSeconds: cl.Startup.Seconds(),
		})
	}
	rt := runtimes(tb)
	for t := range g.Tasks {
		copy(p.Runtime[t*nc:], rt[t])
	}
	bytes := edgeBytes(g, tb)
	for i, e := range g.Edges {
		p.EdgeFrom = append(p.EdgeFrom, int32(g.Index(e.From)))
		p.EdgeTo = append(p.EdgeTo, int32(g.Index(e.To)))
		p.EdgeBytes = append(p.EdgeBytes, bytes[i])
	}
	return p
}

// edgeBytes returns each edge's size in bytes by plan.Build's rule: the
// declared size, else the producer's predicted OutputBytes (on its first
// feasible class) divided among its outputs of undeclared size.
func edgeBytes(g *graph.Graph, tb *predict.Table) []float64 {
	out := make([]float64, len(g.Edges))
	for i, e := range g.Edges {
		if e.Bytes >= 0 {
			out[i] = float64(e.Bytes)
			continue
		}
		f := g.Index(e.From)
		unknown := 0
		for _, o := range g.Tasks[f].Outputs {
			if o.Bytes == 0 {
				unknown++
			}
		}
		for c := range tb.Classes {
			if n := tb.At(f, c); n.Feasible {
				out[i] = n.OutputBytes.Value / float64(max(unknown, 1))
				break
			}
		}
	}
	return out
}

// taskPlan turns a schedule of p (one node per task of g) into a plan of
// one shard per task: shard ID the task's name, on the schedule's class,
// with the table's runtime there, upstream shards from every edge and one
// channel per edge that carries bytes. Shards are listed in order of
// scheduled start (task index on ties), which the simulator's queues
// follow among shards ready at once.
func taskPlan(g *graph.Graph, p *place.Problem, s *place.Schedule, tb *predict.Table, run, algorithm string) *plan.Plan {
	pl := &plan.Plan{
		Schema: plan.SchemaVersion, Graph: g.Name, Run: run, Algorithm: algorithm,
		MakespanSeconds: s.Makespan,
	}
	order := make([]int, len(g.Tasks))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return s.Start[order[a]] < s.Start[order[b]] })
	shards := make([]*plan.Shard, len(g.Tasks))
	for _, t := range order {
		task, c := g.Tasks[t], int(s.Class[t])
		n := tb.At(t, c)
		shards[t] = &plan.Shard{
			ID: task.Name, Job: task.Name, Tasks: []string{task.Name}, Signature: task.Signature,
			Class: p.Classes[c].Name, Type: string(graph.TypeBatch), Kind: string(tb.Kinds[t]),
			StartSeconds: s.Start[t], FinishSeconds: s.Finish[t],
			RuntimeSeconds: plan.Estimate{Value: n.Runtime.Value, Uncertainty: n.Runtime.Uncertainty, Source: plan.SourceOf(n.Runtime.Source)},
			Upstream:       []string{},
		}
		pl.Shards = append(pl.Shards, shards[t])
	}
	for i, e := range g.Edges {
		to := shards[g.Index(e.To)]
		to.Upstream = append(to.Upstream, e.From)
		if b := int64(p.EdgeBytes[i]); b > 0 {
			src := plan.BytesDeclared
			if e.Bytes < 0 {
				src = plan.BytesPredicted
			}
			pl.Channels = append(pl.Channels, &plan.Channel{
				ID: e.From + "->" + e.To, From: e.From, To: e.To, FromTask: e.From, Output: e.Output,
				ToTask: e.To, Bytes: b, BytesSource: src, Stream: e.Stream,
			})
		}
	}
	return pl
}
