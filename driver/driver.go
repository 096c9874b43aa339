package driver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	cstats "github.com/hashicorp/nomad/client/stats"
	"github.com/hashicorp/nomad/drivers/shared/eventer"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/shared/hclspec"

	"github.com/shardwise/shardwise/driver/proc"
)

// Driver is the shard task driver; it implements drivers.DriverPlugin.
type Driver struct {
	ctx     context.Context // ends with Shutdown
	cancel  context.CancelFunc
	logger  hclog.Logger
	eventer *eventer.Eventer
	tasks   *taskStore
	factory ChannelFactory // nil: tasks with channels are refused

	mu       sync.RWMutex
	config   *Config
	ports    *base.ClientDriverConfig // agent's plugin port range; nil before SetConfig
	channels ChannelManager           // nil until SetConfig with agent config
	limits   proc.Enforcement         // whether tasks get cgroups with limits

	cadence fingerprintCadence // set before Fingerprint, then read only
}

var _ drivers.DriverPlugin = (*Driver)(nil)

// New returns a driver that builds its ChannelManager with factory once
// the agent configures it. A nil factory makes a driver that runs shards
// without channels and refuses tasks that have any.
func New(logger hclog.Logger, factory ChannelFactory) *Driver {
	ctx, cancel := context.WithCancel(context.Background())
	logger = logger.Named(PluginName)
	return &Driver{
		ctx:     ctx,
		cancel:  cancel,
		logger:  logger,
		eventer: eventer.NewEventer(ctx, logger),
		tasks:   newTaskStore(),
		factory: factory,
		config:  defaultConfig(),
		limits:  proc.Detect(defaultNoCgroups),
		cadence: defaultCadence,
	}
}

// Shutdown stops the driver's background work and closes its channel
// manager. Tasks keep running in their executors. Serve calls it when the
// plugin server stops.
func (d *Driver) Shutdown() error {
	d.cancel()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.channels == nil {
		return nil
	}
	err := d.channels.Close()
	d.channels = nil
	if err != nil {
		return fmt.Errorf("close channel manager: %w", err)
	}
	return nil
}

// PluginInfo returns the plugin's identity.
func (d *Driver) PluginInfo() (*base.PluginInfoResponse, error) { return pluginInfo, nil }

// ConfigSchema returns the plugin config schema.
func (d *Driver) ConfigSchema() (*hclspec.Spec, error) { return configSpec, nil }

// TaskConfigSchema returns the task config schema.
func (d *Driver) TaskConfigSchema() (*hclspec.Spec, error) { return taskConfigSpec, nil }

// Capabilities returns what the driver supports.
func (d *Driver) Capabilities() (*drivers.Capabilities, error) { return capabilities, nil }

// SetConfig decodes and checks the plugin config. With the client's
// driver settings (not the loader's validation calls) it also starts CPU
// accounting and replaces the channel manager.
//
// The plugin loader validates a config by dispensing the plugin and
// calling SetConfig twice in the same process, then killing it. Over gRPC
// those calls arrive with an empty, non-nil AgentConfig (plugins/base's
// server always makes one); only the client's own dispense carries
// AgentConfig.Driver (the port range). Starting a channel manager for the
// validation calls would bind the channel port twice in one process.
func (d *Driver) SetConfig(c *base.Config) error {
	cfg, err := decodeConfig(c.PluginConfig)
	if err != nil {
		return err
	}
	limits := proc.Detect(cfg.NoCgroups)
	if c.AgentConfig == nil || c.AgentConfig.Driver == nil {
		d.mu.Lock()
		d.config, d.limits = cfg, limits
		d.mu.Unlock()
		return nil
	}
	logLimits(d.logger, limits)
	// Without Init the executor reports CpuStats.TotalTicks = 0.
	if err := cstats.Init(0); err != nil {
		d.logger.Warn("CPU detection incomplete; CPU ticks may be wrong", "error", err)
	}
	// The replaced manager goes first: the new one binds the same port.
	d.mu.Lock()
	old := d.channels
	d.channels = nil
	d.mu.Unlock()
	if old != nil {
		if err := old.Close(); err != nil {
			d.logger.Warn("closing the replaced channel manager failed", "error", err)
		}
	}
	channels, err := d.newChannels(cfg)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.config, d.ports, d.channels, d.limits = cfg, c.AgentConfig.Driver, channels, limits
	d.mu.Unlock()
	return nil
}

