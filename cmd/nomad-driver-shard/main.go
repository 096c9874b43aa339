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
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins"

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
	var d *driver.Driver
	plugins.Serve(func(logger hclog.Logger) interface{} {
		d = driver.New(logger, channelFactory)
		go exitWithParent(d, os.Getppid(), parentPoll)
		return d
	})
	shutdown(d)
}

// parentPoll is how often the plugin checks that its client lives. A
// client restarted within that window reattaches to this plugin just
// before it exits, and fails the task it restores ("plugin is shut
// down"); seen 3 times in 16 runs of TestShardDriverRecoversAfterClientKill
// at a load average of 16-85 on 2 cores with a 1 s poll.
const parentPoll = 100 * time.Millisecond

// exitWithParent ends the plugin once the Nomad client that started it is
// gone (its parent pid changes, checked every period). A client killed
// with SIGKILL cannot stop its plugins, and an orphaned plugin would hold
// the channel port that the restarted client's new plugin needs. Tasks
// live on in their executors; the new plugin recovers them.
func exitWithParent(d *driver.Driver, parent int, period time.Duration) {
	for os.Getppid() == parent {
		time.Sleep(period)
	}
	shutdown(d)
	os.Exit(0)
}

// shutdown closes the driver's channel manager, exiting 1 if that fails.
func shutdown(d *driver.Driver) {
	if d == nil {
		return
	}
	if err := d.Shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
