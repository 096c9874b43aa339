package nomadjob

import (
	"fmt"
	"path"
	"strconv"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/sdk"
)

// shardConfig is the config of the "shard" driver, sdk.TaskConfig (whose
// fields say what each key holds), as a Nomad task config map, and the
// template block shipping a long script (see execConfig).
func (b *builder) shardConfig(u *unit, tasks []*graph.Task, overrides []map[string]string) (map[string]any, *api.Template, error) {
	c, script, err := b.execConfig(tasks, overrides)
	if err != nil {
		return nil, nil, err
	}
	tc := sdk.TaskConfig{
		Command: c["command"].(string),
		Tasks:   taskList(tasks),
		Inputs:  b.channelList(u.inputs),
		Outputs: b.channelList(u.outputs),
		Graph:   b.plan.Graph,
		Run:     b.plan.Run,
		Shards:  u.ids(),
	}
	if args, ok := c["args"].([]string); ok {
		tc.Args = args
	}
	if sp := u.split(); sp != nil {
		tc.Split = []sdk.SplitConfig{splitConfig(sp, u.shards)}
	} else {
		tc.Shard = u.first().ID
	}
	return tc.Map(), script, nil
}

// taskList describes each task for the shard driver.
func taskList(tasks []*graph.Task) []sdk.TaskSpec {
	out := make([]sdk.TaskSpec, len(tasks))
	for i, t := range tasks {
		out[i] = sdk.TaskSpec{Name: t.Name, Command: t.Command, Args: t.Args, Env: t.Env}
	}
	return out
}

// channelList describes channels for the shard driver.
func (b *builder) channelList(chans []*plan.Channel) []sdk.ChannelConfig {
	out := make([]sdk.ChannelConfig, 0, len(chans))
	for _, c := range chans {
		out = append(out, sdk.ChannelConfig{
			ID: c.ID, Name: c.Output, From: c.From, FromTask: c.FromTask, FromPath: b.outputPath(c),
			To: c.To, ToTask: c.ToTask, Path: b.inputPath(c), Bytes: c.Bytes, Stream: c.Stream,
		})
	}
	return out
}

// inputPath is where the consuming task of c reads the channel: the
// graph input's path, or for a piece of a split producer the file named
// after the piece's index inside it, zero-padded to the width of the
// largest index ("in/features/03" of 12 pieces). A consumer of a split
// task's output so gets a directory with one entry per piece whose names
// sort in piece order; without the index every piece would be delivered
// to, and overwrite, the same path.
func (b *builder) inputPath(c *plan.Channel) string {
	if c.Path == "" {
		return ""
	}
	sp := b.splitOf(c.From)
	if sp == nil {
		return c.Path
	}
	return path.Join(c.Path, PieceName(sp.Index, sp.Count))
}

// PieceName is the name of piece index (0-based) of count pieces inside
// the input directory of a split task's consumer: the index zero-padded
// to the width of count-1, so names sort in piece order.
func PieceName(index, count int) string {
	width := len(strconv.Itoa(max(count-1, 0)))
	return fmt.Sprintf("%0*d", width, index)
}

// splitOf is the Split of the plan's shard id, nil when the shard is not
// a piece of a split task (or unknown).
func (b *builder) splitOf(id string) *plan.Split {
	if b.splits == nil {
		b.splits = map[string]*plan.Split{}
		for _, s := range b.plan.Shards {
			if s.Split != nil {
				b.splits[s.ID] = s.Split
			}
		}
	}
	return b.splits[id]
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
func splitConfig(sp *plan.Split, pieces []*plan.Shard) sdk.SplitConfig {
	bytes := make([]int64, len(pieces))
	items := make([]int64, len(pieces))
	for i, s := range pieces {
		bytes[i] = s.Split.Bytes
		items[i] = int64(s.Split.Items)
	}
	return sdk.SplitConfig{Task: sp.Task, Count: int64(sp.Count), Bytes: bytes, Items: items}
}
