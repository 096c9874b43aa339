package replan

import (
	"context"
	"fmt"
	"slices"

	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
)

// Late binding: the jobs of a wave that no trigger re-planned are bound
// by plan.Binder, the same code the simulator calls where it submits a
// shard (planner/simulate, Options.Binder), so that the evaluation
// measures this behaviour. The Binder learns from the completed shards'
// actual runtimes (predict.Correction) and sees each class's instances
// (catalog Instances) held by the running shards and waited for by the
// submitted ones; a shard moves only when it would wait on its class and
// another finishes it clearly earlier at p90 (plan.Binder.Bind).

// bind returns the late-binding moves of the jobs of req.Next that no
// trigger re-planned (skip), to usable classes (load). Without a job whose class is full it reads nothing.
func (r *Replanner) bind(ctx context.Context, req launcher.ReplanRequest, load *Load, skip map[string]trigger) ([]launcher.Move, error) {
	byJob, order := jobsOf(req.Next)
	index := map[string]int{}
	for i, s := range req.Plan.Shards {
		index[s.ID] = i
	}
	view := r.bindView(req, index)
	var cands []string
	for _, job := range order {
		_, triggered := skip[job]
		if sh := byJob[job]; !triggered && len(sh) == 1 && r.full(view, sh[0].Class) {
			cands = append(cands, job)
		}
	}
	if len(cands) == 0 {
		return nil, nil
	}
	tb, err := r.bindTable(ctx)
	if err != nil {
		return nil, err
	}
	b := plan.NewBinder(req.Plan, r.Graph, r.Catalog, tb, nil)
	for _, d := range req.Done {
		if i, ok := index[d.Shard]; ok && d.State == launcher.Complete && d.Actual > 0 {
			b.Finished(i, d.Class, 0, d.Actual.Seconds(), d.TaskSeconds)
		}
	}
	var moves []launcher.Move
	for _, job := range order {
		if !slices.Contains(cands, job) {
			continue
		}
		s := byJob[job][0]
		i := index[s.ID]
		to := b.Bind(i, 0, view)
		if to != "" && !r.usable(to, load) {
			to = ""
		}
		class := s.Class
		if to != "" {
			m, err := r.moveTo(req.Plan, byJob[job], to, tb, fmt.Sprintf("late binding: %s is full, %s finishes it earlier at p90", s.Class, to))
			if err != nil {
				return moves, err
			}
			moves, class = append(moves, *m), to
		}
		// The shard now waits on its class for the later jobs of the wave.
		for k := range view.Classes {
			if view.Classes[k].Class == class {
				view.Classes[k].Queued = append(view.Classes[k].Queued, i)
			}
		}
	}
	return moves, nil
}

// bindView is the cluster as the Binder sees it: each catalog class with
// instances, the active shards running on it (StartSeconds relative to
// req.Now, which is time 0) and those waiting.
func (r *Replanner) bindView(req launcher.ReplanRequest, index map[string]int) plan.BindView {
	var v plan.BindView
	pos := map[string]int{}
	for _, cl := range r.Catalog.Classes {
		if cl.Instances > 0 {
			pos[cl.Name] = len(v.Classes)
			v.Classes = append(v.Classes, plan.ClassView{Class: cl.Name, Instances: cl.Instances})
		}
	}
	for _, a := range req.Active {
		k, ok := pos[a.Class]
		i, known := index[a.Shard]
		if !ok || !known {
			continue
		}
		if a.Running {
			v.Classes[k].Running = append(v.Classes[k].Running, plan.RunningShard{Shard: i, StartSeconds: a.Since.Sub(req.Now).Seconds()})
		} else {
			v.Classes[k].Queued = append(v.Classes[k].Queued, i)
		}
	}
	return v
}

// full reports whether every instance of class is held or waited for in
// v; a class without instances in the catalog never is.
func (r *Replanner) full(v plan.BindView, class string) bool {
	for _, cv := range v.Classes {
		if cv.Class == class {
			return len(cv.Running)+len(cv.Queued) >= cv.Instances
		}
	}
	return false
}

// bindTable is the Binder's uncorrected predictions: the graph predicted
// by the predictor refitted on first use, kept for the run (the Binder
// corrects them from the run's completed shards at every wave). A refit
// that fails is not tried again in the run: its error is kept and
// returned (the callers run once per job and per timed shard of a wave,
// so retrying would refit thousands of times in the launcher's loop).
func (r *Replanner) bindTable(ctx context.Context) (*predict.Table, error) {
	if r.table != nil || r.tableErr != nil {
		return r.table, r.tableErr
	}
	r.table, r.tableErr = r.refitTable(ctx)
	return r.table, r.tableErr
}

func (r *Replanner) refitTable(ctx context.Context) (*predict.Table, error) {
	pred, err := r.Advisor.Predictor(ctx, r.Catalog, r.Extra...)
	if err != nil {
		return nil, err
	}
	return (&planner.Pipeline{Catalog: r.Catalog, Predictor: pred}).Predict(r.Graph, "")
}
