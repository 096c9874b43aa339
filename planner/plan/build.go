package plan

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/place"
	"github.com/shardwise/shardwise/planner/predict"
)

// Options steer Build.
type Options struct {
	// Run identifies the plan's run; it is required and becomes part of
	// every job ID (sanitised to [a-z0-9-]).
	Run string
	// Insertion makes every scheduling pass use HEFT's insertion-based
	// policy instead of the default non-insertion list scheduler. It is
	// slower (quadratic in the shards per instance) and meant for
	// comparisons.
	Insertion bool
	// NoFusion keeps every task in a shard of its own: no chain fusion and
	// no sibling batching.
	NoFusion bool
	// NoBatch turns off sibling batching and join regions (region.go);
	// chains still fuse.
	NoBatch bool
	// MedianRanks ranks tasks by their median (p50) runtimes, ignoring
	// the predictions' p90 (see rankRuntimes).
	MedianRanks bool
	// MedianFusion fuses chains by their median runtimes only: a chain
	// whose p90 would make it the critical path fuses too (see
	// robustFusion).
	MedianFusion bool
	// MedianBatching batches siblings by the p50 schedule only: a member
	// may hold back a path whose p90 spread exceeds its slack (see
	// batchMargin).
	MedianBatching bool
}

// Build cuts g into shards, places them on cat's executor classes using the
// predictions in tb, and returns the plan. The steps, described in
// docs/planning.md, are:
//
//  1. choose a piece count for each data-parallel task on each class;
//  2. list-schedule the tasks (HEFT, Topcuoglu et al. 2002) on the classes;
//  3. fuse chains of tasks whose transfer saved outweighs the gain of
//     separate classes;
//  4. cut split tasks into pieces on their class;
//  5. list-schedule the shards again for the final times, critical path and
//     alternatives;
//  6. batch sibling shards (same upstream shards, same class) into fewer
//     allocations where the shard schedule's makespan does not grow, then
//     run the short shards above a join that feed nothing else in the
//     join's allocation where it does not grow either (join regions,
//     region.go);
//  7. schedule every task on each single class that can run them all, for
//     the baseline; when the best of these beats the mixed plan, re-plan
//     steps 3 to 6 with every task on that class and keep whichever plan
//     finishes first.
//
// tb must hold a Need for every task of g (in g.Tasks order) and every
// class of cat (tb.Classes equal to cat.Names()). Build returns an error for
// an empty Run, inconsistent inputs, a dependency cycle, a task that no
// class can run, or a class without instances or bandwidth. The result is a
// deterministic function of its inputs.
func Build(g *graph.Graph, cat *catalog.Catalog, tb *predict.Table, opts Options) (*Plan, error) {
	b, err := placedBuilder(g, cat, tb, opts)
	if err != nil {
		return nil, err
	}
	mixed := layout{class: b.taskSched.Class, fuse: !opts.NoFusion, batch: !opts.NoFusion && !opts.NoBatch, alternatives: true}
	var wait func() (*Baseline, error)
	if len(b.splits) == 0 { // the baselines need only the task schedule: plan them meanwhile
		wait = b.startBaseline()
	}
	err = b.decompose(mixed)
	if wait == nil {
		if err != nil {
			return nil, err
		}
		wait = b.startBaseline()
	}
	bl, blErr := wait()
	if err != nil {
		return nil, err
	}
	if blErr != nil {
		return nil, blErr
	}
	if bl != nil && bl.MakespanSeconds < b.sched.Makespan {
		if err := b.trySingleClass(classIndex(cat, bl.Class)); err != nil {
			return nil, err
		}
	}
	p := b.assemble()
	if bl != nil {
		bl.Speedup = 1
		if p.MakespanSeconds > 0 {
			bl.Speedup = bl.MakespanSeconds / p.MakespanSeconds
		}
	}
	p.Baseline = bl
	return p, nil
}

