package nomadjob

import (
	"maps"
	"slices"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
)

// shardConfig is the config of the "shard" driver:
//
//	command, args  what to run: the task's own for a one-task shard, else
//	               Shell -c SCRIPT (as raw_exec), for a driver that only
//	               runs one command
//	tasks          [{name, command, args, env}] in run order; args and env
//	               only when set, env being the task's own
//	inputs         [{id, name, from, from_task, from_path, to, to_task,
//	outputs          path, bytes, stream}] the channels entering and
//	               leaving the job; name is the producing output, ""
//	               omitted; from_path is where the producing task writes
//	               it (the graph output's path, both lists, omitted for a
//	               plain dependency); path is where the consumer reads
//	               it; bytes in bytes
//	graph, run     the plan's graph name and run ID
//	shard          the shard ID (unsplit shards only)
//	shards         every shard ID of the job in NOMAD_ALLOC_INDEX order
//	split          [{task, count, bytes, items}] for split jobs; bytes and
//	               items are per-piece lists
//
// split is a list of one object because Nomad's jobspec parser decodes an
// object-valued attribute at the top of a driver config as a one-element
// list (HCL1 block semantics); writing the list ourselves keeps the HCL
// and JSON forms identical. Objects nested in lists (tasks, inputs) are
// kept as objects by the parser.
func (b *builder) shardConfig(u *unit, tasks []*graph.Task, overrides []map[string]string) (map[string]any, error) {
	c, err := b.execConfig(tasks, overrides)
	if err != nil {
		return nil, err
	}
	c["tasks"] = taskList(tasks)
	if in := b.channelList(u.inputs); len(in) > 0 {
		c["inputs"] = in
	}
	if out := b.channelList(u.outputs); len(out) > 0 {
		c["outputs"] = out
	}
	c["graph"] = b.plan.Graph
	c["run"] = b.plan.Run
	c["shards"] = u.ids()
	if sp := u.split(); sp != nil {
		c["split"] = []any{splitConfig(sp, u.shards)}
	} else {
		c["shard"] = u.first().ID
	}
	return c, nil
}

// taskList describes each task for the shard driver.
func taskList(tasks []*graph.Task) []any {
	out := make([]any, len(tasks))
	for i, t := range tasks {
		m := map[string]any{"name": t.Name, "command": t.Command}
		if len(t.Args) > 0 {
			m["args"] = slices.Clone(t.Args)
		}
		if len(t.Env) > 0 {
			m["env"] = maps.Clone(t.Env)
		}
		out[i] = m
	}
	return out
}

// channelList describes channels for the shard driver.
func (b *builder) channelList(chans []*plan.Channel) []any {
	out := make([]any, 0, len(chans))
	for _, c := range chans {
		m := map[string]any{
			"id":     c.ID,
			"from":   c.From,
			"to":     c.To,
			"bytes":  c.Bytes,
			"stream": c.Stream,
		}
		putNonEmpty(m, "name", c.Output)
		putNonEmpty(m, "from_task", c.FromTask)
		putNonEmpty(m, "from_path", b.outputPath(c))
		putNonEmpty(m, "to_task", c.ToTask)
		putNonEmpty(m, "path", c.Path)
		out = append(out, m)
	}
	return out
}

// outputPath is where the producing task of c writes the channel's
// output, relative to its task dir: the graph output's path, which the
// shard driver publishes from (its own default, out/<name>, only matches
// an output declared without a path). It is "" for a plain dependency and
// when the graph does not know the output.
func (b *builder) outputPath(c *plan.Channel) string {
	if c.Output == "" || b.graph == nil {
		return ""
	}
	t := b.graph.Task(c.FromTask)
	if t == nil {
		return ""
	}
	for _, o := range t.Outputs {
		if o.Name == c.Output {
			return o.Path
		}
	}
	return ""
}

// splitConfig describes a split job's pieces for the shard driver.
func splitConfig(sp *plan.Split, pieces []*plan.Shard) map[string]any {
	bytes := make([]int64, len(pieces))
	items := make([]int64, len(pieces))
	for i, s := range pieces {
		bytes[i] = s.Split.Bytes
		items[i] = int64(s.Split.Items)
	}
	return map[string]any{"task": sp.Task, "count": int64(sp.Count), "bytes": bytes, "items": items}
}

// putNonEmpty sets m[k] = v unless v is empty.
func putNonEmpty(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}
