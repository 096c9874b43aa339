// Package replay measures plans on the real engine: it replays WfCommons
// traces (translator/wfcommons with Replay) on a Nomad cluster that has
// the catalog's capacity (e2e/cluster.CapacityClasses), once per planning
// method (plan.BuildMethod) through the launcher, and reads back from
// Nomad's own timestamps what each shard cost: registered -> placed ->
// running -> complete. Bench runs the whole bench and writes its report;
// `make bench-replay` (cmd/benchreplay) writes it to docs/replay.md.
package replay

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/planner/simulate"
	"github.com/shardwise/shardwise/translator/hclreader"
	"github.com/shardwise/shardwise/translator/nomadjob"
	"github.com/shardwise/shardwise/translator/wfcommons"
)

// Trace is one imported trace ready to plan: its replay graph (read back
// from graph.hcl, as `shardwise plan` reads it), its records and the
// predictions made from them.
type Trace struct {
	Name      string
	Path      string
	TimeScale float64
	Graph     *graph.Graph
	Table     *predict.Table
	Records   int
}

// Load imports the trace at path for replay at scale on cat into dir
// (graph.hcl and history.jsonl, as `shardwise import wfcommons -replay`
// writes them) and predicts it from its own records.
func Load(path, dir string, scale float64, cat *catalog.Catalog) (*Trace, error) {
	res, err := wfcommons.ImportOptions(path, wfcommons.Options{TimeScale: scale, Replay: &wfcommons.Replay{Catalog: cat}})
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, res.Graph.Name)
	if err := wfcommons.WriteDir(out, res); err != nil {
		return nil, err
	}
	g, diags := hclreader.ParseFile(filepath.Join(out, wfcommons.GraphFile), hclreader.Options{Executors: cat.Names()})
	if diags.HasErrors() {
		return nil, fmt.Errorf("read back %s: %w", out, diags)
	}
	pred, err := predict.New(cat, res.Records)
	if err != nil {
		return nil, fmt.Errorf("%s: fit predictor: %w", path, err)
	}
	tb, err := pred.Predict(g)
	if err != nil {
		return nil, fmt.Errorf("%s: predict: %w", path, err)
	}
	return &Trace{Name: res.Graph.Name, Path: path, TimeScale: scale, Graph: g, Table: tb, Records: len(res.Records)}, nil
}

// Plan plans tr with method m for run, with its simulated makespan.
func (tr *Trace) Plan(cat *catalog.Catalog, m plan.Method, run string) (*plan.Plan, *simulate.Result, error) {
	p, err := plan.BuildMethod(tr.Graph, cat, tr.Table, plan.Options{Run: run}, m)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s: %w", tr.Name, m, err)
	}
	sim, err := simulate.Run(p, cat, simulate.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s: simulate: %w", tr.Name, m, err)
	}
	return p, sim, nil
}

// ScaleFor returns the time scale at which method m's simulated makespan
// of the trace at path is target seconds (rounded down to two significant
// digits), so that every run of a bench fits its time budget; when the
// start-up latencies alone (which do not scale) take half the target or
// more, the target becomes twice their time.
func ScaleFor(path string, cat *catalog.Catalog, m plan.Method, target float64, dir string) (float64, error) {
	tr, err := Load(path, dir, 1, cat)
	if err != nil {
		return 0, err
	}
	_, sim, err := tr.Plan(cat, m, "scale")
	if err != nil {
		return 0, err
	}
	// Start-up latencies do not scale: solve s*work + fixed = target with
	// the fixed part from a second point.
	tr2, err := Load(path, dir, 0.5, cat)
	if err != nil {
		return 0, err
	}
	_, sim2, err := tr2.Plan(cat, m, "scale")
	if err != nil {
		return 0, err
	}
	work := 2 * (sim.MakespanSeconds - sim2.MakespanSeconds)
	fixed := sim.MakespanSeconds - work
	if work <= 0 {
		return 0, fmt.Errorf("%s: the simulated makespan does not grow with the time scale", path)
	}
	target = math.Max(target, 2*fixed)
	s := (target - fixed) / work
	p := math.Pow(10, math.Floor(math.Log10(s))-1)
	return strconv.ParseFloat(fmt.Sprintf("%.2g", math.Floor(s/p)*p), 64)
}

