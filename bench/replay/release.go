package replay

import (
	"fmt"
	"math"
	"sort"

	"github.com/shardwise/shardwise/planner/simulate"
)

// CongestionWindow is the trailing window over which the cluster's
// completion rate is counted for the hand-over model (FitRelease,
// simulate.Congestion), in seconds. A minute: on the stored runs the
// hand-over grew only under completion rates sustained for minutes
// (epigenomics and seismology under HEFT, 4-6 per second for 3-5
// minutes), not under bursts of the same rate lasting under 40 s
// (1000genome under HEFT, 5-8 per second over 10 s windows and 0.2-0.3 s
// hand-overs); over a minute those bursts average 1.5 per second
// (docs/replay.md, "Hand-over").
const CongestionWindow = 60.0

// HandOver is one queued shard's wait for a freed slot: Freed is when the
// slot's previous allocation completed (seconds from the run's first
// registration), Gap the placement minus Freed, and Rate the cluster's
// completions per second in the CongestionWindow seconds up to Freed
// (every shard of the run whose Complete is in (Freed - window, Freed],
// the one freeing the slot included, over the window).
//
// The other fields are what else was measured against the hand-over
// (HandOvers fills them; docs/replay.md, "Hand-over"): Node is the node;
// Burst the completions per second over the 10 s up to Freed;
// Registrations the jobs registered per second over the CongestionWindow
// up to Freed; Queued the jobs registered by Freed and not yet placed
// (Nomad's blocked evaluations); NodeAllocations the allocations placed
// on Node before Freed (what the client holds until its garbage
// collection).
type HandOver struct {
	Freed, Gap, Rate float64

	Node                    string
	Burst, Registrations    float64
	Queued, NodeAllocations int
}

// completionRate returns, for each time in at, the number of values of
// done in (t - window, t] over window.
func completionRate(done []float64, at []float64, window float64) []float64 {
	sorted := append([]float64(nil), done...)
	sort.Float64s(sorted)
	out := make([]float64, len(at))
	for i, t := range at {
		hi := sort.Search(len(sorted), func(k int) bool { return sorted[k] > t })
		lo := sort.Search(len(sorted), func(k int) bool { return sorted[k] > t-window })
		out[i] = float64(hi-lo) / window
	}
	return out
}

// FitRelease fits Nomad's hand-over of a freed slot as a function of the
// cluster's sustained completion rate r (HandOver.Rate):
//
//	release(r) = base + slope x max(0, r - knee)
//
// a constant hand-over up to the knee, the throughput the cluster
// sustains without queueing, and a linear growth beyond it (the stored
// runs: 0.2-0.35 s at every rate up to 3 per second, single-class runs
// included, 0.7-1.8 s at 4-6 per second; docs/replay.md, "Hand-over").
// runs holds each run's hand-overs; every run weighs the same in all
// (each hand-over 1/len(run)), so a run with 1,600 hand-overs does not
// outweigh one with 40. For each knee on a 0.05 per second grid from 0
// to the highest rate that leaves at least a tenth of the weight on each
// side (minSide), base and slope are the weighted least-squares line of
// Gap on max(0, Rate - knee); a line with a base below 0 or a slope of 0
// or less is not a candidate. The knee with the least weighted squared
// error wins (the lowest on ties) if the Bayesian information criterion
// prefers it to the constant, the weighted mean of Gap, over the n
// hand-overs (n ln(SSE constant / SSE hinge) > 2 ln n: two parameters
// more); otherwise the release is that constant (slope 0, knee 0). ok is
// false when no run has a hand-over.
func FitRelease(runs [][]HandOver) (base float64, c simulate.Congestion, ok bool) {
	var xs, ys, ws []float64
	top := 0.0
	for _, r := range runs {
		for _, h := range r {
			xs, ys, ws = append(xs, h.Rate), append(ys, h.Gap), append(ws, 1/float64(len(r)))
			top = math.Max(top, h.Rate)
		}
	}
	if len(xs) == 0 {
		return 0, simulate.Congestion{}, false
	}
	total := 0.0
	for _, w := range ws {
		total += w
	}
	c.WindowSeconds = CongestionWindow
	// The constant: the weighted mean, the line for any knee at or above
	// the highest rate.
	base, _, best := hingeFit(xs, ys, ws, top)
	constant := best
	var hb float64
	var hc simulate.Congestion
	for k := 0; float64(k)*0.05 < top; k++ {
		knee := float64(k) * 0.05
		if above := weightAbove(xs, ws, knee); above < minSide*total || above > (1-minSide)*total {
			continue
		}
		b, s, sse := hingeFit(xs, ys, ws, knee)
		if b >= 0 && s > 0 && sse < best-1e-12 {
			best, hb, hc.KneePerSecond, hc.SecondsPerRate = sse, b, knee, s
		}
	}
	// The hinge has two parameters more than the constant (knee and
	// slope): keep it only where the Bayesian information criterion
	// prefers it, n ln(SSE constant / SSE hinge) > 2 ln n over the n
	// hand-overs, so that a few hand-overs do not make a slope.
	if n := float64(len(xs)); hc.SecondsPerRate > 0 && (best <= 0 || n*math.Log(constant/best) > 2*math.Log(n)) {
		base, c.KneePerSecond, c.SecondsPerRate = hb, hc.KneePerSecond, hc.SecondsPerRate
	}
	return base, c, true
}

