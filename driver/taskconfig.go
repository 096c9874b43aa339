package driver

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/hashicorp/nomad/plugins/drivers"

	"github.com/shardwise/shardwise/driver/proc"
)

// envAllocIndex is the variable Nomad sets to the allocation's index in
// its group; a split job's piece i runs in allocation i.
const envAllocIndex = "NOMAD_ALLOC_INDEX"

// envRunSecret carries the launcher's per-run channel secret.
const envRunSecret = "SHARDWISE_RUN_SECRET"

// decodeTask decodes and checks a task's driver config and resolves its
// channels for the task's allocation.
func decodeTask(cfg *drivers.TaskConfig) (*TaskConfig, TaskChannels, error) {
	var tc TaskConfig
	if err := cfg.DecodeDriverConfig(&tc); err != nil {
		return nil, TaskChannels{}, fmt.Errorf("decode task config: %w", err)
	}
	spec, err := tc.resolve(cfg)
	if err != nil {
		return nil, TaskChannels{}, err
	}
	return &tc, spec, nil
}

// resolve checks tc and resolves its channels for cfg's allocation.
func (tc *TaskConfig) resolve(cfg *drivers.TaskConfig) (TaskChannels, error) {
	if err := tc.validate(); err != nil {
		return TaskChannels{}, fmt.Errorf("task config: %w", err)
	}
	spec, err := tc.channels(cfg)
	if err != nil {
		return TaskChannels{}, fmt.Errorf("task config: %w", err)
	}
	return spec, nil
}

// validate checks what the driver relies on: a command, named tasks and
// channel paths that stay inside the task dir.
func (tc *TaskConfig) validate() error {
	if tc.Command == "" {
		return fmt.Errorf("command is empty")
	}
	for i, t := range tc.Tasks {
		if t.Name == "" || t.Command == "" {
			return fmt.Errorf("tasks[%d]: name and command are required", i)
		}
	}
	for _, list := range [][]ChannelConfig{tc.Inputs, tc.Outputs} {
		for _, c := range list {
			if err := validateChannel(c); err != nil {
				return err
			}
		}
	}
	return distinctInputPaths(tc.Inputs)
}

// distinctInputPaths checks that no two inputs of one consuming shard are
// delivered to the same path or one inside the other: they would race on
// one .part file and overwrite each other. (The pieces of a split
// producer each have their own path; see sdk.ChannelConfig.Path.)
func distinctInputPaths(inputs []ChannelConfig) error {
	seen := map[string]map[string]string{} // to shard -> clean path -> channel ID
	for _, c := range inputs {
		if c.Path == "" {
			continue
		}
		p := filepath.Clean(c.Path)
		if seen[c.To] == nil {
			seen[c.To] = map[string]string{}
		}
		for q, id := range seen[c.To] {
			if q == p || strings.HasPrefix(p, q+"/") || strings.HasPrefix(q, p+"/") {
				return fmt.Errorf("channels %s and %s: input paths %q and %q of shard %s overlap; each input needs its own path", id, c.ID, q, p, c.To)
			}
		}
		seen[c.To][p] = c.ID
	}
	return nil
}

// validateChannel checks one channel's paths: relative, without "..", so the
// channel manager never writes or reads outside the task dir.
func validateChannel(c ChannelConfig) error {
	for _, p := range []string{c.Path, c.FromPath} {
		if p != "" && !filepath.IsLocal(p) {
			return fmt.Errorf("channel %s: path %q must be relative to the task dir and stay inside it", c.ID, p)
		}
	}
	return nil
}

