package predict

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/shardwise/shardwise/internal/parallel"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
)

// Predictor predicts task needs from a catalog and fitted history. It is
// immutable after New and safe for concurrent use.
type Predictor struct {
	cat     *catalog.Catalog
	models  map[string]*sigModel
	coreMHz float64
}

// New fits a model per task signature in records (failed executions only
// inform the memory floor) against the classes of cat. Records whose
// Executor is not a class of cat are left out of the runtime fit (see
// UnknownExecutors). Fitting is done once here; Predict only evaluates. cat must have at least one class.
func New(cat *catalog.Catalog, records []history.Record) (*Predictor, error) {
	if cat == nil || len(cat.Classes) == 0 {
		return nil, errors.New("predict: the executor catalog has no classes")
	}
	if cat.Reference != "" && cat.ReferenceClass() == nil {
		return nil, fmt.Errorf("predict: reference class %q is not in the catalog", cat.Reference)
	}
	return &Predictor{cat: cat, models: buildModels(cat, records), coreMHz: nominalCoreMHz(cat)}, nil
}

// Fit returns the runtime model of signature sig for workload profile k,
// and whether history holds any successful record of sig.
func (p *Predictor) Fit(sig string, k graph.Kind) (RuntimeFit, bool) {
	m := p.models[sig]
	if m == nil || m.fits[kindIndex(k)] == nil {
		return RuntimeFit{}, false
	}
	return *m.fits[kindIndex(k)], true
}

// Predict fills a Table with a Need for every task of g (in g.Tasks order)
// on every class (in catalog order), and the dominant kind of each task.
//
// It returns an error naming the task when a hint names an unknown kind or
// executor class, and an *InfeasibleError when some task fits no class.
func (p *Predictor) Predict(g *graph.Graph) (*Table, error) {
	tb := newFactored(len(g.Tasks), p.cat.Names(), p.classSpeeds, p.cpuCaps())
	outBytes := p.outputBytes(g)
	// Tasks are predicted independently, in chunks on every core; each
	// chunk keeps its first hint error and its infeasible tasks, merged
	// below in task order as one loop would have met them.
	type result struct {
		lo     int
		err    error
		infeas []Infeasible
	}
	var mu sync.Mutex
	var results []result
	parallel.Chunks(len(g.Tasks), predictChunk, func(lo, hi int) {
		r := result{lo: lo}
		var why []byte
		for i := lo; i < hi; i++ {
			t := g.Tasks[i]
			if err := p.checkHints(t); err != nil {
				r.err = err
				break
			}
			tp := p.taskNeeds(t, p.models[t.Signature], p.inputBytes(g, i, outBytes), float64(t.SharedInputBytes))
			tb.Kinds[i] = tp.kind
			if inf := p.fill(tb, i, t, &tp, &why); inf != nil {
				r.infeas = append(r.infeas, *inf)
			}
		}
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
	})
	tb.whyOf, tb.rowOf, tb.speeds = nil, nil, nil // the reasons and speed rows are all in tb now
	slices.SortFunc(results, func(a, b result) int { return a.lo - b.lo })
	var bad []Infeasible
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		bad = append(bad, r.infeas...)
	}
	if len(bad) > 0 {
		return tb, &InfeasibleError{Tasks: bad}
	}
	return tb, nil
}

// outputBytes returns each task's predicted output bytes, which size the
// edges whose bytes are unknown (inputBytes); nil when every edge of g
// declares its size, as then they are never read.
func (p *Predictor) outputBytes(g *graph.Graph) []float64 {
	if !slices.ContainsFunc(g.Edges, func(e *graph.Edge) bool { return e.Bytes < 0 }) {
		return nil
	}
	out := make([]float64, len(g.Tasks))
	for i, t := range g.Tasks {
		out[i] = outputEstimate(t, p.models[t.Signature]).Value
	}
	return out
}

// predictChunk is how many tasks Predict hands a core at a time.
const predictChunk = 512

// classSpeeds returns each class's speed for kind k, in catalog order.
func (p *Predictor) classSpeeds(k graph.Kind) []float64 {
	out := make([]float64, len(p.cat.Classes))
	for c, cl := range p.cat.Classes {
		out[c] = cl.SpeedFor(k)
	}
	return out
}

