package driver

import (
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/shared/hclspec"
)

// This file answers "what does the driver accept": its identity, the plugin
// and task config schemas, its capabilities and the structs the configs
// decode into. Behaviour lives in the other files.

const (
	// PluginName is the driver's name: a job's task says driver = "shard".
	PluginName = "shard"

	// PluginVersion is the driver's release.
	PluginVersion = "0.1.0"

	// taskHandleVersion is the version of TaskState stored in task handles.
	taskHandleVersion = 1

	// Defaults of the plugin config.
	defaultBindAddr         = "0.0.0.0"
	defaultPort             = 4660
	defaultCompressionLevel = 3
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
	"bind_addr":      hclspec.NewDefault(hclspec.NewAttr("bind_addr", "string", false), hclspec.NewLiteral(`"0.0.0.0"`)),
	"port":           hclspec.NewDefault(hclspec.NewAttr("port", "number", false), hclspec.NewLiteral("4660")),
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
	"compression_level": hclspec.NewDefault(hclspec.NewAttr("compression_level", "number", false), hclspec.NewLiteral("1")),
	"data_dir":          hclspec.NewAttr("data_dir", "string", false),
	"channel_secret":    hclspec.NewAttr("channel_secret", "string", false),
	"no_cgroups":        hclspec.NewDefault(hclspec.NewAttr("no_cgroups", "bool", false), hclspec.NewLiteral("false")),
})

// channelSpec is one element of the task config's inputs and outputs.
var channelSpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"id":        hclspec.NewAttr("id", "string", true),
	"name":      hclspec.NewAttr("name", "string", false),
	"from":      hclspec.NewAttr("from", "string", true),
	"from_task": hclspec.NewAttr("from_task", "string", false),
	"from_path": hclspec.NewAttr("from_path", "string", false),
	"to":        hclspec.NewAttr("to", "string", true),
	"to_task":   hclspec.NewAttr("to_task", "string", false),
	"path":      hclspec.NewAttr("path", "string", false),
	"bytes":     hclspec.NewAttr("bytes", "number", false),
	"stream":    hclspec.NewAttr("stream", "bool", false),
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

// capabilities is returned by the Capabilities RPC. Like raw_exec the
// driver isolates nothing but the process tree (a cgroup when root).
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
	// DataDir holds the channel manager's state and spool files; "" means
	// <os.TempDir()>/nomad-driver-shard.
	DataDir string `codec:"data_dir"`
	// NoCgroups runs tasks without a cgroup even as root; the process tree
	// is then killed through its process group.
	NoCgroups bool `codec:"no_cgroups"`
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

// TaskConfig is a task's driver config (taskConfigSpec).
type TaskConfig struct {
	// Command and Args are what the task runs: the graph task's own command
	// for a one-task shard, /bin/sh -c SCRIPT for a fused shard (the script
	// runs Tasks in order and stops at the first failure).
	Command string   `codec:"command"`
	Args    []string `codec:"args"`
	// Tasks are the graph tasks of the shard, in run order.
	Tasks   []TaskSpec      `codec:"tasks"`
	Inputs  []ChannelConfig `codec:"inputs"`
	Outputs []ChannelConfig `codec:"outputs"`
	Graph   string          `codec:"graph"`
	Run     string          `codec:"run"`
	// Shard is the shard ID of an unsplit job; Shards lists every shard ID
	// of the job in NOMAD_ALLOC_INDEX order.
	Shard  string        `codec:"shard"`
	Shards []string      `codec:"shards"`
	Split  []SplitConfig `codec:"split"`
}

// TaskSpec is one graph task of a shard (config "tasks").
type TaskSpec struct {
	Name    string            `codec:"name"`
	Command string            `codec:"command"`
	Args    []string          `codec:"args"`
	Env     map[string]string `codec:"env"`
}

// ChannelConfig is one element of config "inputs" or "outputs".
type ChannelConfig struct {
	ID       string `codec:"id"`
	Name     string `codec:"name"`
	From     string `codec:"from"`
	FromTask string `codec:"from_task"`
	// FromPath is where the producing task writes the output, relative to
	// its task dir; optional (default "out/<name>").
	FromPath string `codec:"from_path"`
	To       string `codec:"to"`
	ToTask   string `codec:"to_task"`
	// Path is where the consuming task reads the data, relative to its
	// task dir.
	Path   string `codec:"path"`
	Bytes  int64  `codec:"bytes"`
	Stream bool   `codec:"stream"`
}

// SplitConfig describes the pieces of a split job (config "split"); Bytes
// and Items are per piece, in NOMAD_ALLOC_INDEX order.
type SplitConfig struct {
	Task  string  `codec:"task"`
	Count int64   `codec:"count"`
	Bytes []int64 `codec:"bytes"`
	Items []int64 `codec:"items"`
}
