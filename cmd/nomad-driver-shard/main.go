// Command nomad-driver-shard is the "shard" Nomad task driver plugin
// (package driver). Put the binary in the Nomad client's plugin_dir and
// enable it with a plugin "nomad-driver-shard" { config { ... } } block;
// see docs/driver.md.
//
// The binary has three entry points:
//
//	nomad-driver-shard                  the plugin, started by the Nomad client
//	nomad-driver-shard executor JSON    a task's executor, started by the plugin
//	nomad-driver-shard version          prints the driver's version
//
// The executor entry point is the init function of Nomad's package
// drivers/shared/executor (imported through driver/proc), which serves
// the executor and exits before main runs, as in Nomad's own binary.
package main

import (
	"fmt"
	"os"

	"github.com/shardwise/shardwise/driver"
	"github.com/shardwise/shardwise/driver/channel/adapter"
)

// channelFactory builds the plugin's channel manager (package
// driver/channel, through its adapter) when the agent configures the
// plugin: the channel server on bind_addr:port, registration and
// discovery in Consul, and run keys from channel_secret.
var channelFactory driver.ChannelFactory = adapter.Factory

func main() {
	if len(os.Args) == 2 && os.Args[1] == "version" {
		fmt.Printf("nomad-driver-shard v%s\n", driver.PluginVersion)
		return
	}
	if err := driver.Serve(channelFactory); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