// channels returns the task's TaskChannels: the allocation's shard and
// the channels entering and leaving it.
func (tc *TaskConfig) channels(cfg *drivers.TaskConfig) (TaskChannels, error) {
	shard, err := tc.allocShard(cfg.Env)
	if err != nil {
		return TaskChannels{}, err
	}
	spec := TaskChannels{
		Graph: tc.Graph, Run: tc.Run, Shard: shard,
		Job: cfg.JobID, AllocID: cfg.AllocID, Task: cfg.Name,
		RunSecret: cfg.Env[envRunSecret],
	}
	for _, c := range tc.Inputs {
		if shard == "" || c.To == shard {
			spec.Inputs = append(spec.Inputs, inputChannel(c))
		}
	}
	for _, c := range tc.Outputs {
		if shard == "" || c.From == shard {
			spec.Outputs = append(spec.Outputs, outputChannel(c))
		}
	}
	if shard == "" && len(spec.Inputs)+len(spec.Outputs) > 0 {
		return TaskChannels{}, fmt.Errorf("channels need the shard ID: set shard or shards")
	}
	return spec, nil
}

// allocShard is the shard this allocation runs: shard for an unsplit job,
// element NOMAD_ALLOC_INDEX of shards for a split one, "" when the config
// names none.
func (tc *TaskConfig) allocShard(env map[string]string) (string, error) {
	switch {
	case tc.Shard != "":
		return tc.Shard, nil
	case len(tc.Shards) == 0:
		return "", nil
	case len(tc.Shards) == 1:
		return tc.Shards[0], nil
	}
	raw, ok := env[envAllocIndex]
	if !ok {
		return "", fmt.Errorf("split job without %s in the task environment", envAllocIndex)
	}
	i, err := strconv.Atoi(raw)
	if err != nil || i < 0 || i >= len(tc.Shards) {
		return "", fmt.Errorf("%s=%q does not index shards (%d pieces)", envAllocIndex, raw, len(tc.Shards))
	}
	return tc.Shards[i], nil
}

// inputChannel converts a config channel to an InputChannel.
func inputChannel(c ChannelConfig) InputChannel {
	return InputChannel{
		ID: c.ID, From: c.From, FromTask: c.FromTask, Name: c.Name,
		ToTask: c.ToTask, FromAlloc: c.FromAlloc, Path: c.Path, Bytes: c.Bytes, Stream: c.Stream,
	}
}

// outputChannel converts a config channel to an OutputChannel; the path is where
// the producer writes: from_path, else the graph language's default
// out/<name>.
func outputChannel(c ChannelConfig) OutputChannel {
	path := c.FromPath
	if path == "" && c.Name != "" {
		path = filepath.Join("out", c.Name)
	}
	return OutputChannel{
		ID: c.ID, FromTask: c.FromTask, Name: c.Name, To: c.To,
		ToTask: c.ToTask, Path: path, Bytes: c.Bytes, Stream: c.Stream,
	}
}

// command is what the executor runs for the task, inside cg when the task
// has one (nil: no limits). Cgroups need root on Linux and may be turned
// off in the plugin config.
func command(cfg *drivers.TaskConfig, tc *TaskConfig, noCgroups bool, cg *proc.Cgroup) proc.Command {
	return proc.Command{
		Limits:           cg,
		Path:             tc.Command,
		Args:             tc.Args,
		Env:              cfg.EnvList(),
		User:             cfg.User,
		TaskDir:          cfg.TaskDir().Dir,
		StdoutPath:       cfg.StdoutPath,
		StderrPath:       cfg.StderrPath,
		Cgroup:           !noCgroups && runtime.GOOS == "linux" && syscall.Geteuid() == 0,
		NetworkIsolation: cfg.NetworkIsolation,
	}
}

// streamingInputs returns s with only its streaming inputs and no
// outputs: what FetchInputs resumes for a recovered running task.
func (s TaskChannels) streamingInputs() TaskChannels {
	r := s
	r.Inputs, r.Outputs, r.Recovered = nil, nil, true
	for _, c := range s.Inputs {
		if c.Stream {
			r.Inputs = append(r.Inputs, c)
		}
	}
	return r
}

// streamsOutputs reports whether any output of s streams.
func (s TaskChannels) streamsOutputs() bool {
	for _, c := range s.Outputs {
		if c.Stream {
			return true
		}
	}
	return false
}
