package driver

import (
	"sync/atomic"
	"testing"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins"
)

// TestServeReturnsWhenTheClientIsGone: while the plugin is served (a
// servePlugin that never returns, as plugins.Serve under a live client),
// serve returns once the parent pid changes, with the driver shut down;
// and it returns when servePlugin does.
func TestServeReturnsWhenTheClientIsGone(t *testing.T) {
	var parent atomic.Int64
	parent.Store(100)
	built := make(chan *Driver, 1)
	block := make(chan struct{})
	defer close(block)
	forever := func(f plugins.PluginFactory) {
		built <- f(hclog.NewNullLogger()).(*Driver)
		<-block
	}
	done := make(chan error, 1)
	go func() {
		done <- serve(forever, func(l hclog.Logger) *Driver { return New(l, nil) }, func() int { return int(parent.Load()) }, time.Millisecond)
	}()
	d := <-built
	select {
	case err := <-done:
		t.Fatalf("serve returned (%v) while the client lives", err)
	case <-time.After(50 * time.Millisecond):
	}
	parent.Store(1) // the client died: the plugin is re-parented
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not return after the parent pid changed")
	}
	if d.ctx.Err() == nil {
		t.Error("the driver was not shut down")
	}

	once := func(f plugins.PluginFactory) { built <- f(hclog.NewNullLogger()).(*Driver) }
	if err := serve(once, func(l hclog.Logger) *Driver { return New(l, nil) }, func() int { return 100 }, time.Hour); err != nil {
		t.Fatalf("serve after the plugin server stopped: %v", err)
	}
	if d := <-built; d.ctx.Err() == nil {
		t.Error("the driver was not shut down after the plugin server stopped")
	}
}
