package driver

import (
	"strconv"

	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/shared/hclspec"

	"github.com/shardwise/shardwise/sdk"
)

// This file answers "what does the driver accept": its identity, the plugin
// and task config schemas, its capabilities and the structs the configs
// decode into. Behaviour lives in the other files.

const (
	// PluginName is the driver's name: a job's task says driver = "shard".
	PluginName = sdk.DriverShard

	// PluginVersion is the driver's release.
	PluginVersion = "0.1.0"

	// taskHandleVersion is the version of TaskState stored in task handles.
	taskHandleVersion = 1

	// Defaults of the plugin config, used both by configSpec (an agent's
	// plugin block) and by defaultConfig (a driver not yet configured).
	// zstd level 1 compresses channel data about as well as 3 for less CPU
	// (docs/channels.md).
	defaultBindAddr         = "0.0.0.0"
	defaultPort             = 4660
	defaultCompressionLevel = 1
	defaultNoCgroups        = false
	defaultInsecureChannels = false
)

// pluginInfo is returned by the PluginInfo RPC.
var pluginInfo = &base.PluginInfoResponse{
	Type:              base.PluginTypeDriver,
	PluginApiVersions: []string{drivers.ApiVersion010},
	PluginVersion:     PluginVersion,
	Name:              PluginName,
}

// configSpec is the plugin config, the agent's
// plugin "nomad-driver-shard" { config { ... } } block.
var configSpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"bind_addr":      hclspec.NewDefault(hclspec.NewAttr("bind_addr", "string", false), hclspec.NewLiteral(strconv.Quote(defaultBindAddr))),
	"port":           hclspec.NewDefault(hclspec.NewAttr("port", "number", false), hclspec.NewLiteral(strconv.Itoa(defaultPort))),
	"advertise_addr": hclspec.NewAttr("advertise_addr", "string", false),
	"consul": hclspec.NewBlock("consul", false, hclspec.NewObject(map[string]*hclspec.Spec{
		"address":              hclspec.NewAttr("address", "string", false),
		"token":                hclspec.NewAttr("token", "string", false),
		"ca_file":              hclspec.NewAttr("ca_file", "string", false),
		"cert_file":            hclspec.NewAttr("cert_file", "string", false),
		"key_file":             hclspec.NewAttr("key_file", "string", false),
		"tls_server_name":      hclspec.NewAttr("tls_server_name", "string", false),
		"insecure_skip_verify": hclspec.NewAttr("insecure_skip_verify", "bool", false),
	})),
	"compression_level":  hclspec.NewDefault(hclspec.NewAttr("compression_level", "number", false), hclspec.NewLiteral(strconv.Itoa(defaultCompressionLevel))),
	"data_dir":           hclspec.NewAttr("data_dir", "string", false),
	"channel_secret":     hclspec.NewAttr("channel_secret", "string", false),
	"insecure_channels":  hclspec.NewDefault(hclspec.NewAttr("insecure_channels", "bool", false), hclspec.NewLiteral(strconv.FormatBool(defaultInsecureChannels))),
	"no_cgroups":         hclspec.NewDefault(hclspec.NewAttr("no_cgroups", "bool", false), hclspec.NewLiteral(strconv.FormatBool(defaultNoCgroups))),
	"pids_limit":         hclspec.NewAttr("pids_limit", "number", false),
	"retention":          hclspec.NewAttr("retention", "string", false),
	"consumed_retention": hclspec.NewAttr("consumed_retention", "string", false),
	"gone_after":         hclspec.NewAttr("gone_after", "string", false),
})

// channelSpec is one element of the task config's inputs and outputs.
var channelSpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"id":         hclspec.NewAttr("id", "string", true),
	"name":       hclspec.NewAttr("name", "string", false),
	"from":       hclspec.NewAttr("from", "string", true),
	"from_task":  hclspec.NewAttr("from_task", "string", false),
	"from_path":  hclspec.NewAttr("from_path", "string", false),
	"from_alloc": hclspec.NewAttr("from_alloc", "string", false),
	"to":         hclspec.NewAttr("to", "string", true),
	"to_task":    hclspec.NewAttr("to_task", "string", false),
	"path":       hclspec.NewAttr("path", "string", false),
	"bytes":      hclspec.NewAttr("bytes", "number", false),
	"stream":     hclspec.NewAttr("stream", "bool", false),
})

