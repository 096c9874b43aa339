// Package adapter plugs package channel into the shard driver: Factory is
// the driver.ChannelFactory that cmd/nomad-driver-shard passes to
// driver.New. It only converts the driver's config and task types; the
// behaviour is package channel's.
//
// The plugin config maps as follows: bind_addr, port, advertise_addr,
// compression_level, data_dir, retention, consumed_retention and
// gone_after to the channel.Config fields of the same names (data_dir gets
// a "channels" subfolder), the consul block to
// channel.Config.Consul, channel_secret to channel.Config.Secret and
// insecure_channels to channel.Config.InsecureChannels.
//
// Credentials: with a channel_secret every plugin of the cluster derives
// each run's key from it and the run ID (channel.RunKey), with no shared
// state. Only when channel_secret is empty does the manager fall back to a
// random per-run secret that the first plugin of the run creates in Consul
// KV (registry.RunSecret); the security of that mode is the ACL on the KV
// prefix. A task's SHARDWISE_RUN_SECRET (driver.TaskChannels.RunSecret) is
// not used: a secret in the task's environment is visible to the task,
// and the producing plugin must know the key of a channel it serves after
// a restart, when no task of the run may be left on its node.
package adapter

import (
	"context"
	"path/filepath"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/shardwise/shardwise/driver"
	"github.com/shardwise/shardwise/driver/channel"
)

// Factory builds the plugin's channel manager from its config.
var Factory driver.ChannelFactory = New

// New starts a channel.Manager configured from the plugin config.
func New(cfg *driver.Config, logger hclog.Logger) (driver.ChannelManager, error) {
	c, err := Config(cfg, logger)
	if err != nil {
		return nil, err
	}
	m, err := channel.NewManager(c)
	if err != nil {
		return nil, err
	}
	if logger != nil {
		credential := "channel_secret (per-run keys derived from it)"
		if c.Secret == "" {
			credential = "per-run secrets in Consul KV (no channel_secret configured)"
		}
		logger.Info("channel manager started", "addr", m.Addr(), "data_dir", c.DataDir, "credential", credential)
	}
	return &Manager{m: m}, nil
}

// Config maps the plugin config to the channel manager's. An empty
// channel_secret leaves channel.Config.Secret empty, which makes the
// manager keep each run's secret in Consul KV. It fails on a retention or
// gone_after that is not a positive duration (driver.Config.Durations).
func Config(cfg *driver.Config, logger hclog.Logger) (channel.Config, error) {
	c := channel.Config{
		BindAddr: cfg.BindAddr, Port: cfg.Port, AdvertiseAddr: cfg.AdvertiseAddr,
		CompressionLevel: cfg.CompressionLevel, Consul: cfg.Consul.APIConfig(),
		Secret: cfg.ChannelSecret, InsecureChannels: cfg.InsecureChannels, Logger: logger,
	}
	var err error
	if c.Retention, c.ConsumedRetention, c.GoneAfter, err = cfg.Durations(); err != nil {
		return channel.Config{}, err
	}
	if cfg.DataDir != "" {
		c.DataDir = filepath.Join(cfg.DataDir, "channels")
	}
	return c, nil
}

// Manager is a channel.Manager seen through the driver's interfaces
// (driver.ChannelManager and driver.OutputStreamer).
type Manager struct{ m *channel.Manager }

var (
	_ driver.ChannelManager = (*Manager)(nil)
	_ driver.OutputStreamer = (*Manager)(nil)
)

// FetchInputs implements driver.ChannelManager (channel.Manager.FetchInputs).
func (a *Manager) FetchInputs(ctx context.Context, spec driver.TaskChannels, taskDir string, progress func(string)) error {
	return a.m.FetchInputs(ctx, Spec(spec), taskDir, progress)
}

// PublishOutputs implements driver.ChannelManager (channel.Manager.PublishOutputs).
func (a *Manager) PublishOutputs(ctx context.Context, spec driver.TaskChannels, taskDir string) error {
	return a.m.PublishOutputs(ctx, Spec(spec), taskDir)
}

// StreamOutputs implements driver.OutputStreamer (channel.Manager.StreamOutputs).
func (a *Manager) StreamOutputs(ctx context.Context, spec driver.TaskChannels, taskDir string) error {
	return a.m.StreamOutputs(ctx, Spec(spec), taskDir)
}

// Close implements driver.ChannelManager.
func (a *Manager) Close() error { return a.m.Close() }

// Channels returns the wrapped manager.
func (a *Manager) Channels() *channel.Manager { return a.m }

// Spec converts the driver's task channels.
func Spec(s driver.TaskChannels) channel.TaskChannels {
	out := channel.TaskChannels{Graph: s.Graph, Run: s.Run, Shard: s.Shard, Job: s.Job, AllocID: s.AllocID, Task: s.Task,
		Recovered: s.Recovered}
	for _, in := range s.Inputs {
		out.Inputs = append(out.Inputs, channel.InputChannel(in))
	}
	for _, o := range s.Outputs {
		out.Outputs = append(out.Outputs, channel.OutputChannel(o))
	}
	return out
}
