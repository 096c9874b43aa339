package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	log "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/device"
	"github.com/hashicorp/nomad/plugins/shared/hclspec"
	"github.com/hashicorp/nomad/plugins/shared/structs"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func main() {
	plugins.Serve(func(l log.Logger) interface{} { return newFakeGPU(l) })
}

// fakeGPU implements device.DevicePlugin with a fixed set of fake GPUs.
type fakeGPU struct {
	logger log.Logger

	mu  sync.RWMutex
	cfg Config
}

var _ device.DevicePlugin = (*fakeGPU)(nil)

func newFakeGPU(l log.Logger) *fakeGPU {
	return &fakeGPU{logger: l.Named(pluginName), cfg: defaultConfig()}
}

// PluginInfo returns the plugin's identity.
func (g *fakeGPU) PluginInfo() (*base.PluginInfoResponse, error) {
	return info, nil
}

// ConfigSchema returns the plugin block's schema.
func (g *fakeGPU) ConfigSchema() (*hclspec.Spec, error) {
	return configSpec, nil
}

// SetConfig decodes and validates the plugin block. An empty block (the
// loader probing the plugin) keeps the defaults.
func (g *fakeGPU) SetConfig(c *base.Config) error {
	cfg := defaultConfig()
	if c != nil && len(c.PluginConfig) > 0 {
		if err := base.MsgPackDecode(c.PluginConfig, &cfg); err != nil {
			return fmt.Errorf("fakegpu: decode config: %w", err)
		}
	}
	if err := validate(cfg); err != nil {
		return fmt.Errorf("fakegpu: %w", err)
	}
	g.mu.Lock()
	g.cfg = cfg
	g.mu.Unlock()
	g.logger.Info("configured", "name", cfg.Name, "count", cfg.Count, "memory_mib", cfg.MemoryMiB)
	return nil
}

func validate(c Config) error {
	switch {
	case c.Name == "":
		return fmt.Errorf("name must not be empty")
	case c.Count < 0:
		return fmt.Errorf("count %d must not be negative", c.Count)
	case c.MemoryMiB <= 0:
		return fmt.Errorf("memory_mib %d must be positive", c.MemoryMiB)
	}
	return nil
}

func (g *fakeGPU) config() Config {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.cfg
}

// deviceID is the stable ID of the i-th fake device: the same name and
// index give the same ID across agent restarts, as a real GPU's UUID does.
func deviceID(name string, i int) string {
	return fmt.Sprintf("GPU-%s-%d", name, i)
}

// group builds the device group the plugin fingerprints.
func group(c Config) *device.DeviceGroup {
	devs := make([]*device.Device, c.Count)
	for i := range devs {
		devs[i] = &device.Device{
			ID:         deviceID(c.Name, i),
			Healthy:    true,
			HwLocality: &device.DeviceLocality{PciBusID: fmt.Sprintf("00000000:%02X:00.0", 0x10+i)},
		}
	}
	return &device.DeviceGroup{
		Vendor:  vendor,
		Type:    deviceType,
		Name:    c.Name,
		Devices: devs,
		Attributes: map[string]*structs.Attribute{
			"memory":           structs.NewIntAttribute(c.MemoryMiB, structs.UnitMiB),
			"bar1":             structs.NewIntAttribute(c.MemoryMiB, structs.UnitMiB),
			"power":            structs.NewIntAttribute(700, structs.UnitW),
			"cores_clock":      structs.NewIntAttribute(1980, structs.UnitMHz),
			"memory_clock":     structs.NewIntAttribute(2619, structs.UnitMHz),
			"pci_bandwidth":    structs.NewIntAttribute(63015, structs.UnitMBPerS),
			"driver_version":   structs.NewStringAttribute(driverVersion),
			"display_state":    structs.NewStringAttribute("Disabled"),
			"persistence_mode": structs.NewStringAttribute("Enabled"),
		},
	}
}

// Fingerprint sends the fake devices once and keeps the stream open until
// ctx ends: the devices never change.
func (g *fakeGPU) Fingerprint(ctx context.Context) (<-chan *device.FingerprintResponse, error) {
	out := make(chan *device.FingerprintResponse, 1)
	out <- device.NewFingerprint(group(g.config()))
	go func() {
		<-ctx.Done()
		close(out)
	}()
	return out, nil
}

// Reserve checks that every ID is a fake device and returns the
// environment a task on them sees.
func (g *fakeGPU) Reserve(ids []string) (*device.ContainerReservation, error) {
	if len(ids) == 0 {
		return &device.ContainerReservation{}, nil
	}
	known := make(map[string]bool)
	for _, d := range group(g.config()).Devices {
		known[d.ID] = true
	}
	for _, id := range ids {
		if !known[id] {
			return nil, status.Errorf(codes.InvalidArgument, "unknown device %q", id)
		}
	}
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	return &device.ContainerReservation{
		Envs: map[string]string{visibleDevicesEnv: strings.Join(sorted, ",")},
	}, nil
}

// Stats streams idle statistics for every device each interval until ctx
// ends.
func (g *fakeGPU) Stats(ctx context.Context, interval time.Duration) (<-chan *device.StatsResponse, error) {
	if interval <= 0 {
		return nil, status.Errorf(codes.InvalidArgument, "stats interval %s must be positive", interval)
	}
	out := make(chan *device.StatsResponse)
	go func() {
		defer close(out)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case out <- &device.StatsResponse{Groups: []*device.DeviceGroupStats{groupStats(g.config(), time.Now())}}:
			case <-ctx.Done():
				return
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// groupStats reports every device idle: no memory used, 0% utilisation.
func groupStats(c Config, now time.Time) *device.DeviceGroupStats {
	s := &device.DeviceGroupStats{
		Vendor:        vendor,
		Type:          deviceType,
		Name:          c.Name,
		InstanceStats: make(map[string]*device.DeviceStats, c.Count),
	}
	for i := 0; i < c.Count; i++ {
		used := &structs.StatValue{
			IntNumeratorVal:   int64Ptr(0),
			IntDenominatorVal: int64Ptr(c.MemoryMiB),
			Unit:              structs.UnitMiB,
			Desc:              "Used memory",
		}
		s.InstanceStats[deviceID(c.Name, i)] = &device.DeviceStats{
			Summary: used,
			Stats: &structs.StatObject{Attributes: map[string]*structs.StatValue{
				"Used memory":     used,
				"GPU utilization": {IntNumeratorVal: int64Ptr(0), Unit: "%", Desc: "GPU utilization"},
				"Temperature":     {IntNumeratorVal: int64Ptr(30), Unit: "C", Desc: "Temperature"},
			}},
			Timestamp: now,
		}
	}
	return s
}

func int64Ptr(v int64) *int64 { return &v }