// taskConfigSpec is a task's config block, as translator/nomadjob emits it
// for driver "shard" (see docs/nomad-jobs.md). Lists of objects are block
// lists: the client hands every driver config over as JSON, where a list
// of objects decodes as blocks.
var taskConfigSpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"command": hclspec.NewAttr("command", "string", true),
	"args":    hclspec.NewAttr("args", "list(string)", false),
	"tasks": hclspec.NewBlockList("tasks", hclspec.NewObject(map[string]*hclspec.Spec{
		"name":    hclspec.NewAttr("name", "string", true),
		"command": hclspec.NewAttr("command", "string", true),
		"args":    hclspec.NewAttr("args", "list(string)", false),
		"env":     hclspec.NewAttr("env", "map(string)", false),
	})),
	"inputs":  hclspec.NewBlockList("inputs", channelSpec),
	"outputs": hclspec.NewBlockList("outputs", channelSpec),
	"graph":   hclspec.NewAttr("graph", "string", false),
	"run":     hclspec.NewAttr("run", "string", false),
	"shard":   hclspec.NewAttr("shard", "string", false),
	"shards":  hclspec.NewAttr("shards", "list(string)", false),
	"split": hclspec.NewBlockListLimited("split", 0, 1, hclspec.NewObject(map[string]*hclspec.Spec{
		"task":  hclspec.NewAttr("task", "string", true),
		"count": hclspec.NewAttr("count", "number", true),
		"bytes": hclspec.NewAttr("bytes", "list(number)", false),
		"items": hclspec.NewAttr("items", "list(number)", false),
	})),
})

// capabilities is returned by the Capabilities RPC. The driver holds a
// task's process tree to its allocated memory and CPU with cgroups (when
// root, see driver/proc) but, like raw_exec, leaves it the host's
// filesystem.
var capabilities = &drivers.Capabilities{
	SendSignals: true,
	Exec:        true,
	FSIsolation: drivers.FSIsolationNone,
	NetIsolationModes: []drivers.NetIsolationMode{
		drivers.NetIsolationModeHost,
		drivers.NetIsolationModeGroup,
	},
	MountConfigs: drivers.MountConfigSupportNone,
}

// Config is the plugin config (configSpec).
type Config struct {
	// BindAddr is the address the channel server listens on.
	BindAddr string `codec:"bind_addr"`
	// Port is the channel server's TCP port; 0 picks a free one.
	Port int `codec:"port"`
	// AdvertiseAddr is the host (or host:port) that downstream shards dial;
	// "" lets the channel manager derive it from BindAddr.
	AdvertiseAddr string `codec:"advertise_addr"`
	// Consul is where channels are registered and discovered.
	Consul ConsulConfig `codec:"consul"`
	// CompressionLevel is the zstd level of channel transfers, 1 (fastest)
	// to 22 (smallest); 0 sends uncompressed frames.
	CompressionLevel int `codec:"compression_level"`
	// ChannelSecret is the cluster-wide secret that each run's channel key
	// derives from (with the run ID); shared by every driver plugin of the
	// cluster, never shown to tasks. Empty: each run's secret is kept in
	// Consul KV instead (see docs/channels.md).
	ChannelSecret string `codec:"channel_secret"`
	// InsecureChannels runs channels without TLS (data in clear, no
	// Consul Connect identities or intentions), logged at error level at
	// start. Without it the plugin needs Consul Connect and refuses to
	// start its channels where Connect is unavailable.
	InsecureChannels bool `codec:"insecure_channels"`
	// DataDir holds the channel manager's state and spool files; "" means
	// <os.TempDir()>/nomad-driver-shard.
	DataDir string `codec:"data_dir"`
	// NoCgroups runs tasks without cgroups even as root: no resource
	// limits, and the process tree is killed through its process group.
	NoCgroups bool `codec:"no_cgroups"`
	// PidsLimit caps the processes and threads of each task (cgroup pids
	// controller); 0: no cap.
	PidsLimit int64 `codec:"pids_limit"`
	// Retention, ConsumedRetention and GoneAfter are Go durations ("24h",
	// "1h", "2m"; "" is channel.Config's default) for the fields of
	// channel.Config of the same names: how long an unconsumed channel is
	// kept, how long a consumed one stays for a retried consumer, and how
	// long a consumer waits for the channel of a completed producer
	// before it fails with ErrUpstreamGone.
	Retention         string `codec:"retention"`
	ConsumedRetention string `codec:"consumed_retention"`
	GoneAfter         string `codec:"gone_after"`
}

// ConsulConfig is the plugin config's consul block. Empty fields fall back
// to the Consul client's environment (CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN,
// CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_TLS_SERVER_NAME,
// CONSUL_HTTP_SSL_VERIFY), then to http://127.0.0.1:8500 without a token.
type ConsulConfig struct {
	// Address is host:port, optionally with an http:// or https:// scheme.
	Address            string `codec:"address"`
	Token              string `codec:"token"`
	CAFile             string `codec:"ca_file"`
	CertFile           string `codec:"cert_file"`
	KeyFile            string `codec:"key_file"`
	TLSServerName      string `codec:"tls_server_name"`
	InsecureSkipVerify bool   `codec:"insecure_skip_verify"`
}

// The task config and its parts are the contract with translator/nomadjob,
// defined once in package sdk; taskConfigSpec decodes into them.
type (
	// TaskConfig is a task's driver config (taskConfigSpec): sdk.TaskConfig
	// with the driver's methods.
	TaskConfig sdk.TaskConfig
	// TaskSpec is one graph task of a shard (config "tasks").
	TaskSpec = sdk.TaskSpec
	// ChannelConfig is one element of config "inputs" or "outputs".
	ChannelConfig = sdk.ChannelConfig
	// SplitConfig describes the pieces of a split job (config "split").
	SplitConfig = sdk.SplitConfig
)