// Shard is one shard's life in Nomad's own timestamps, seconds from the
// run's first registration.
type Shard struct {
	ID, Class, Node string
	Tasks           int
	// Registered is the job's submit time; Placed the allocation's
	// creation; Running the first task's start; Complete the last task's
	// finish.
	Registered, Placed, Running, Complete float64
	// UpstreamDone is when the last upstream shard completed (0 without
	// upstream): Registered - UpstreamDone is the launcher's reaction.
	UpstreamDone float64
	// Predicted is the plan's runtime, Simulated the simulator's finish.
	Predicted, SimFinish float64
	// Work is what the shard's replay commands were set to take on its
	// class, seconds (their tasks' wfcommons.ReplaySeconds, a split
	// piece its share): the runtime the shard really had to run, as
	// against Predicted. 0 when not known.
	Work float64 `json:",omitempty"`
}

// Run is one method's run of one trace.
type Run struct {
	Trace, Method, RunID string
	// Tasks is the trace's task count; TimeScale the scale it was
	// replayed at.
	Tasks            int
	TimeScale        float64
	Shards           []Shard
	Allocations      int
	PredictedSeconds float64
	SimulatedSeconds float64
	// ActualSeconds is from the first registration to the last completion.
	ActualSeconds float64
	// Wall is the launcher's whole run, planning excluded.
	Wall time.Duration
	// Load is the host's 1-minute load average when the run ended.
	Load float64
	// Plan is what ran, kept for a calibrated simulation; Catalog the
	// catalog it was planned with, in the catalog file format
	// (catalog.WriteHCL of the merged catalog), so that a report made
	// later simulates the run on what it was planned with, not on
	// whatever -catalog says then. Empty in runs stored before it was
	// kept.
	Plan    *plan.Plan
	Catalog string `json:",omitempty"`
	// Actual is what each task's replay command takes on each class
	// (Trace.Actual), for simulations played with what the tasks really
	// did; nil when not known (runs read back without their trace). Not
	// stored: it is made again from the trace (SetActual).
	Actual simulate.Actual `json:"-"`
}

// PlannedCatalog returns the catalog r was planned with (Run.Catalog),
// or fallback for a run stored without it.
func (r *Run) PlannedCatalog(fallback *catalog.Catalog) (*catalog.Catalog, error) {
	if r.Catalog == "" {
		return fallback, nil
	}
	cat, diags := catalog.LoadSource(r.RunID+".catalog.hcl", []byte(r.Catalog))
	if diags.HasErrors() {
		return nil, fmt.Errorf("run %s of %s: stored catalog: %w", r.Method, r.Trace, diags)
	}
	return cat, nil
}

// Actual returns what each of tr's tasks takes on each class of cat when
// replayed: wfcommons.ReplaySeconds on the class's node class (the class
// name where the catalog sets none), the runtimes the replay cluster
// really sees. A task that is not a replay task, or a class cat does not
// have, reports false.
func (tr *Trace) Actual(cat *catalog.Catalog) simulate.Actual {
	node := map[string]string{}
	for _, cl := range cat.Classes {
		node[cl.Name] = cl.Placement.NodeClass
		if node[cl.Name] == "" {
			node[cl.Name] = cl.Name
		}
	}
	return func(task, class string) (float64, bool) {
		i := tr.Graph.Index(task)
		nc, ok := node[class]
		if i < 0 || !ok {
			return 0, false
		}
		return wfcommons.ReplaySeconds(tr.Graph.Tasks[i], nc)
	}
}

