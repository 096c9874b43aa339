package runpage

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/goccy/go-graphviz"

	"github.com/shardwise/shardwise/planner/plan"
)

// graphvizMu serialises layouts: go-graphviz runs every Graphviz in the
// process on one WebAssembly module instance, whose memory two goroutines
// must not use at once (go test -race sees them collide).
var graphvizMu sync.Mutex

// NodeID is the SVG element ID of the i-th shard of the plan in the laid
// out graph ("n0", "n1", ...): the page finds a shard's node by its
// index in the run's JSON, whatever characters the shard ID holds.
func NodeID(i int) string { return "n" + strconv.Itoa(i) }

// layout draws the plan's shards and their dependencies (each shard's
// Upstream) as SVG, laid out by Graphviz's dot (layered drawing of
// directed graphs: Gansner, Koutsofios, North and Vo, "A Technique for
// Drawing Directed Graphs", IEEE TSE 1993), left to right. Graphviz runs
// compiled to WebAssembly inside this process (github.com/goccy/go-graphviz),
// so no dot binary is needed. Each shard's node is a <g> with id NodeID(i)
// and class "node" holding its shape and text directly (no tooltip, which
// would wrap them in a link), labelled with the shard ID and its planned
// class; the page colours it by state.
func layout(ctx context.Context, p *plan.Plan) ([]byte, error) {
	graphvizMu.Lock()
	defer graphvizMu.Unlock()
	gv, err := graphviz.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("start graphviz: %w", err)
	}
	defer gv.Close()
	g, err := gv.Graph()
	if err != nil {
		return nil, fmt.Errorf("graphviz graph: %w", err)
	}
	defer g.Close()
	for k, v := range map[string]string{"rankdir": "LR", "nodesep": "0.08", "ranksep": "0.5", "bgcolor": "transparent"} {
		if err := g.SafeSet(k, v, ""); err != nil {
			return nil, fmt.Errorf("graph attribute %s: %w", k, err)
		}
	}
	index := map[string]int{}
	nodes := make([]*graphviz.Node, len(p.Shards))
	for i, s := range p.Shards {
		index[s.ID] = i
		n, err := g.CreateNodeByName(NodeID(i))
		if err != nil {
			return nil, fmt.Errorf("node of shard %s: %w", s.ID, err)
		}
		for k, v := range map[string]string{
			"id": NodeID(i), "label": s.ID + "\n" + s.Class, "shape": "box", "style": "rounded,filled",
			"fillcolor": "#ffffff", "fontname": "sans-serif", "fontsize": "10", "height": "0.3", "margin": "0.05,0.02",
		} {
			if err := n.SafeSet(k, v, ""); err != nil {
				return nil, fmt.Errorf("node attribute %s of shard %s: %w", k, s.ID, err)
			}
		}
		nodes[i] = n
	}
	e := 0
	for i, s := range p.Shards {
		for _, up := range s.Upstream {
			j, ok := index[up]
			if !ok {
				return nil, fmt.Errorf("shard %s: upstream shard %q is not in the plan", s.ID, up)
			}
			edge, err := g.CreateEdgeByName("e"+strconv.Itoa(e), nodes[j], nodes[i])
			if err != nil {
				return nil, fmt.Errorf("edge %s -> %s: %w", up, s.ID, err)
			}
			if err := edge.SafeSet("id", "e"+strconv.Itoa(e), ""); err != nil {
				return nil, err
			}
			if err := edge.SafeSet("arrowsize", "0.5", "1"); err != nil {
				return nil, err
			}
			e++
		}
	}
	var buf bytes.Buffer
	if err := gv.Render(ctx, g, graphviz.SVG, &buf); err != nil {
		return nil, fmt.Errorf("lay out the graph with dot: %w", err)
	}
	return buf.Bytes(), nil
}