// placedBuilder is steps 1-2 of Build: a builder with the split piece
// counts chosen and the tasks list-scheduled on the classes.
func placedBuilder(g *graph.Graph, cat *catalog.Catalog, tb *predict.Table, opts Options) (*builder, error) {
	b, err := newBuilder(g, cat, tb, opts)
	if err != nil {
		return nil, err
	}
	if err := b.prepare(); err != nil {
		return nil, err
	}
	if err := b.placeTasks(); err != nil {
		return nil, err
	}
	return b, nil
}

// layout is one way to turn the tasks into shards.
type layout struct {
	// class is the class each task starts from (fusion compares it).
	class []int32
	// fuse allows chain fusion.
	fuse bool
	// batch allows sibling batching.
	batch bool
	// pin, when not nil, puts every shard on class *pin.
	pin *int32
	// alternatives records each shard's finish on the other classes.
	alternatives bool
}

// decompose fuses, cuts, places and batches the shards for layout l,
// replacing the builder's groups, shards and shard schedule.
func (b *builder) decompose(l layout) error {
	b.groups, b.shards, b.batchInfos = groups{}, shards{}, nil
	b.fuse(l)
	b.cutShards()
	if err := b.placeShards(l, nil); err != nil {
		return err
	}
	if !l.batch {
		return nil
	}
	if err := b.batch(l); err != nil {
		return err
	}
	return b.fuseRegions(l)
}

// singleClass is the layout with every task and shard on class c; merge
// allows both chain fusion and sibling batching.
func (b *builder) singleClass(c int, merge, alternatives bool) layout {
	cls := make([]int32, b.nt)
	for t := range cls {
		cls[t] = int32(c)
	}
	pin := int32(c)
	return layout{class: cls, fuse: merge, batch: merge && !b.opts.NoBatch, pin: &pin, alternatives: alternatives}
}

// trySingleClass re-plans with every task on class c (fused as usual) and
// keeps that plan if it finishes sooner than the mixed-class one. List
// scheduling is greedy: a task placed on the class where it finishes first
// can leave its successors slow transfers (the bandwidth between two
// classes is the lower of the two), so on communication-heavy graphs one
// well-connected class can win.
func (b *builder) trySingleClass(c int) error {
	mixed := *b
	if err := b.decompose(b.singleClass(c, !b.opts.NoFusion, true)); err != nil {
		return err
	}
	if b.sched.Makespan >= mixed.sched.Makespan {
		*b = mixed
		return nil
	}
	b.single, b.mixedMakespan = c, mixed.sched.Makespan
	return nil
}