// cpuCaps returns each class's CPU in MHz (0 when it sets none), which
// caps a task's predicted CPU unless a hint set it.
func (p *Predictor) cpuCaps() []float64 {
	out := make([]float64, len(p.cat.Classes))
	for c, cl := range p.cat.Classes {
		if cl.Shape.CPU > 0 {
			out[c] = float64(cl.Shape.CPU)
		}
	}
	return out
}

func (p *Predictor) checkHints(t *graph.Task) error {
	if t.Hints.Kind != "" && !t.Hints.Kind.Valid() {
		return fmt.Errorf("predict: task %q: unknown kind %q (want one of cpu, memory, io, gpu, latency)", t.Name, t.Hints.Kind)
	}
	if t.Hints.Executor != "" && p.cat.Class(t.Hints.Executor) == nil {
		return fmt.Errorf("predict: task %q: hints name executor %q, which is not in the catalog (%v)", t.Name, t.Hints.Executor, p.cat.Names())
	}
	return nil
}

// taskProfile is a task's needs before they are put on a class.
type taskProfile struct {
	kind    graph.Kind
	runtime Estimate // seconds on a speed-1.0 machine
	cpu     Estimate
	cpuHint bool // cpu comes from a hint and must not be clamped
	mem     Estimate
	io      Estimate
	gpus    Estimate
	out     Estimate
}

// taskNeeds evaluates signature model m (nil without history) for one
// task of inputBytes, sharedBytes of which other tasks read too.
func (p *Predictor) taskNeeds(t *graph.Task, m *sigModel, inputBytes, sharedBytes float64) taskProfile {
	tp := taskProfile{kind: taskKind(t, m)}
	sharedBytes = math.Min(sharedBytes, inputBytes)
	tp.runtime = runtimeEstimate(t, m, tp.kind, inputBytes-sharedBytes, sharedBytes)
	tp.cpu, tp.cpuHint = p.cpuEstimate(t, m)
	tp.mem = memoryEstimate(t, m)
	tp.io = fromQuantity(m, func(m *sigModel) quantity { return m.io })
	tp.gpus = gpuEstimate(t, m, tp.kind)
	tp.out = outputEstimate(t, m)
	return tp
}

// taskKind picks the dominant kind: hints.Kind; else gpu if hints ask for
// GPUs; else history's; else latency for services; else cpu.
func taskKind(t *graph.Task, m *sigModel) graph.Kind {
	switch {
	case t.Hints.Kind != "":
		return t.Hints.Kind
	case t.Hints.GPUs > 0:
		return graph.KindGPU
	case m != nil && m.kind != "":
		return m.kind
	case t.Type == graph.TypeService:
		return graph.KindLatency
	}
	return graph.KindCPU
}

// runtimeEstimate is the task's runtime on a speed-1.0 machine: the
// signature's fit for kind at inputBytes, else the hint, else
// DefaultRuntimeSeconds, except for a service, which runs until stopped:
// without history or a hint it is counted until it has started (0 s), so
// it does not stretch the makespan or the critical path. A split task is
// predicted whole.
func runtimeEstimate(t *graph.Task, m *sigModel, k graph.Kind, privateBytes, sharedBytes float64) Estimate {
	if m != nil && m.fits[kindIndex(k)] != nil {
		f := m.fits[kindIndex(k)]
		v, u := f.Predict(privateBytes, sharedBytes)
		return Estimate{Value: v, Uncertainty: u, Source: FromHistory, N: f.N, P90: v * f.P90Ratio}
	}
	if t.Hints.Runtime > 0 {
		v := t.Hints.Runtime.Seconds()
		return Estimate{Value: v, Uncertainty: HintUncertainty, Source: FromHint, P90: v * (1 + z90*HintUncertainty)}
	}
	if t.Type == graph.TypeService {
		return Estimate{Value: 0, Uncertainty: 0, Source: FromDefault}
	}
	return Estimate{Value: DefaultRuntimeSeconds, Uncertainty: 1, Source: FromDefault, P90: DefaultRuntimeSeconds * (1 + z90)}
}

// cpuEstimate is the task's CPU in MHz: the median over history of cores
// used x clock (the record's, else the reference class's MHz per core),
// raised to the hints (hints.CPU, hints.Cores x MHz per core); else
// DefaultCPUMHz. It reports whether a hint set the value.
func (p *Predictor) cpuEstimate(t *graph.Task, m *sigModel) (Estimate, bool) {
	hint := math.Max(float64(t.Hints.CPU), float64(t.Hints.Cores)*p.coreMHz)
	e := fromQuantity(m, func(m *sigModel) quantity { return m.cpu })
	switch {
	case hint > 0 && hint >= e.Value:
		return Estimate{Value: hint, Source: FromHint}, true
	case e.Source == FromHistory:
		return e, false
	}
	return Estimate{Value: DefaultCPUMHz, Uncertainty: 1, Source: FromDefault}, false
}

