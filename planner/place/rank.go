package place

import (
	"errors"
	"math"
)

// adjacency is a problem's edges in compressed sparse row form, both
// directions: the edges into node n are inEdge[inStart[n]:inStart[n+1]],
// the edges out of it outEdge[outStart[n]:outStart[n+1]]; entries are edge
// indices into Problem.EdgeFrom/EdgeTo/EdgeBytes, in input order.
type adjacency struct {
	inStart, inEdge   []int32
	outStart, outEdge []int32
}

// buildAdjacency indexes p's edges with two counting sorts, O(V+E).
func buildAdjacency(p *Problem) *adjacency {
	a := &adjacency{
		inStart: csrStart(p.Nodes, p.EdgeTo), inEdge: make([]int32, len(p.EdgeTo)),
		outStart: csrStart(p.Nodes, p.EdgeFrom), outEdge: make([]int32, len(p.EdgeFrom)),
	}
	csrFill(a.inStart, p.EdgeTo, a.inEdge)
	csrFill(a.outStart, p.EdgeFrom, a.outEdge)
	return a
}

// csrStart returns the row offsets (len n+1) for the given endpoints.
func csrStart(n int, ends []int32) []int32 {
	start := make([]int32, n+1)
	for _, v := range ends {
		start[v+1]++
	}
	for i := 0; i < n; i++ {
		start[i+1] += start[i]
	}
	return start
}

// csrFill places edge indices into rows, keeping input order within a row.
func csrFill(start, ends, out []int32) {
	next := make([]int32, len(start)-1)
	copy(next, start)
	for e, v := range ends {
		out[next[v]] = int32(e)
		next[v]++
	}
}

func (a *adjacency) in(n int) []int32  { return a.inEdge[a.inStart[n]:a.inStart[n+1]] }
func (a *adjacency) out(n int) []int32 { return a.outEdge[a.outStart[n]:a.outStart[n+1]] }

// errCycle is returned for a problem whose edges form a cycle.
var errCycle = errors.New("place: the edges form a cycle")

// topoOrder returns the nodes in a topological order (Kahn's algorithm,
// FIFO, lowest index first among the initially ready).
func (a *adjacency) topoOrder(n int) ([]int32, error) {
	indeg := make([]int32, n)
	for v := 0; v < n; v++ {
		indeg[v] = a.inStart[v+1] - a.inStart[v]
	}
	order := make([]int32, 0, n)
	for v := 0; v < n; v++ {
		if indeg[v] == 0 {
			order = append(order, int32(v))
		}
	}
	return a.kahn(order, indeg)
}

func (a *adjacency) kahn(order, indeg []int32) ([]int32, error) {
	edgeTo := a.targets()
	for head := 0; head < len(order); head++ {
		for _, e := range a.out(int(order[head])) {
			t := edgeTo[e]
			indeg[t]--
			if indeg[t] == 0 {
				order = append(order, t)
			}
		}
	}
	if len(order) != len(indeg) {
		return nil, errCycle
	}
	return order, nil
}

// targets recovers each edge's head from the in-rows, so kahn needs no
// reference to the Problem.
func (a *adjacency) targets() []int32 {
	to := make([]int32, len(a.inEdge))
	for v := 0; v+1 < len(a.inStart); v++ {
		for _, e := range a.in(v) {
			to[e] = int32(v)
		}
	}
	return to
}

// meanInverseBandwidth is the mean over ordered class pairs (a, b) of
// 1/min(bandwidth a, bandwidth b), in s/byte: HEFT's mean communication cost
// per byte.
func meanInverseBandwidth(cl []Class) float64 {
	sum := 0.0
	for _, a := range cl {
		for _, b := range cl {
			sum += 1 / math.Min(a.BandwidthBytes, b.BandwidthBytes)
		}
	}
	return sum / float64(len(cl)*len(cl))
}

// meanCost is w̄(n): the node's runtime (RankRuntime when set) plus
// start-up in seconds, averaged over its feasible classes, or on its
// pinned class.
func meanCost(p *Problem, n int) float64 {
	nc := len(p.Classes)
	rt := p.Runtime
	if len(p.RankRuntime) == len(p.Runtime) {
		rt = p.RankRuntime
	}
	if c := p.pinned(n); c >= 0 {
		return rt[n*nc+c] + p.Classes[c].StartupSeconds
	}
	sum, k := 0.0, 0
	for c := 0; c < nc; c++ {
		if p.feasible(n, c) {
			sum += rt[n*nc+c] + p.Classes[c].StartupSeconds
			k++
		}
	}
	return sum / float64(k)
}

// upwardRank computes rank(n) = w̄(n) + max over out-edges (c̄ + rank(succ))
// in reverse topological order (Topcuoglu et al. 2002, eq. 7).
func upwardRank(p *Problem, a *adjacency, topo []int32) []float64 {
	rank := make([]float64, p.Nodes)
	inv := meanInverseBandwidth(p.Classes)
	for i := len(topo) - 1; i >= 0; i-- {
		n := int(topo[i])
		tail := 0.0
		for _, e := range a.out(n) {
			s := int(p.EdgeTo[e])
			c := p.EdgeBytes[e] * inv
			if p.sameGroup(n, s) {
				c = 0
			}
			tail = math.Max(tail, c+rank[s])
		}
		rank[n] = meanCost(p, n) + tail
	}
	return rank
}
