package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/predict"
)

// Methods of planning a graph, as `shardwise plan/run -method` names them.
const (
	// MethodShardwise is Build: fusion, splitting, sibling batching and
	// the single-class fallback.
	MethodShardwise = "shardwise"
	// MethodHEFT is HEFT (Topcuoglu et al. 2002, insertion-based): one
	// shard per task, each on the class where it finishes first; no
	// fusion, no batching, no single-class fallback.
	MethodHEFT = "heft"
	// MethodSingle puts every task on one class, one shard per task: the
	// named class ("single:CLASS"), else the class on which that finishes
	// first (Plan.Baseline's).
	MethodSingle = "single"
)

// Method is a parsed planning method: Name is one of the Method*
// constants, Class the class of "single:CLASS" ("" otherwise).
type Method struct {
	Name  string
	Class string
}

// Replanned reports whether the launcher re-plans and late-binds (Binder)
// the shards of a plan made with m while it runs: only Shardwise's. A
// baseline (HEFT, single class) runs as planned, since the re-planner
// plans Shardwise's way. app's run and planner/evaluate both ask this, so
// the evaluation plays each method as the launcher runs it.
func (m Method) Replanned() bool { return m.Name == "" || m.Name == MethodShardwise }

func (m Method) String() string {
	if m.Class != "" {
		return m.Name + ":" + m.Class
	}
	return m.Name
}

// ParseMethod reads "shardwise", "heft", "single" or "single:CLASS"; ""
// means shardwise. The class is checked by BuildMethod, against the
// catalog.
func ParseMethod(s string) (Method, error) {
	name, class, hasClass := strings.Cut(s, ":")
	switch {
	case s == "":
		return Method{Name: MethodShardwise}, nil
	case name == MethodSingle && hasClass && class == "":
		return Method{}, fmt.Errorf("method %q: want single:CLASS with a class name, or single", s)
	case name == MethodSingle:
		return Method{Name: name, Class: class}, nil
	case (name == MethodShardwise || name == MethodHEFT) && !hasClass:
		return Method{Name: name}, nil
	}
	return Method{}, fmt.Errorf("unknown method %q: want %s, %s, %s or %s:CLASS", s, MethodShardwise, MethodHEFT, MethodSingle, MethodSingle)
}

// BuildMethod plans g with method m: Build for shardwise (opts as given),
// else the baseline m names, on the same predictions and with the same
// shards, resources and jobs as Build makes (so the launcher runs it like
// any plan). Split tasks are cut into pieces by every method (a shard must
// fit its class). Errors are Build's, plus an unknown method, a
// single:CLASS whose class is not in cat, and a single method when no
// class can run every task.
func BuildMethod(g *graph.Graph, cat *catalog.Catalog, tb *predict.Table, opts Options, m Method) (*Plan, error) {
	switch m.Name {
	case "", MethodShardwise:
		return Build(g, cat, tb, opts)
	case MethodHEFT:
		return buildHEFT(g, cat, tb, opts)
	case MethodSingle:
		return buildSingle(g, cat, tb, opts, m.Class)
	}
	return nil, fmt.Errorf("plan: unknown method %q", m)
}

// buildHEFT is steps 1-2 and 5 of Build with every task a shard of its
// own, scheduled with insertion.
func buildHEFT(g *graph.Graph, cat *catalog.Catalog, tb *predict.Table, opts Options) (*Plan, error) {
	opts.NoFusion, opts.NoBatch, opts.Insertion = true, true, true
	b, err := placedBuilder(g, cat, tb, opts)
	if err != nil {
		return nil, err
	}
	if err := b.decompose(layout{class: b.taskSched.Class, alternatives: true}); err != nil {
		return nil, err
	}
	bl, err := b.baseline()
	if err != nil {
		return nil, err
	}
	p := b.assemble()
	p.Method = MethodHEFT
	p.Baseline = withSpeedup(bl, p.MakespanSeconds)
	return p, nil
}

// buildSingle pins every task of a copy of g to class (the best single
// class when empty) and plans it without fusion or batching.
func buildSingle(g *graph.Graph, cat *catalog.Catalog, tb *predict.Table, opts Options, class string) (*Plan, error) {
	opts.NoFusion, opts.NoBatch = true, true
	if class == "" {
		p, err := Build(g, cat, tb, opts)
		if err != nil {
			return nil, err
		}
		if p.Baseline == nil {
			return nil, fmt.Errorf("plan: method %s: no class of the catalog can run every task of %s", MethodSingle, g.Name)
		}
		class = p.Baseline.Class
	}
	if cat.Class(class) == nil {
		return nil, fmt.Errorf("plan: method %s:%s: no class %q in the catalog (classes: %s)", MethodSingle, class, class, strings.Join(cat.Names(), ", "))
	}
	pinned := *g
	pinned.Tasks = make([]*graph.Task, len(g.Tasks))
	for t, task := range g.Tasks {
		if pin := task.Hints.Executor; pin != "" && pin != class {
			at := ""
			if r := task.Hints.DefRange; r.Filename != "" {
				at = fmt.Sprintf(" by its hints at %s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
			}
			return nil, fmt.Errorf("plan: method %s:%s: task %s is pinned to executor %q%s, so no plan puts every task on %s",
				MethodSingle, class, task.Name, pin, at, class)
		}
		cp := *task
		cp.Hints.Executor = class
		pinned.Tasks[t] = &cp
	}
	p, err := Build(&pinned, cat, tb, opts)
	if err != nil {
		return nil, fmt.Errorf("method %s:%s: %w", MethodSingle, class, err)
	}
	p.Method = MethodSingle + ":" + class
	userPinned := make(map[string]bool, len(g.Tasks))
	for _, task := range g.Tasks {
		userPinned[task.Name] = task.Hints.Executor != ""
	}
	pinReason := "pinned to " + class + " by its executor hint"
	for i := range p.Shards {
		s := p.Shards[i]
		if !slices.ContainsFunc(s.Tasks, func(n string) bool { return userPinned[n] }) {
			// The pin is the method's, made on the copy above, not the graph's.
			s.Reason = "method " + p.Method + " puts every task on " + class + strings.TrimPrefix(s.Reason, pinReason)
		}
	}
	return p, nil
}

// withSpeedup sets bl's Speedup against a plan of the given makespan.
func withSpeedup(bl *Baseline, makespan float64) *Baseline {
	if bl != nil {
		bl.Speedup = 1
		if makespan > 0 {
			bl.Speedup = bl.MakespanSeconds / makespan
		}
	}
	return bl
}
