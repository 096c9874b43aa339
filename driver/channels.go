package driver

import (
	"context"

	hclog "github.com/hashicorp/go-hclog"
)

// ChannelManager moves a shard's data between allocations: it fetches the
// channels entering a task before its command starts and publishes the
// channels leaving it after a successful exit. The driver holds one per
// plugin process and calls it from many tasks at once, so implementations
// must be safe for concurrent use. package driver/channel implements it.
//
// taskDir is the task's directory on the host (drivers.TaskConfig.TaskDir().Dir);
// every Path in TaskChannels is relative to it.
type ChannelManager interface {
	// FetchInputs blocks until every input of spec is available upstream
	// (Consul blocking queries), then pulls and verifies the data into
	// taskDir/Path. It calls progress with one short line per step worth a
	// task event, such as "waiting for upstream s001-extract/data". A plain
	// dependency (Name "") only waits for the upstream shard to publish.
	//
	// FetchInputs must be idempotent: the driver calls it again, with the
	// same spec, when it recovers a task whose command had not started yet
	// (the plugin died while fetching). Data already complete on disk is
	// verified rather than fetched again.
	//
	// Streaming inputs (Stream true) are consumed while produced: for them
	// FetchInputs returns once the stream is connected and keeps writing
	// into Path until the producer finishes or ctx is cancelled. The driver
	// cancels ctx when the task exits or is stopped, never earlier. When the
	// driver recovers a task whose command is already running it calls
	// FetchInputs again with only the streaming inputs and Recovered set:
	// the task's end of a stream that had not been delivered whole saw its
	// writer go with the plugin, and may have read an early end of file,
	// so FetchInputs then fails (an error wrapping the manager's "stream
	// cut" error); the driver kills the command and fails the task, never
	// letting a truncated input pass for a whole one.
	//
	// It returns ctx.Err() (possibly wrapped) when ctx is cancelled, and an
	// error naming the channel for anything else; the driver fails the task
	// with that error.
	FetchInputs(ctx context.Context, spec TaskChannels, taskDir string, progress func(string)) error

	// PublishOutputs registers the task's finished outputs (files at
	// taskDir/Path) for downstream shards. The driver calls it once the
	// command has exited with code 0 and before it reports the exit result;
	// a publish error fails the task. It must be idempotent: after a plugin
	// restart the driver may publish the same outputs again.
	PublishOutputs(ctx context.Context, spec TaskChannels, taskDir string) error

	// Close releases the manager's listeners and Consul sessions. The driver
	// calls it when the plugin shuts down or its config is replaced.
	Close() error
}

// OutputStreamer is implemented by a ChannelManager that serves streaming
// outputs while the task that produces them runs. The driver calls
// StreamOutputs after FetchInputs and before it starts the command, for
// tasks with at least one output whose Stream is true (and again when it
// recovers such a task while it runs). StreamOutputs returns once the
// streams are registered; it keeps serving until ctx is cancelled, which
// happens after the task has exited and PublishOutputs has returned.
type OutputStreamer interface {
	StreamOutputs(ctx context.Context, spec TaskChannels, taskDir string) error
}

// ChannelFactory builds the plugin's ChannelManager from its config. The
// driver calls it from SetConfig when the agent configures the plugin (not
// for the loader's validation call, which has no agent config), closing
// the manager it replaces. cmd/nomad-driver-shard passes the factory of
// package driver/channel to New.
type ChannelFactory func(cfg *Config, logger hclog.Logger) (ChannelManager, error)

// TaskChannels is the channel part of one allocation's task config: the
// plan identity and the channels entering and leaving this allocation's
// shard. For a split job, Inputs and Outputs hold only the channels whose
// shard (To for inputs, From for outputs) is this allocation's piece.
type TaskChannels struct {
	Graph string // plan graph name (config "graph")
	Run   string // plan run ID (config "run")
	// Shard is this allocation's shard ID: config "shard", or for split
	// jobs element NOMAD_ALLOC_INDEX of config "shards".
	Shard   string
	Job     string // Nomad job ID
	AllocID string // Nomad allocation ID
	Task    string // Nomad task name
	// RunSecret is the task's SHARDWISE_RUN_SECRET ("" when unset). The
	// channel manager of package driver/channel does not use it: keys come
	// from the plugin's channel_secret (or Consul KV), which tasks never
	// see (see driver/channel/adapter).
	RunSecret string
	// Recovered is set when the driver recovered the task with its
	// command running (the plugin restarted) and calls FetchInputs with
	// only its streaming inputs: a stream not delivered whole by then was
	// cut, since the task's input pipe lost its writer with the plugin.
	Recovered bool

	Inputs  []InputChannel
	Outputs []OutputChannel
}

// InputChannel is a channel entering the shard (config "inputs").
type InputChannel struct {
	ID       string // channel ID in the plan, e.g. "c07"
	From     string // producing shard ID
	FromTask string // producing graph task
	// Name is the producing task's output; "" for a plain dependency,
	// which carries no data.
	Name   string
	ToTask string // consuming graph task in this shard
	// FromAlloc is the producing allocation's ID when the run names it
	// (config "from_alloc"); the consumer then reads only that
	// allocation's registration. "" accepts any passing one.
	FromAlloc string
	// Path is where the data is delivered, relative to the task dir
	// ("" for a plain dependency); distinct for every input of the shard
	// (each piece of a split producer has its own, see sdk.ChannelConfig).
	Path   string
	Bytes  int64 // declared or predicted size in bytes; 0 when unknown
	Stream bool  // consumed while produced
}

// OutputChannel is a channel leaving the shard (config "outputs"). Several
// channels may carry the same output (Name) to different shards.
type OutputChannel struct {
	ID       string // channel ID in the plan
	FromTask string // producing graph task in this shard
	Name     string // the producing task's output; "" for a plain dependency
	To       string // consuming shard ID
	ToTask   string // consuming graph task
	// Path is where the producing task writes the data, relative to the
	// task dir: config "from_path" when set, else "out/<Name>" (the graph
	// language's default). "" for a plain dependency.
	Path   string
	Bytes  int64 // declared or predicted size in bytes; 0 when unknown
	Stream bool  // served while produced (see OutputStreamer)
}