// SetActual sets r.Actual to act and each shard's Work from it: the sum
// of its tasks' runtimes on its class, a split piece's share of its
// task's (plan.PieceShare). It fails when a task of the plan has no
// runtime in act.
func (r *Run) SetActual(act simulate.Actual) error {
	if r.Plan == nil {
		return fmt.Errorf("run %s of %s: no plan kept", r.Method, r.Trace)
	}
	items, bytes := map[string]int{}, map[string]int64{}
	for _, s := range r.Plan.Shards {
		if sp := s.Split; sp != nil {
			items[sp.Task] += sp.Items
			bytes[sp.Task] += sp.Bytes
		}
	}
	work := map[string]float64{}
	for _, s := range r.Plan.Shards {
		var w float64
		for _, t := range s.Tasks {
			v, ok := act(t, s.Class)
			if !ok {
				return fmt.Errorf("run %s of %s: task %s has no replay runtime on %s", r.Method, r.Trace, t, s.Class)
			}
			w += v
		}
		if sp := s.Split; sp != nil {
			w *= plan.PieceShare(sp, items[sp.Task], bytes[sp.Task])
		}
		work[s.ID] = w
	}
	for i := range r.Shards {
		r.Shards[i].Work = work[r.Shards[i].ID]
	}
	r.Actual = act
	return nil
}

// LoadAverage is the host's 1-minute load average (/proc/loadavg), NaN
// where it cannot be read.
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return math.NaN()
	}
	var l float64
	if _, err := fmt.Sscan(string(b), &l); err != nil {
		return math.NaN()
	}
	return l
}

// Execute launches p's jobs for tr through the launcher on c, concurrency
// registrations at a time (0: the launcher's default), and reads back
// every shard's timestamps.
func Execute(ctx context.Context, c *api.Client, tr *Trace, cat *catalog.Catalog, p *plan.Plan, sim *simulate.Result, driver string, concurrency int) (*Run, error) {
	jobs, err := nomadjob.Jobs(p, tr.Graph, cat, nomadjob.Options{Driver: driver})
	if err != nil {
		return nil, fmt.Errorf("%s: jobs: %w", tr.Name, err)
	}
	start := time.Now()
	rep, err := (&launcher.Launcher{Client: c}).Run(ctx, p, jobs, launcher.Options{RegisterConcurrency: concurrency})
	if err != nil {
		return nil, fmt.Errorf("%s: run: %w", tr.Name, err)
	}
	if rep.Failure != nil {
		return nil, fmt.Errorf("%s: run failed: shard %s", tr.Name, rep.Failure.Shard)
	}
	r := &Run{Trace: tr.Name, RunID: p.Run, Wall: time.Since(start), PredictedSeconds: p.MakespanSeconds, SimulatedSeconds: sim.MakespanSeconds, Plan: p, Load: LoadAverage(),
		Tasks: len(tr.Graph.Tasks), TimeScale: tr.TimeScale}
	if p.Method != "" {
		r.Method = p.Method
	} else {
		r.Method = plan.MethodShardwise
	}
	var text strings.Builder
	if err := catalog.WriteHCL(&text, cat); err != nil {
		return nil, fmt.Errorf("%s: keep the catalog: %w", tr.Name, err)
	}
	r.Catalog = text.String()
	if err := r.readBack(ctx, c, p, sim); err != nil {
		return nil, err
	}
	if err := r.SetActual(tr.Actual(cat)); err != nil {
		return nil, err
	}
	purge(c, jobs)
	return r, nil
}

