package replay

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/simulate"
)

// Calibration is the simulator's dispatch model and the classes' start-up
// latencies, estimated from real runs' Nomad timestamps (Calibrate).
type Calibration struct {
	// Dispatch is the launcher's reaction and registration time, with the
	// launcher's registration concurrency.
	Dispatch simulate.Dispatch
	// Startup is each class's mean placed -> running, in seconds.
	Startup map[string]float64
	// TaskSeconds is what each replayed task took beyond the time its
	// command was set to take (Shard.Work), in seconds: the mean over
	// shards of (running -> complete minus Work) per task: the start of
	// every task's shell in the allocation (a shard's tasks run one after
	// another) under the host's load. For a run stored without Work it is
	// measured against the plan's prediction instead, and then also holds
	// the predictions' bias.
	TaskSeconds float64
	// ReleaseMean is the mean hand-over, the release as a constant (the
	// model before Dispatch.Congestion, kept for comparison: Constant).
	ReleaseMean float64
	// Shards is how many shards the estimates come from; Waves how many
	// registration waves (shards ready at the same instant) the dispatch
	// fit saw; HandOvers how many queued placements the release delay
	// (Dispatch.ReleaseSeconds and Congestion) comes from, Placements how
	// many placements on a free instance the scheduler's time
	// (Dispatch.PlaceSeconds).
	Shards, Waves, HandOvers, Placements int
}

// Constant returns c with the release a constant, the mean hand-over
// (ReleaseMean), and no congestion: the calibration as it was before the
// hand-over model, for comparison.
func (c Calibration) Constant() Calibration {
	c.Dispatch.ReleaseSeconds, c.Dispatch.Congestion = c.ReleaseMean, simulate.Congestion{}
	return c
}

// Calibrate estimates the dispatch model and the start-up latencies from
// runs, for a launcher that registers concurrency jobs at once. Start-up,
// per-task time and release are means, not medians: a makespan adds them
// up over the allocations that run one after another on a slot, and the
// sum of n draws is n times their mean; these distributions are skewed to
// the right, so the median falls short (the runs of 2026-12-04 in
// docs/replay.md: own-run fits within 15% on 11 and 12 of 12 runs with
// means, 10 and 11 with medians).
//
//   - TaskSeconds: the mean over shards of running -> complete minus
//     what the shard's commands were set to take (Shard.Work; the plan's
//     predicted runtime where Work is not known), per task of the shard.
//   - Startup of a class: the mean over its shards of placed -> running
//     (allocation CreateTime -> first task StartedAt), queued or not: a
//     queued allocation is created when a slot frees, so what follows is
//     the start alone.
//   - Reaction and registration: the shards that became ready together (a
//     wave: equal last-upstream completion) are registered in waves of
//     concurrency, so the j-th of a wave (0-based, in registration order)
//     is registered reaction + (floor(j/concurrency)+1) x registration
//     after it was ready. Ordinary least squares of ready -> registered
//     on floor(j/concurrency)+1 over every non-root shard gives the
//     registration time (slope) and the reaction (intercept); both are
//     clamped at 0. Roots are left out: their readiness (the launcher's
//     start) is not in Nomad's timestamps. With a single position the
//     slope is undetermined: registration is then 0 and the reaction the
//     median delay.
//   - Release (Dispatch.ReleaseSeconds and Dispatch.Congestion): the
//     hand-over of a slot to a queued allocation (placements): over the
//     shards registered before the last completion on their node that
//     preceded their placement, placement minus that completion, fitted
//     as a function of the cluster's completion rate over the minute up
//     to that completion (FitRelease, each run weighing the same).
//     ReleaseMean is their mean. 0 when no shard queued.
//   - Placement (Dispatch.PlaceSeconds): the mean service time of the
//     other shards' placements seen as one first-come, first-served
//     server (placements): each one's placement minus the later of its
//     registration and the placement before it. The mean, not the
//     median: Nomad applies several placements at once now and then
//     (gaps of 0), and what the model needs is the throughput (as for
//     the others above).
func Calibrate(runs []*Run, concurrency int) Calibration {
	if concurrency <= 0 {
		concurrency = launcher.DefaultRegisterConcurrency
	}
	cal := Calibration{Startup: map[string]float64{}, Dispatch: simulate.Dispatch{RegisterConcurrency: concurrency}}
	starts := map[string][]float64{}
	var xs, ys, extra, gaps, services []float64
	var hand [][]HandOver
	for _, r := range runs {
		h, sv := placements(r.Shards)
		for _, x := range h {
			gaps = append(gaps, x.Gap)
		}
		hand, services = append(hand, h), append(services, sv...)
		waves := map[float64][]Shard{}
		for _, s := range r.Shards {
			starts[s.Class] = append(starts[s.Class], s.Running-s.Placed)
			if s.Tasks > 0 {
				base := s.Predicted
				if s.Work > 0 {
					base = s.Work
				}
				extra = append(extra, (s.Complete-s.Running-base)/float64(s.Tasks))
			}
			cal.Shards++
			if s.UpstreamDone > 0 {
				waves[s.UpstreamDone] = append(waves[s.UpstreamDone], s)
			}
		}
		cal.Waves += len(waves)
		for ready, w := range waves {
			sort.SliceStable(w, func(a, b int) bool { return w[a].Registered < w[b].Registered })
			for j, s := range w {
				xs = append(xs, float64(j/concurrency+1))
				ys = append(ys, s.Registered-ready)
			}
		}
	}
	for cl, v := range starts {
		cal.Startup[cl] = stat.Mean(v, nil)
	}
	if len(extra) > 0 {
		cal.TaskSeconds = stat.Mean(extra, nil)
	}
	cal.HandOvers, cal.Placements = len(gaps), len(services)
	if len(gaps) > 0 {
		cal.ReleaseMean = stat.Mean(gaps, nil)
		cal.Dispatch.ReleaseSeconds, cal.Dispatch.Congestion, _ = FitRelease(hand)
	}
	if len(services) > 0 {
		cal.Dispatch.PlaceSeconds = stat.Mean(services, nil)
	}
	if len(xs) == 0 {
		return cal
	}
	if slices.Min(xs) == slices.Max(xs) {
		cal.Dispatch.ReactionSeconds = math.Max(0, Median(ys))
		return cal
	}
	alpha, beta := stat.LinearRegression(xs, ys, nil, false)
	cal.Dispatch.RegisterSeconds = math.Max(0, beta)
	cal.Dispatch.ReactionSeconds = math.Max(0, alpha)
	return cal
}