// builder holds the state of one Build. Per-task slices are indexed like
// g.Tasks, per-edge slices like g.Edges, matrices are row-major with one
// column per class.
type builder struct {
	g    *graph.Graph
	cat  *catalog.Catalog
	tb   *predict.Table
	opts Options
	nt   int // tasks
	nc   int // classes

	classes []place.Class
	kinds   []graph.Kind
	// work is each task's predicted runtime in seconds on each class
	// (whole task, excluding start-up), or place.Infeasible.
	work []float64
	// spreads says whether any prediction's p90 exceeds its positive p50
	// (see quantiles); without one, ranks and fusion read p50 only.
	spreads bool
	// taskRT is the runtime the task-level pass uses: work, except for
	// split tasks, whose runtime is that of their best piece count (the
	// same slice as work when there are none: neither is written after).
	taskRT []float64

	from, to []int32 // edge endpoints as task indices
	// bytes is each edge's size: declared, or predicted when the edge's
	// Bytes is negative (from OutputBytes).
	bytes []float64

	// fusible says whether a task may share a shard (not split, not a
	// service: fusibleTask), streams whether an edge into or out of it
	// streams; both read once from the graph.
	fusible, streams []bool
	// sharedSig says whether another task has the task's signature (only
	// such tasks can batch as near siblings); made on first use.
	sharedSig []bool

	splits  []splitPlan // one per split task
	splitOf []int32     // task -> index into splits, or -1; nil without splits

	taskProb  *place.Problem
	taskSched *place.Schedule

	groups  groups // fused chains (and split tasks) of tasks
	shards  shards // placement units: one per group, or one per piece
	sprob   *place.Problem
	sched   *place.Schedule
	edgeOf  []int32 // shard-level edge -> graph edge
	shardID idList  // each shard's ID
	// batchInfos describes each packing of sibling groups tried by the
	// batching pass; groups.batch indexes it.
	batchInfos []batchInfo
	// trialsLeft is what the last batching pass left of its trial
	// budget (batchTrials); the join regions' pass (region.go) runs it.
	trialsLeft int

	// slack is robust fusion's task slack (seconds); nil when it is off.
	slack      []float64
	cpSpread   float64 // the critical path's p90 less p50 seconds
	robustDone bool
	// pathSpread is robust batching's path spread by task (taskSlack),
	// computed with slack; margin its p90 margin by task (batchMargin),
	// nil when it is off.
	pathSpread []float64
	margin     []float64
	marginDone bool

	// single is the class every shard was put on when the single-class
	// plan beat the mixed one (mixedMakespan seconds), else -1.
	single        int
	mixedMakespan float64

	// Scratch buffers, reused from pass to pass; a copy of the builder
	// that plans concurrently must get its own (see singleClassMakespan).
	replayer replayer        // the batching pass's replay
	ws       place.Workspace // the list scheduler's: use workspace()
	cross    crossScratch    // the batching pass's packing across classes
	// wsLent, when not nil, is closed once the single-class baselines,
	// which startBaseline lent ws to, are done with it.
	wsLent chan struct{}
	// iota and ones back the shards of passes without split tasks
	// (oneShardPerGroup); made on first use, never written after.
	iota, ones []int32
}

func newBuilder(g *graph.Graph, cat *catalog.Catalog, tb *predict.Table, opts Options) (*builder, error) {
	switch {
	case g == nil || cat == nil || tb == nil:
		return nil, errors.New("plan: nil graph, catalog or prediction table")
	case opts.Run == "":
		return nil, errors.New("plan: Options.Run is required")
	case len(cat.Classes) == 0:
		return nil, errors.New("plan: the catalog has no classes")
	case tb.Tasks() != len(g.Tasks) || len(tb.Kinds) != len(g.Tasks):
		return nil, fmt.Errorf("plan: the prediction table has %d tasks, the graph %d", tb.Tasks(), len(g.Tasks))
	}
	names := cat.Names()
	if len(tb.Classes) != len(names) {
		return nil, fmt.Errorf("plan: the prediction table's classes %v differ from the catalog's %v", tb.Classes, names)
	}
	for i, n := range names {
		if tb.Classes[i] != n {
			return nil, fmt.Errorf("plan: the prediction table's classes %v differ from the catalog's %v", tb.Classes, names)
		}
	}
	return &builder{g: g, cat: cat, tb: tb, opts: opts, nt: len(g.Tasks), nc: len(names), single: -1}, nil
}

// prepare converts the catalog, kinds, runtimes and edges into the
// scheduler's terms and decides the split piece counts.
func (b *builder) prepare() error {
	if err := b.convertClasses(); err != nil {
		return err
	}
	if err := b.convertEdges(); err != nil {
		return err
	}
	if err := b.convertTasks(); err != nil {
		return err
	}
	return b.planSplits()
}

func (b *builder) convertClasses() error {
	b.classes = make([]place.Class, b.nc)
	for c, cl := range b.cat.Classes {
		b.classes[c] = place.Class{
			Name:           cl.Name,
			Instances:      cl.Instances,
			BandwidthBytes: cl.BandwidthBytes,
			StartupSeconds: cl.Startup.Seconds(),
		}
		if cl.Instances < 1 || !(cl.BandwidthBytes > 0) {
			return fmt.Errorf("plan: class %q: %d instances and %g bytes/s bandwidth; want both positive",
				cl.Name, cl.Instances, cl.BandwidthBytes)
		}
	}
	return nil
}