// minSide is the least share of the hand-overs' weight FitRelease leaves
// on each side of a knee, so that neither the constant nor the slope
// rests on a handful of hand-overs (segmented regression's usual guard).
const minSide = 0.1

// weightAbove is the weight of the xs above knee.
func weightAbove(xs, ws []float64, knee float64) float64 {
	w := 0.0
	for i, x := range xs {
		if x > knee {
			w += ws[i]
		}
	}
	return w
}

// hingeFit is the weighted least-squares line of ys on max(0, xs - knee):
// intercept b, slope s (clamped at 0, b then the weighted mean) and the
// weighted squared error.
func hingeFit(xs, ys, ws []float64, knee float64) (b, s, sse float64) {
	var sw, sx, sy, sxx, sxy float64
	for i := range xs {
		x := math.Max(0, xs[i]-knee)
		sw, sx, sy = sw+ws[i], sx+ws[i]*x, sy+ws[i]*ys[i]
		sxx, sxy = sxx+ws[i]*x*x, sxy+ws[i]*x*ys[i]
	}
	mx, my := sx/sw, sy/sw
	if vx := sxx/sw - mx*mx; vx > 1e-12 {
		s = (sxy/sw - mx*my) / vx
	}
	if s < 0 {
		s = 0
	}
	b = my - s*mx
	for i := range xs {
		d := ys[i] - b - s*math.Max(0, xs[i]-knee)
		sse += ws[i] * d * d
	}
	return b, s, sse
}

// ReleaseString is d's release in words: "0.25 s + 0.40 s x (rate -
// 3.50/s) above 3.50/s (60 s)", or "0.25 s" without congestion.
func ReleaseString(d simulate.Dispatch) string {
	c := d.Congestion
	if c.SecondsPerRate == 0 {
		return fmt.Sprintf("%.2f s", d.ReleaseSeconds)
	}
	return fmt.Sprintf("%.2f s + %.2f s x (rate - %.2f/s) above %.2f/s (%g s)", d.ReleaseSeconds, c.SecondsPerRate, c.KneePerSecond, c.KneePerSecond, c.WindowSeconds)
}

// HandOvers returns r's hand-overs (see Calibrate), in no particular
// order, with every field set.
func HandOvers(r *Run) []HandOver {
	h, _ := placements(r.Shards)
	done, regs, at := make([]float64, len(r.Shards)), make([]float64, len(r.Shards)), make([]float64, len(h))
	for i, s := range r.Shards {
		done[i], regs[i] = s.Complete, s.Registered
	}
	for i, x := range h {
		at[i] = x.Freed
	}
	burst, reg := completionRate(done, at, 10), completionRate(regs, at, CongestionWindow)
	for i := range h {
		h[i].Burst, h[i].Registrations = burst[i], reg[i]
		for _, s := range r.Shards {
			if s.Registered <= h[i].Freed && s.Placed > h[i].Freed {
				h[i].Queued++
			}
			if s.Node == h[i].Node && s.Placed < h[i].Freed {
				h[i].NodeAllocations++
			}
		}
	}
	return h
}