// placements splits the shards placed on a known node in two and
// returns a time for each:
//
//   - hand-overs, the shards that waited in Nomad's queue for a slot on
//     the node they were placed on: registered by the latest completion
//     (task FinishedAt) of another shard on that node at or before their
//     placement (allocation CreateTime). Each HandOver's Gap is
//     placement minus that completion, the slot's release, and its Rate
//     the run's completions over the CongestionWindow up to it. Nomad
//     does not say which of a node's slots an allocation took, so the
//     latest completion stands for the slot freed: a lower bound where a
//     node has several.
//   - the others, placed on a slot that was free when they were
//     registered: services holds, in placement order, each one's
//     placement minus the later of its registration and the placement
//     before it (a first-come, first-served server's service times).
//
// Shards without a node are left out.
func placements(shards []Shard) (hand []HandOver, services []float64) {
	byNode := map[string][]int{}
	for i, s := range shards {
		if s.Node != "" {
			byNode[s.Node] = append(byNode[s.Node], i)
		}
	}
	var fresh []Shard
	for _, idx := range byNode {
		for _, i := range idx {
			s := shards[i]
			freed := math.Inf(-1)
			for _, j := range idx {
				if c := shards[j].Complete; j != i && c <= s.Placed && c > freed {
					freed = c
				}
			}
			if !math.IsInf(freed, -1) && s.Registered <= freed {
				hand = append(hand, HandOver{Freed: freed, Gap: s.Placed - freed, Node: s.Node})
			} else {
				fresh = append(fresh, s)
			}
		}
	}
	sort.Slice(fresh, func(a, b int) bool { return fresh[a].Placed < fresh[b].Placed })
	prev := math.Inf(-1)
	for _, s := range fresh {
		services = append(services, s.Placed-math.Max(s.Registered, prev))
		prev = s.Placed
	}
	if len(hand) > 0 {
		done, at := make([]float64, len(shards)), make([]float64, len(hand))
		for i, s := range shards {
			done[i] = s.Complete
		}
		for i, h := range hand {
			at[i] = h.Freed
		}
		for i, r := range completionRate(done, at, CongestionWindow) {
			hand[i].Rate = r
		}
	}
	return hand, services
}

// Catalog returns cat with each class's start-up set to the calibrated
// one (classes without a measurement keep theirs).
func (c Calibration) Catalog(cat *catalog.Catalog) *catalog.Catalog {
	out := cat.Clone()
	for _, cl := range out.Classes {
		if s, ok := c.Startup[cl.Name]; ok {
			cl.Startup = time.Duration(s * float64(time.Second))
		}
	}
	return out
}