// convertEdges resolves edge endpoints and sizes: the declared size, else
// the producer's predicted OutputBytes shared among its outputs of unknown
// size (on the producer's first feasible class).
func (b *builder) convertEdges() error {
	m := len(b.g.Edges)
	b.from, b.to = make([]int32, m), make([]int32, m)
	b.bytes = make([]float64, m)
	b.streams = make([]bool, b.nt)
	// Endpoints from the graph's adjacency index (no name lookups), then
	// by name for any edge the index does not hold.
	for i := range b.from {
		b.from[i], b.to[i] = -1, -1
	}
	for t := 0; t < b.nt; t++ {
		for _, e := range b.g.OutIdx(t) {
			b.from[e] = int32(t)
		}
		for _, e := range b.g.InIdx(t) {
			b.to[e] = int32(t)
		}
	}
	for i, e := range b.g.Edges {
		f, t := int(b.from[i]), int(b.to[i])
		if f < 0 || t < 0 {
			f, t = b.g.Index(e.From), b.g.Index(e.To)
		}
		if f < 0 || t < 0 {
			return fmt.Errorf("plan: edge %s -> %s: unknown task", e.From, e.To)
		}
		b.from[i], b.to[i] = int32(f), int32(t)
		if e.Stream {
			b.streams[f], b.streams[t] = true, true
		}
		if e.Bytes >= 0 {
			b.bytes[i] = float64(e.Bytes)
			continue
		}
		b.bytes[i] = b.predictedOutput(f) // e.Bytes < 0: predicted
	}
	return nil
}

// predictedOutput is task f's predicted OutputBytes divided among its
// outputs of undeclared size, in bytes.
func (b *builder) predictedOutput(f int) float64 {
	unknown := 0
	for _, o := range b.g.Tasks[f].Outputs {
		if o.Bytes == 0 {
			unknown++
		}
	}
	for c := 0; c < b.nc; c++ {
		if b.tb.Feasible(f, c) {
			return b.tb.Need(f, c).OutputBytes.Value / float64(max(unknown, 1))
		}
	}
	return 0
}

// convertTasks fills kinds and the work matrix, applying executor pins,
// and reports tasks that no class can run.
func (b *builder) convertTasks() error {
	b.kinds = b.taskKinds()
	b.work = make([]float64, b.nt*b.nc)
	b.fusible = make([]bool, b.nt)
	for t, task := range b.g.Tasks {
		b.fusible[t] = task.Split == nil && task.Type != graph.TypeService
		pin := -1
		if name := task.Hints.Executor; name != "" {
			if pin = classIndex(b.cat, name); pin < 0 {
				return taskError(task, "pinned to unknown executor class %q", name)
			}
		}
		for c := 0; c < b.nc; c++ {
			p50, p90 := b.tb.Quantiles(t, c)
			b.work[t*b.nc+c] = place.Infeasible
			if b.tb.Feasible(t, c) && (pin < 0 || pin == c) && p50 >= 0 {
				b.work[t*b.nc+c] = p50
			}
			b.spreads = b.spreads || (p90 > p50 && p50 > 0)
		}
		if !b.anyFeasible(b.work, t) {
			return taskError(task, "no executor class can run it (%s)", b.whyNot(t))
		}
	}
	return nil
}

// taskKinds returns each task's kind (taskKind): the table's own Kinds,
// read only, when every one is valid (as Predict makes them), else a copy
// with the others replaced.
func (b *builder) taskKinds() []graph.Kind {
	kinds, copied := b.tb.Kinds, false
	for t, k := range kinds {
		if k.Valid() {
			continue
		}
		if !copied {
			kinds, copied = slices.Clone(kinds), true
		}
		kinds[t] = taskKind(k, b.g.Tasks[t])
	}
	return kinds
}

// taskKind is the predicted kind, else the hint, else cpu.
func taskKind(k graph.Kind, t *graph.Task) graph.Kind {
	switch {
	case k.Valid():
		return k
	case t.Hints.Kind.Valid():
		return t.Hints.Kind
	}
	return graph.KindCPU
}

