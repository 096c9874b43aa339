// Command fakegpu is a test-only Nomad device plugin (v1.6.1 SDK) that
// fingerprints a configurable number of fake NVIDIA GPUs. It lets a cluster
// on a machine without GPUs schedule jobs that ask for
//
//	device "nvidia/gpu" {
//	  count = 1
//	  constraint {
//	    attribute = "${device.attr.memory}"
//	    operator  = ">="
//	    value     = "40 GiB"
//	  }
//	}
//
// The devices are reported as vendor "nvidia", type "gpu", with the
// attributes the real nvidia plugin reports (memory, bar1, power,
// cores_clock, memory_clock, pci_bandwidth, driver_version, display_state,
// persistence_mode). Reserve hands the task NVIDIA_VISIBLE_DEVICES; nothing
// is mounted. Stats reports idle devices.
//
// The client loads it from plugin_dir with a matching agent block:
//
//	plugin "fakegpu" {
//	  config {
//	    name       = "fake-h100" # device model name
//	    count      = 2           # devices to fingerprint
//	    memory_mib = 81920       # memory per device, MiB
//	  }
//	}
//
// This file holds the plugin's identity and what it accepts; device.go
// holds the RPCs.
package main

import (
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/device"
	"github.com/hashicorp/nomad/plugins/shared/hclspec"
)

const (
	// pluginName is the name the agent reports for the plugin.
	pluginName = "fakegpu"
	// pluginVersion is the plugin's own version.
	pluginVersion = "v0.1.0"

	// vendor and deviceType make the devices match "nvidia/gpu" requests.
	vendor     = "nvidia"
	deviceType = device.DeviceTypeGPU

	// visibleDevicesEnv is the variable the nvidia runtime reads; Reserve
	// sets it to the comma-separated reserved device IDs.
	visibleDevicesEnv = "NVIDIA_VISIBLE_DEVICES"

	// driverVersion is the fake driver version reported as an attribute.
	driverVersion = "535.104.05"
)

// info describes the plugin to the agent.
var info = &base.PluginInfoResponse{
	Type:              base.PluginTypeDevice,
	PluginApiVersions: []string{device.ApiVersion010},
	PluginVersion:     pluginVersion,
	Name:              pluginName,
}

// configSpec is the plugin block's schema; every field has a default.
var configSpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"name": hclspec.NewDefault(
		hclspec.NewAttr("name", "string", false),
		hclspec.NewLiteral(`"fake-h100"`),
	),
	"count": hclspec.NewDefault(
		hclspec.NewAttr("count", "number", false),
		hclspec.NewLiteral("1"),
	),
	"memory_mib": hclspec.NewDefault(
		hclspec.NewAttr("memory_mib", "number", false),
		hclspec.NewLiteral("81920"),
	),
})

// Config is the decoded plugin block.
type Config struct {
	// Name is the device model name, e.g. "fake-h100".
	Name string `codec:"name"`
	// Count is how many devices to fingerprint (>= 0).
	Count int `codec:"count"`
	// MemoryMiB is each device's memory in MiB (> 0).
	MemoryMiB int64 `codec:"memory_mib"`
}

// defaultConfig is the configuration used before SetConfig, and when the
// loader calls SetConfig without a plugin block.
func defaultConfig() Config {
	return Config{Name: "fake-h100", Count: 1, MemoryMiB: 81920}
}
