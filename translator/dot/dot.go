// Package dot writes a graph and its shard plan as Graphviz DOT: one node
// per task, filled with the colour of the executor class its shard runs on,
// tasks of one fused shard drawn in one cluster, and data edges labelled
// with their predicted bytes.
package dot

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/units"
)

// palette gives each class a stable colour by its position in the plan's
// class list; classes beyond it reuse colours.
var palette = []string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f"}

// Write renders g coloured by the classes of p's shards. It returns an
// error if a task of g is in no shard of p, or if writing fails.
func Write(w io.Writer, g *graph.Graph, p *plan.Plan) error {
	shardOf := map[string]*plan.Shard{}
	for _, s := range p.Shards {
		for _, t := range s.Tasks {
			if _, ok := shardOf[t]; !ok {
				shardOf[t] = s
			}
		}
	}
	colour := classColours(p)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "digraph %s {\n", strconv.Quote(g.Name))
	fmt.Fprintf(bw, "  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontcolor=white];\n")
	if err := writeTasks(bw, g, shardOf, colour); err != nil {
		return err
	}
	writeEdges(bw, g, p)
	writeLegend(bw, p, colour)
	fmt.Fprintln(bw, "}")
	return bw.Flush()
}

func classColours(p *plan.Plan) map[string]string {
	names := map[string]bool{}
	for _, c := range p.Classes {
		names[c.Class] = true
	}
	for _, s := range p.Shards {
		names[s.Class] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	out := map[string]string{}
	for i, n := range sorted {
		out[n] = palette[i%len(palette)]
	}
	return out
}

// writeTasks emits fused shards as clusters and single-task shards as
// plain nodes, in declaration order so the output is deterministic.
func writeTasks(w io.Writer, g *graph.Graph, shardOf map[string]*plan.Shard, colour map[string]string) error {
	done := map[string]bool{}
	for _, t := range g.Tasks {
		s, ok := shardOf[t.Name]
		if !ok {
			return fmt.Errorf("task %q is in no shard of the plan", t.Name)
		}
		if done[s.ID] {
			continue
		}
		done[s.ID] = true
		label := s.Class
		if s.Split != nil {
			label = fmt.Sprintf("%s ×%d", s.Class, s.Split.Count)
		}
		if len(s.Tasks) > 1 {
			fmt.Fprintf(w, "  subgraph %s {\n    label=%s; style=dashed;\n", strconv.Quote("cluster_"+s.ID), strconv.Quote(s.ID+" ("+label+")"))
			for _, name := range s.Tasks {
				fmt.Fprintf(w, "    %s [fillcolor=%s, tooltip=%s];\n", strconv.Quote(name), strconv.Quote(colour[s.Class]), strconv.Quote(s.Reason))
			}
			fmt.Fprintln(w, "  }")
			continue
		}
		fmt.Fprintf(w, "  %s [label=%s, fillcolor=%s, tooltip=%s];\n", strconv.Quote(t.Name),
			strconv.Quote(t.Name+"\n"+label), strconv.Quote(colour[s.Class]), strconv.Quote(s.Reason))
	}
	return nil
}

func writeEdges(w io.Writer, g *graph.Graph, p *plan.Plan) {
	bytes := map[[2]string]int64{}
	for _, c := range p.Channels {
		bytes[[2]string{c.FromTask, c.ToTask}] += c.Bytes
	}
	for _, e := range g.Edges {
		attrs := ""
		if b, ok := bytes[[2]string{e.From, e.To}]; ok && b > 0 {
			attrs = fmt.Sprintf(" [label=%s]", strconv.Quote(units.FormatBytes(b)))
		} else if e.Output == "" {
			attrs = " [style=dotted]"
		}
		if e.Stream {
			attrs = " [style=bold, color=\"#e15759\"]"
		}
		fmt.Fprintf(w, "  %s -> %s%s;\n", strconv.Quote(e.From), strconv.Quote(e.To), attrs)
	}
}

func writeLegend(w io.Writer, p *plan.Plan, colour map[string]string) {
	fmt.Fprintln(w, "  subgraph cluster_legend {\n    label=\"executor classes\"; style=solid;")
	names := make([]string, 0, len(colour))
	for n := range colour {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		// "legend:" cannot start a task name (an HCL identifier), so no
		// legend node redefines a task's.
		fmt.Fprintf(w, "    %s [label=%s, fillcolor=%s];\n", strconv.Quote("legend:"+n), strconv.Quote(n), strconv.Quote(colour[n]))
	}
	fmt.Fprintln(w, "  }")
}