func classIndex(cat *catalog.Catalog, name string) int {
	for i, cl := range cat.Classes {
		if cl.Name == name {
			return i
		}
	}
	return -1
}

func (b *builder) anyFeasible(m []float64, t int) bool {
	for c := 0; c < b.nc; c++ {
		if !math.IsInf(m[t*b.nc+c], 1) {
			return true
		}
	}
	return false
}

// whyNot lists, per class, why task t cannot run there.
func (b *builder) whyNot(t int) string {
	s := ""
	for c := 0; c < b.nc; c++ {
		why := b.tb.Why(t, c)
		if why == "" {
			why = "infeasible"
			if p := b.g.Tasks[t].Hints.Executor; p != "" && p != b.classes[c].Name {
				why = "pinned to " + p
			}
		}
		if s != "" {
			s += "; "
		}
		s += b.classes[c].Name + ": " + why
	}
	return s
}

// taskError formats an error about task t, prefixed with its declaration's
// position when it has one.
func taskError(t *graph.Task, format string, args ...any) error {
	msg := fmt.Sprintf("plan: task %q: ", t.Name) + fmt.Sprintf(format, args...)
	if t.DefRange.Filename != "" {
		msg = t.DefRange.String() + ": " + msg
	}
	return errors.New(msg)
}

// placeTasks runs the task-level list schedule.
func (b *builder) placeTasks() error {
	p := &place.Problem{
		Classes: b.classes, Nodes: b.nt, Runtime: b.taskRT, RankRuntime: b.rankRuntimes(),
		EdgeFrom: b.from, EdgeTo: b.to, EdgeBytes: b.bytes,
	}
	s, err := b.workspace().Run(p, place.Options{Insertion: b.opts.Insertion})
	if err != nil {
		return b.scheduleError(err)
	}
	b.taskProb, b.taskSched = p, s
	return nil
}

// workspace returns the builder's list-scheduling workspace, once the
// baselines it may be lent to (startBaseline) are done with it.
func (b *builder) workspace() *place.Workspace {
	if b.wsLent != nil {
		<-b.wsLent
		b.wsLent = nil
	}
	return &b.ws
}

// rankRuntimes returns taskRT scaled, per task and class, by the
// prediction's spread p90/p50 (at least 1): the task-level schedule ranks
// tasks by their high quantile (docs/planning.md, robust ranks). It is
// computed when the ranks ask for it (once per task and class and
// schedule), not kept as a matrix. nil when no prediction has a spread,
// or with Options.MedianRanks.
func (b *builder) rankRuntimes() func(t, c int) float64 {
	if b.opts.MedianRanks || !b.spreads {
		return nil
	}
	return func(t, c int) float64 {
		i := t*b.nc + c
		if p50, p90 := b.quantiles(t, c); p50 > 0 {
			return b.taskRT[i] * p90 / p50
		}
		return b.taskRT[i]
	}
}

// quantiles returns task t's predicted runtime p50 and p90 on class c in
// seconds where the p90 exceeds a positive p50, else 0 and 0. They are
// read from the table when needed (twice per plan) rather than kept in
// two matrices of their own.
func (b *builder) quantiles(t, c int) (p50, p90 float64) {
	if !b.spreads {
		return 0, 0
	}
	if p50, p90 = b.tb.Quantiles(t, c); p90 > p50 && p50 > 0 {
		return p50, p90
	}
	return 0, 0
}

// scheduleError turns a cycle into the graph's own cycle report.
func (b *builder) scheduleError(err error) error {
	if _, cerr := b.g.TopoOrder(); cerr != nil {
		return fmt.Errorf("plan: %w", cerr)
	}
	return fmt.Errorf("plan: %w", err)
}

// algorithm names the scheduling policy for Plan.Algorithm.
func (b *builder) algorithm() string {
	if b.opts.Insertion {
		return "heft-insertion"
	}
	return "heft"
}