// logLimits tells the operator, once per configured plugin, whether
// tasks are held to their allocated resources.
func logLimits(logger hclog.Logger, e proc.Enforcement) {
	if e.Enforced() {
		logger.Info("resource limits enforced: memory, CPU shares, cpuset and pids through cgroups", "cgroup_version", e.Version)
		return
	}
	logger.Warn("resource limits NOT enforced: tasks can use more memory and CPU than allocated", "reason", e.Reason)
}

// newChannels builds the channel manager, nil without a factory.
func (d *Driver) newChannels(cfg *Config) (ChannelManager, error) {
	if d.factory == nil {
		return nil, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data_dir: %w", err)
	}
	m, err := d.factory(cfg, d.logger.Named("channel"))
	if err != nil {
		return nil, fmt.Errorf("start channel manager: %w", err)
	}
	return m, nil
}

// snapshot returns the current config, port range and channel manager.
func (d *Driver) snapshot() (*Config, *base.ClientDriverConfig, ChannelManager) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.config, d.ports, d.channels
}

// enforcement returns whether and how tasks get resource limits.
func (d *Driver) enforcement() proc.Enforcement {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.limits
}

// decodeConfig decodes the msgpack plugin config, fills defaults and
// checks ranges.
func decodeConfig(raw []byte) (*Config, error) {
	cfg := defaultConfig()
	if len(raw) > 0 {
		if err := base.MsgPackDecode(raw, cfg); err != nil {
			return nil, fmt.Errorf("decode plugin config: %w", err)
		}
	}
	if cfg.BindAddr == "" {
		cfg.BindAddr = defaultBindAddr
	}
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join(os.TempDir(), "nomad-driver-shard")
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("plugin config: port %d outside 0..65535", cfg.Port)
	}
	if cfg.PidsLimit < 0 {
		return nil, fmt.Errorf("plugin config: pids_limit %d is negative", cfg.PidsLimit)
	}
	if cfg.CompressionLevel < 0 || cfg.CompressionLevel > 22 {
		return nil, fmt.Errorf("plugin config: compression_level %d outside 0..22", cfg.CompressionLevel)
	}
	if !filepath.IsAbs(cfg.DataDir) {
		return nil, fmt.Errorf("plugin config: data_dir %q is not an absolute path", cfg.DataDir)
	}
	if _, _, _, err := cfg.Durations(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Durations returns Retention, ConsumedRetention and GoneAfter parsed;
// 0 for an empty one. decodeConfig has checked them, so it fails only on
// a Config built by hand: the error names the key and its value.
func (c *Config) Durations() (retention, consumed, goneAfter time.Duration, err error) {
	out := make([]time.Duration, 3)
	for i, kv := range [][2]string{{"retention", c.Retention}, {"consumed_retention", c.ConsumedRetention}, {"gone_after", c.GoneAfter}} {
		if kv[1] == "" {
			continue
		}
		d, perr := time.ParseDuration(kv[1])
		if perr != nil || d <= 0 {
			return 0, 0, 0, fmt.Errorf("plugin config: %s %q is not a positive duration such as \"90m\"", kv[0], kv[1])
		}
		out[i] = d
	}
	if out[0] > 0 && out[1] > out[0] {
		return 0, 0, 0, fmt.Errorf("plugin config: consumed_retention %s is longer than retention %s", c.ConsumedRetention, c.Retention)
	}
	return out[0], out[1], out[2], nil
}

// defaultConfig is the config of a driver that SetConfig has not seen.
func defaultConfig() *Config {
	return &Config{
		BindAddr:         defaultBindAddr,
		Port:             defaultPort,
		CompressionLevel: defaultCompressionLevel,
		NoCgroups:        defaultNoCgroups,
		InsecureChannels: defaultInsecureChannels,
		DataDir:          filepath.Join(os.TempDir(), "nomad-driver-shard"),
	}
}