// readBack fills Shards, Allocations and ActualSeconds from Nomad.
func (r *Run) readBack(ctx context.Context, c *api.Client, p *plan.Plan, sim *simulate.Result) error {
	simFinish := map[string]float64{}
	for _, s := range sim.Shards {
		simFinish[s.ID] = s.FinishSeconds
	}
	abs := map[string][4]time.Time{}
	q := (&api.QueryOptions{}).WithContext(ctx)
	jobAllocs := map[string][]*api.AllocationListStub{}
	for _, s := range p.Shards {
		if _, ok := jobAllocs[s.Job]; !ok {
			stubs, _, err := c.Jobs().Allocations(s.Job, true, q)
			if err != nil {
				return fmt.Errorf("allocations of %s: %w", s.Job, err)
			}
			jobAllocs[s.Job] = stubs
			r.Allocations += len(stubs)
		}
		j, _, err := c.Jobs().Info(s.Job, q)
		if err != nil {
			return fmt.Errorf("job %s: %w", s.Job, err)
		}
		idx := 0
		if s.Split != nil {
			idx = s.Split.Index
		}
		a := completeAlloc(jobAllocs[s.Job], idx)
		if a == nil {
			return fmt.Errorf("shard %s: no complete allocation", s.ID)
		}
		t := [4]time.Time{time.Unix(0, *j.SubmitTime), time.Unix(0, a.CreateTime)}
		for _, ts := range a.TaskStates {
			if t[2].IsZero() || ts.StartedAt.Before(t[2]) {
				t[2] = ts.StartedAt
			}
			if ts.FinishedAt.After(t[3]) {
				t[3] = ts.FinishedAt
			}
		}
		abs[s.ID] = t
		r.Shards = append(r.Shards, Shard{ID: s.ID, Class: s.Class, Node: a.NodeName, Tasks: len(s.Tasks),
			Predicted: s.RuntimeSeconds.Value, SimFinish: simFinish[s.ID]})
	}
	var first, last time.Time
	for _, t := range abs {
		if first.IsZero() || t[0].Before(first) {
			first = t[0]
		}
		if t[3].After(last) {
			last = t[3]
		}
	}
	r.ActualSeconds = last.Sub(first).Seconds()
	since := func(t time.Time) float64 { return t.Sub(first).Seconds() }
	for i := range r.Shards {
		sh, t := &r.Shards[i], abs[r.Shards[i].ID]
		sh.Registered, sh.Placed, sh.Running, sh.Complete = since(t[0]), since(t[1]), since(t[2]), since(t[3])
		for _, up := range p.Shards[i].Upstream {
			sh.UpstreamDone = math.Max(sh.UpstreamDone, since(abs[up][3]))
		}
	}
	return nil
}

// completeAlloc returns the complete allocation of group index idx.
func completeAlloc(stubs []*api.AllocationListStub, idx int) *api.AllocationListStub {
	suffix := fmt.Sprintf("[%d]", idx)
	for _, a := range stubs {
		if a.ClientStatus == api.AllocClientStatusComplete && strings.HasSuffix(a.Name, suffix) {
			return a
		}
	}
	return nil
}

// purge deregisters and purges jobs, so runs do not pile up in Nomad's
// state (the scheduler scans every job's allocations).
func purge(c *api.Client, jobs []*api.Job) {
	for _, j := range jobs {
		_, _, _ = c.Jobs().Deregister(*j.ID, true, nil)
	}
}

// Phase medians of a run, seconds: registered -> placed, placed ->
// running, upstream complete -> registered (the launcher's reaction), and
// registered -> running; Runtime is the median over shards of running ->
// complete over the plan's predicted runtime.
type Phases struct {
	Place, Start, React, Startup, Runtime float64
}

// Phases returns the medians over the run's shards.
func (r *Run) Phases() Phases {
	var place, start, react, startup, runtime []float64
	for _, s := range r.Shards {
		if s.Predicted > 0 {
			runtime = append(runtime, (s.Complete-s.Running)/s.Predicted)
		}
		place = append(place, s.Placed-s.Registered)
		start = append(start, s.Running-s.Placed)
		startup = append(startup, s.Running-s.Registered)
		if s.UpstreamDone > 0 {
			react = append(react, s.Registered-s.UpstreamDone)
		}
	}
	return Phases{Place: Median(place), Start: Median(start), React: Median(react), Startup: Median(startup), Runtime: Median(runtime)}
}

// Median of xs (predict.Quantile at 0.5: the mean of the middle two
// values for an even count); 0 when empty. xs is not changed.
func Median(xs []float64) float64 {
	v, ok := predict.Quantile(slices.Clone(xs), 0.5)
	if !ok {
		return 0
	}
	return v
}

// TempDir makes a directory for imports under the system temp dir.
func TempDir() (string, error) { return os.MkdirTemp("", "benchreplay-") }