// Simulate plays r's plan with the calibrated model and returns its
// makespan counted as ActualSeconds is: from the first job's
// registration (the simulated shards' earliest RegisteredSeconds) to the
// last finish. Each task takes what its command was set to take on its
// shard's class (r.Actual, as simulate.Options.Actual) plus TaskSeconds;
// for a run without Actual, its prediction plus TaskSeconds.
func (c Calibration) Simulate(r *Run, cat *catalog.Catalog) (float64, error) {
	if r.Plan == nil {
		return 0, fmt.Errorf("run %s of %s: no plan kept", r.Method, r.Trace)
	}
	p := r.Plan
	var opts simulate.Options
	if act := r.Actual; act != nil {
		opts.Actual = func(task, class string) (float64, bool) {
			v, ok := act(task, class)
			return math.Max(0, v+c.TaskSeconds), ok
		}
	} else if c.TaskSeconds != 0 {
		// Each task takes TaskSeconds more than predicted (never less
		// than nothing).
		cp := *r.Plan
		cp.Shards = make([]*plan.Shard, len(r.Plan.Shards))
		for i, s := range r.Plan.Shards {
			sc := *s
			sc.RuntimeSeconds.Value = math.Max(0, s.RuntimeSeconds.Value+c.TaskSeconds*float64(len(s.Tasks)))
			cp.Shards[i] = &sc
		}
		p = &cp
	}
	opts.Dispatch = c.Dispatch
	res, err := simulate.Run(p, c.Catalog(cat), opts)
	if err != nil {
		return 0, fmt.Errorf("%s %s: simulate calibrated: %w", r.Trace, r.Method, err)
	}
	first := math.Inf(1)
	for _, s := range res.Shards {
		first = math.Min(first, s.RegisteredSeconds)
	}
	return res.MakespanSeconds - first, nil
}

// String is the calibration in words, for logs.
func (c Calibration) String() string {
	return fmt.Sprintf("reaction %.2f s, registration %.2f s (%d at once), placement %.2f s (%d), release %s (mean %.2f s, %d hand-overs), per task %+.2f s, start-up %v, from %d shards in %d waves",
		c.Dispatch.ReactionSeconds, c.Dispatch.RegisterSeconds, c.Dispatch.RegisterConcurrency, c.Dispatch.PlaceSeconds, c.Placements,
		ReleaseString(c.Dispatch), c.ReleaseMean, c.HandOvers, c.TaskSeconds, c.Startup, c.Shards, c.Waves)
}

// CalibrateRuns calibrates each run apart and combines the fits: each
// parameter is the median over the runs of that run's own estimate (a
// class's start-up over the runs that used the class). Every run counts
// once, so one run whose conditions were unusual (a launcher backlog, a
// load spike) or that had a thousand shards does not outweigh the others,
// as it does when the shards of all runs are pooled (Calibrate of all).
// The release is the exception: its dependence on the completion rate is
// seen only across runs (a run's rates span a narrow range), so it is
// FitRelease of the hand-overs of every run, each run weighing the same;
// ReleaseMean stays the median of the runs' means. The counts (Shards,
// Waves, HandOvers, Placements) are the sums.
func CalibrateRuns(runs []*Run, concurrency int) Calibration {
	if len(runs) == 1 {
		return Calibrate(runs, concurrency)
	}
	var react, reg, place, release, task []float64
	var hand [][]HandOver
	starts := map[string][]float64{}
	out := Calibration{Startup: map[string]float64{}}
	for _, r := range runs {
		h, _ := placements(r.Shards)
		hand = append(hand, h)
		c := Calibrate([]*Run{r}, concurrency)
		out.Dispatch.RegisterConcurrency = c.Dispatch.RegisterConcurrency
		react, reg = append(react, c.Dispatch.ReactionSeconds), append(reg, c.Dispatch.RegisterSeconds)
		place, release = append(place, c.Dispatch.PlaceSeconds), append(release, c.ReleaseMean)
		task = append(task, c.TaskSeconds)
		for cl, v := range c.Startup {
			starts[cl] = append(starts[cl], v)
		}
		out.Shards, out.Waves, out.HandOvers, out.Placements = out.Shards+c.Shards, out.Waves+c.Waves, out.HandOvers+c.HandOvers, out.Placements+c.Placements
	}
	out.Dispatch.ReactionSeconds, out.Dispatch.RegisterSeconds = Median(react), Median(reg)
	out.Dispatch.PlaceSeconds, out.ReleaseMean = Median(place), Median(release)
	out.Dispatch.ReleaseSeconds, out.Dispatch.Congestion, _ = FitRelease(hand)
	out.TaskSeconds = Median(task)
	for cl, v := range starts {
		out.Startup[cl] = Median(v)
	}
	return out
}
