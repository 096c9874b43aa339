package sdk

import (
	"maps"
	"slices"
)

// TaskConfig is the config block of a task with driver "shard": what
// translator/nomadjob writes into a job and what the driver decodes (its
// hclspec, driver/about.go, names the same fields; the codec tags are the
// HCL/JSON names). See docs/nomad-jobs.md.
type TaskConfig struct {
	// Command and Args are what the task runs: the graph task's own command
	// for a one-task shard, /bin/sh -c SCRIPT for a fused shard (the script
	// runs Tasks in order and stops at the first failure), for a driver
	// that only runs one command.
	Command string   `codec:"command"`
	Args    []string `codec:"args"`
	// Tasks are the graph tasks of the shard, in run order.
	Tasks []TaskSpec `codec:"tasks"`
	// Inputs and Outputs are the channels entering and leaving the job.
	Inputs  []ChannelConfig `codec:"inputs"`
	Outputs []ChannelConfig `codec:"outputs"`
	// Graph and Run are the plan's graph name and run ID.
	Graph string `codec:"graph"`
	Run   string `codec:"run"`
	// Shard is the shard ID of an unsplit job; Shards lists every shard ID
	// of the job in NOMAD_ALLOC_INDEX order.
	Shard  string   `codec:"shard"`
	Shards []string `codec:"shards"`
	// Split describes the pieces of a split job: a list of at most one
	// element, because Nomad's jobspec parser decodes an object-valued
	// attribute at the top of a driver config as a one-element list (HCL1
	// block semantics); writing the list keeps the HCL and JSON forms
	// identical. Objects nested in lists (tasks, inputs) stay objects.
	Split []SplitConfig `codec:"split"`
}

// TaskSpec is one graph task of a shard (config "tasks"); Args and Env
// only when set, Env being the task's own.
type TaskSpec struct {
	Name    string            `codec:"name"`
	Command string            `codec:"command"`
	Args    []string          `codec:"args"`
	Env     map[string]string `codec:"env"`
}

// ChannelConfig is one element of config "inputs" or "outputs".
type ChannelConfig struct {
	ID string `codec:"id"`
	// Name is the producing graph output; "" for a plain dependency.
	Name     string `codec:"name"`
	From     string `codec:"from"`
	FromTask string `codec:"from_task"`
	// FromPath is where the producing task writes the output, relative to
	// its task dir; optional (default "out/<name>").
	FromPath string `codec:"from_path"`
	// FromAlloc is the producing allocation the run names, when known: the
	// consumer then reads only that allocation's Consul registration of
	// the channel.
	FromAlloc string `codec:"from_alloc"`
	To        string `codec:"to"`
	ToTask    string `codec:"to_task"`
	// Path is where the consuming task reads the data, relative to its
	// task dir: the graph input's path, or, when From is a piece of a
	// split task, "<input path>/<piece index>" with the index zero-padded
	// to the width of the largest (translator/nomadjob.PieceName), so the
	// consumer finds one file (or directory) per piece, names in piece
	// order. No two inputs of one consuming shard share a path.
	Path string `codec:"path"`
	// Bytes is the planned size of the data, in bytes.
	Bytes  int64 `codec:"bytes"`
	Stream bool  `codec:"stream"`
}

// SplitConfig describes the pieces of a split job (config "split"); Bytes
// and Items are per piece, in NOMAD_ALLOC_INDEX order.
type SplitConfig struct {
	Task  string  `codec:"task"`
	Count int64   `codec:"count"`
	Bytes []int64 `codec:"bytes"`
	Items []int64 `codec:"items"`
}

// Map returns c as a Nomad task config (api.Task.Config): keys are the
// codec names; args, env, inputs, outputs and the channels' optional
// strings only when set; split (as a one-element list) for a split job,
// else shard. Slices and maps are copies.
func (c *TaskConfig) Map() map[string]any {
	m := map[string]any{"command": c.Command}
	if len(c.Args) > 0 {
		m["args"] = slices.Clone(c.Args)
	}
	tasks := make([]any, len(c.Tasks))
	for i, t := range c.Tasks {
		tasks[i] = t.toMap()
	}
	m["tasks"] = tasks
	if len(c.Inputs) > 0 {
		m["inputs"] = channelMaps(c.Inputs)
	}
	if len(c.Outputs) > 0 {
		m["outputs"] = channelMaps(c.Outputs)
	}
	m["graph"] = c.Graph
	m["run"] = c.Run
	m["shards"] = slices.Clone(c.Shards)
	if len(c.Split) > 0 {
		split := make([]any, len(c.Split))
		for i, s := range c.Split {
			split[i] = map[string]any{"task": s.Task, "count": s.Count, "bytes": slices.Clone(s.Bytes), "items": slices.Clone(s.Items)}
		}
		m["split"] = split
	} else {
		m["shard"] = c.Shard
	}
	return m
}

func (t TaskSpec) toMap() map[string]any {
	m := map[string]any{"name": t.Name, "command": t.Command}
	if len(t.Args) > 0 {
		m["args"] = slices.Clone(t.Args)
	}
	if len(t.Env) > 0 {
		m["env"] = maps.Clone(t.Env)
	}
	return m
}

func channelMaps(chans []ChannelConfig) []any {
	out := make([]any, 0, len(chans))
	for _, c := range chans {
		m := map[string]any{"id": c.ID, "from": c.From, "to": c.To, "bytes": c.Bytes, "stream": c.Stream}
		putNonEmpty(m, "name", c.Name)
		putNonEmpty(m, "from_task", c.FromTask)
		putNonEmpty(m, "from_path", c.FromPath)
		putNonEmpty(m, "from_alloc", c.FromAlloc)
		putNonEmpty(m, "to_task", c.ToTask)
		putNonEmpty(m, "path", c.Path)
		out = append(out, m)
	}
	return out
}

// putNonEmpty sets m[k] = v unless v is empty.
func putNonEmpty(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}
