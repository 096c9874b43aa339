package driver

import (
	"fmt"
	"os"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins"
)

// Serve is the plugin process (cmd/nomad-driver-shard): it serves the
// shard driver to the Nomad client that started it (plugins.Serve), the
// driver building its channel manager with factory (nil: no channels),
// until the client ends the plugin, then shuts the driver down and
// returns Shutdown's error. A client killed with SIGKILL cannot stop its
// plugins, so Serve also ends the process itself once that client is gone
// (its parent pid changes, checked every parentPoll): it shuts the driver
// down and exits 0, or prints Shutdown's error to stderr and exits 1. An
// orphaned plugin would hold the channel port that the restarted client's
// new plugin needs; tasks live on in their executors and the new plugin
// recovers them.
func Serve(factory ChannelFactory) error {
	var d *Driver
	plugins.Serve(func(logger hclog.Logger) interface{} {
		d = New(logger, factory)
		go d.exitWithParent(os.Getppid(), parentPoll)
		return d
	})
	if d == nil {
		return nil
	}
	return d.Shutdown()
}

// parentPoll is how often the plugin checks that its client lives. A
// client restarted within that window reattaches to this plugin just
// before it exits, and fails the task it restores ("plugin is shut
// down"); seen 3 times in 16 runs of TestShardDriverRecoversAfterClientKill
// at a load average of 16-85 on 2 cores with a 1 s poll.
const parentPoll = 100 * time.Millisecond

// exitWithParent ends the process once its parent pid is no longer
// parent (checked every period), after shutting d down (Serve).
func (d *Driver) exitWithParent(parent int, period time.Duration) {
	for os.Getppid() == parent {
		time.Sleep(period)
	}
	if err := d.Shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}
