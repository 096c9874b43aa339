package hclreader

import (
	"math"

	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/planner/graph"
)

// decodeSplit reads a task's split block and checks what can be checked
// before references are resolved: exactly one of input_size and items, at
// least 2 items and 2 shards, a non-zero input, and a batch task. The
// streaming rule is checked later by checkStreamingSplit.
func (r *reader) decodeSplit(t *graph.Task, b *hcl.Block) {
	content := r.content(b.Body, splitSchema)
	s := &graph.Split{DefRange: b.DefRange}
	t.Split = s
	where := where{format: "the split of task %q", a: t.Name}
	a := r.attrs(content, where)
	switch {
	case !a.has("input_size") && !a.has("items"):
		r.errorAt(b.DefRange, "Split has nothing to cut",
			"The split of task %q gives neither input_size nor items, so there is nothing to cut into shards. Give input_size (the total input, such as \"400GiB\") or items (the number of independent work items).",
			t.Name)
	case a.has("input_size") && a.has("items"):
		_, itemsRange, _ := content.attr("items")
		r.errorAt(itemsRange, "Conflicting split arguments",
			"The split of task %q gives both input_size and items; give one: input_size to cut by bytes, or items to cut by work items.",
			t.Name)
	}
	if a.size("input_size", &s.InputBytes) && s.InputBytes == 0 {
		r.errorAt(a.rangeOf("input_size"), "Invalid split",
			"The split of task %q has an input_size of 0 bytes; there is nothing to cut into shards.", t.Name)
	}
	t.InputBytes = s.InputBytes
	if a.integer("items", math.MinInt, math.MaxInt, &s.Items) && s.Items < 2 {
		r.errorAt(a.rangeOf("items"), "Invalid split",
			"The split of task %q has items = %d; a split needs at least 2 items to cut into shards.", t.Name, s.Items)
	}
	if a.integer("max_shards", math.MinInt, math.MaxInt, &s.MaxShards) && s.MaxShards < 2 {
		r.errorAt(a.rangeOf("max_shards"), "Invalid split",
			"The split of task %q has max_shards = %d; a split needs at least 2 shards (remove the split block to run the task whole).",
			t.Name, s.MaxShards)
	}
	if t.Type == graph.TypeService {
		r.errorAt(b.DefRange, "Split on a service task",
			"Task %q is a service, which runs as long-lived allocations rather than finishing pieces of work; only batch tasks can be split. Remove the split block or set type = \"batch\".",
			t.Name)
	}
}

// checkStreamingSplit reports a split on a task that produces or consumes
// a stream: a stream is consumed while it is produced, so it cannot be cut
// into pieces ahead of time.
func (r *reader) checkStreamingSplit(g *graph.Graph, d *taskDecl) {
	t := d.task
	if t.Split == nil {
		return
	}
	for _, o := range t.Outputs {
		if o.Stream {
			r.errorAt(t.Split.DefRange, "Split on a streaming task",
				"Task %q is split, but its output %q streams (stream = true), and a stream cannot be cut into shards. Remove the split block or set stream = false.",
				t.Name, o.Name)
			return
		}
	}
	for _, e := range g.In(g.Index(t.Name)) {
		if e.Stream {
			r.errorAt(t.Split.DefRange, "Split on a streaming task",
				"Task %q is split, but its input task.%s.output.%s streams (stream = true), and a stream cannot be cut into shards. Remove the split block or set stream = false on that output.",
				t.Name, e.From, e.Output)
			return
		}
	}
}
