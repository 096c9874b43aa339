package driver

import (
	"os"
	"sync"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins"
)

// Serve is the plugin process (cmd/nomad-driver-shard): it serves the
// shard driver to the Nomad client that started it (plugins.Serve), the
// driver building its channel manager with factory (nil: no channels),
// until the client ends the plugin or is gone, then shuts the driver down
// and returns Shutdown's error; main then exits (1 on an error). A client
// killed with SIGKILL cannot stop its plugins, so Serve also returns once
// that client is gone (the process's parent pid changes, checked every
// parentPoll): an orphaned plugin would hold the channel port that the
// restarted client's new plugin needs; tasks live on in their executors
// and the new plugin recovers them.
func Serve(factory ChannelFactory) error {
	return serve(plugins.Serve, func(logger hclog.Logger) *Driver { return New(logger, factory) }, os.Getppid, parentPoll)
}

// parentPoll is how often the plugin checks that its client lives. A
// client restarted within that window reattaches to this plugin just
// before it exits, and fails the task it restores ("plugin is shut
// down"); seen 3 times in 16 runs of TestShardDriverRecoversAfterClientKill
// at a load average of 16-85 on 2 cores with a 1 s poll.
const parentPoll = 100 * time.Millisecond

// serve runs servePlugin in the background with a factory that builds the
// driver with newDriver, and returns when servePlugin returns or ppid no
// longer gives the parent pid it gave at the start (checked every poll),
// after shutting the driver down (Shutdown's error; nil when no driver
// was built). Returning from main ends the process, servePlugin's
// goroutine with it.
func serve(servePlugin func(plugins.PluginFactory), newDriver func(hclog.Logger) *Driver, ppid func() int, poll time.Duration) error {
	parent := ppid()
	var (
		mu sync.Mutex
		d  *Driver
	)
	served := make(chan struct{})
	go func() {
		defer close(served)
		servePlugin(func(logger hclog.Logger) interface{} {
			mu.Lock()
			defer mu.Unlock()
			d = newDriver(logger)
			return d
		})
	}()
	shutdown := func() error {
		mu.Lock()
		defer mu.Unlock()
		if d == nil {
			return nil
		}
		return d.Shutdown()
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-served:
			return shutdown()
		case <-tick.C:
			if ppid() != parent {
				return shutdown()
			}
		}
	}
}