// memoryEstimate is the task's peak memory in MiB: the MemoryQuantile of
// observed peaks x MemoryHeadroom, at least OOMHeadroom x the peak of any
// OOM-killed run; hints.MemoryMiB is a floor; else DefaultMemoryMiB.
func memoryEstimate(t *graph.Task, m *sigModel) Estimate {
	e := fromQuantity(m, func(m *sigModel) quantity { return m.mem })
	if m != nil && m.oomFloorMiB > e.Value {
		e = Estimate{Value: m.oomFloorMiB, Uncertainty: math.Max(e.Uncertainty, 0.25), Source: FromHistory, N: e.N}
	}
	if hint := float64(t.Hints.MemoryMiB); hint > 0 && hint >= e.Value {
		return Estimate{Value: hint, Source: FromHint}
	}
	if e.Source == FromHistory {
		e.Value = math.Ceil(e.Value)
		return e
	}
	return Estimate{Value: DefaultMemoryMiB, Uncertainty: 1, Source: FromDefault}
}

// gpuEstimate is the GPU count: hints.GPUs; else the most GPUs any
// execution used; else 1 for gpu-kind tasks; else 0.
func gpuEstimate(t *graph.Task, m *sigModel, k graph.Kind) Estimate {
	switch {
	case t.Hints.GPUs > 0:
		return Estimate{Value: float64(t.Hints.GPUs), Source: FromHint}
	case m != nil && m.gpus > 0:
		return Estimate{Value: float64(m.gpus), Source: FromHistory, N: m.n}
	case k == graph.KindGPU:
		return Estimate{Value: 1, Source: FromDefault}
	}
	return Estimate{Source: FromDefault}
}

// outputEstimate is the bytes the task produces: the median of history's
// output (or written) bytes; else the sum of its declared output sizes
// (source hint); else 0.
func outputEstimate(t *graph.Task, m *sigModel) Estimate {
	if e := fromQuantity(m, func(m *sigModel) quantity { return m.out }); e.Source == FromHistory {
		return e
	}
	var declared int64
	for _, o := range t.Outputs {
		declared += o.Bytes
	}
	if declared > 0 {
		return Estimate{Value: float64(declared), Source: FromHint}
	}
	return Estimate{Source: FromDefault}
}

// fromQuantity returns a history estimate of q(m), or a zero default when
// m is nil or q has no observations.
func fromQuantity(m *sigModel, q func(*sigModel) quantity) Estimate {
	if m == nil {
		return Estimate{Source: FromDefault}
	}
	v := q(m)
	if v.n == 0 {
		return Estimate{Source: FromDefault}
	}
	return Estimate{Value: v.value, Uncertainty: v.uncertainty, Source: FromHistory, N: v.n}
}

// inputBytes is the size feature of task i: Task.InputBytes; else the
// split's InputBytes; else the sum over incoming edges of the declared
// size, or for an edge of unknown size (-1) the upstream output's declared
// size or, failing that, the upstream task's predicted output.
func (p *Predictor) inputBytes(g *graph.Graph, i int, outBytes []float64) float64 {
	t := g.Tasks[i]
	if t.InputBytes > 0 {
		return float64(t.InputBytes)
	}
	if t.Split != nil && t.Split.InputBytes > 0 {
		return float64(t.Split.InputBytes)
	}
	var sum float64
	for _, ei := range g.InIdx(i) {
		e := g.Edges[ei]
		if e.Bytes >= 0 {
			sum += float64(e.Bytes)
			continue
		}
		sum += upstreamBytes(g, e, outBytes)
	}
	return sum
}

func upstreamBytes(g *graph.Graph, e *graph.Edge, outBytes []float64) float64 {
	j := g.Index(e.From)
	if j < 0 {
		return 0
	}
	for _, o := range g.Tasks[j].Outputs {
		if o.Name == e.Output && o.Bytes > 0 {
			return float64(o.Bytes)
		}
	}
	return outBytes[j]
}
