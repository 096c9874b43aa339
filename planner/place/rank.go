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

// buildAdjacency indexes p's edges into w.adj with two counting sorts,
// O(V+E).
func (w *Workspace) buildAdjacency(p *Problem) {
	a := &w.adj
	a.inStart = csrStart(a.inStart, p.Nodes, p.EdgeTo)
	a.outStart = csrStart(a.outStart, p.Nodes, p.EdgeFrom)
	a.inEdge = resize(a.inEdge, len(p.EdgeTo))
	a.outEdge = resize(a.outEdge, len(p.EdgeFrom))
	w.next = csrFill(w.next, a.inStart, p.EdgeTo, a.inEdge)
	w.next = csrFill(w.next, a.outStart, p.EdgeFrom, a.outEdge)
}

// resize returns s with length n, reusing its array when it is large
// enough; the contents are left as they are.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// csrStart returns the row offsets (len n+1) for the given endpoints, in
// start's array when it is large enough.
func csrStart(start []int32, n int, ends []int32) []int32 {
	start = resize(start, n+1)
	clear(start)
	for _, v := range ends {
		start[v+1]++
	}
	for i := 0; i < n; i++ {
		start[i+1] += start[i]
	}
	return start
}

// csrFill places edge indices into rows, keeping input order within a
// row; next is scratch space, returned for reuse.
func csrFill(next, start, ends, out []int32) []int32 {
	next = append(next[:0], start[:len(start)-1]...)
	for e, v := range ends {
		out[next[v]] = int32(e)
		next[v]++
	}
	return next
}

func (a *adjacency) in(n int) []int32  { return a.inEdge[a.inStart[n]:a.inStart[n+1]] }
func (a *adjacency) out(n int) []int32 { return a.outEdge[a.outStart[n]:a.outStart[n+1]] }

// errCycle is returned for a problem whose edges form a cycle.
var errCycle = errors.New("place: the edges form a cycle")

// topoOrder returns p's nodes in a topological order (Kahn's algorithm,
// FIFO, lowest index first among the initially ready), in w's buffers.
func (w *Workspace) topoOrder(p *Problem) ([]int32, error) {
	n, a := p.Nodes, &w.adj
	indeg := resize(w.indeg, n)
	for v := 0; v < n; v++ {
		indeg[v] = a.inStart[v+1] - a.inStart[v]
	}
	order := w.order[:0]
	if cap(order) < n {
		order = make([]int32, 0, n) // its final length: no growing
	}
	for v := 0; v < n; v++ {
		if indeg[v] == 0 {
			order = append(order, int32(v))
		}
	}
	for head := 0; head < len(order); head++ {
		for _, e := range a.out(int(order[head])) {
			t := p.EdgeTo[e]
			indeg[t]--
			if indeg[t] == 0 {
				order = append(order, t)
			}
		}
	}
	w.indeg, w.order = indeg, order
	if len(order) != n {
		return nil, errCycle
	}
	return order, nil
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
	if c := p.pinned(n); c >= 0 {
		return p.rankRuntime(n, c) + p.Classes[c].StartupSeconds
	}
	sum, k := 0.0, 0
	for c := range p.Classes {
		if p.feasible(n, c) {
			sum += p.rankRuntime(n, c) + p.Classes[c].StartupSeconds
			k++
		}
	}
	return sum / float64(k)
}

// rankRuntime is node n's runtime on class c for its rank: RankRuntime's
// when set, else Runtime's.
func (p *Problem) rankRuntime(n, c int) float64 {
	if p.RankRuntime != nil {
		return p.RankRuntime(n, c)
	}
	return p.Runtime[n*len(p.Classes)+c]
}

// upwardRank computes rank(n) = w̄(n) + max over out-edges (c̄ + rank(succ))
// in reverse topological order (Topcuoglu et al. 2002, eq. 7), into rank
// (p.Nodes entries, every one written), and returns it.
func upwardRank(p *Problem, a *adjacency, topo []int32, rank []float64) []float64 {
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
			tail = max(tail, c+rank[s])
		}
		rank[n] = meanCost(p, n) + tail
	}
	return rank
}
