package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/launcher"
)

// FeedbackRequest configures the feedback service.
type FeedbackRequest struct {
	// DB is the SQLite history store to write (created if missing).
	DB string
	// Interval is the time between stats samples of each running
	// allocation.
	Interval time.Duration
	// MetricsAddr serves Prometheus metrics at /metrics; "" serves none.
	MetricsAddr string
	// Namespace is the Nomad namespace to follow; "*" follows every one.
	Namespace string
}

// ServeFeedback checks that the agent answers, takes the metrics port,
// opens the store and runs the feedback service until ctx ends or the
// store fails, printing where it records and serves to stdout. Nothing is
// created when the agent or the port fails. A first connection to Nomad that fails
// ends it with an error naming the address (launcher.ConnectError).
func ServeFeedback(ctx context.Context, f FeedbackRequest, client *api.Client, stdout io.Writer, log hclog.Logger) error {
	if err := reachAgent(ctx, client); err != nil {
		return err // before the store: leave no new, empty store behind
	}
	var ln net.Listener // the metrics port, taken before the store is created
	if f.MetricsAddr != "" {
		var err error
		if ln, err = listen("-metrics-addr", f.MetricsAddr, "metrics"); err != nil {
			return err
		}
		defer ln.Close()
	}
	store, err := feedback.Open(ctx, f.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	var once sync.Once
	svc, err := feedback.New(feedback.Config{Client: client, Store: store, Namespace: f.Namespace,
		Interval: f.Interval, Logger: log.Named("feedback"), FailFirstConnect: true,
		OnConnect: func(uint64) {
			once.Do(func() { fmt.Fprintf(stdout, "Recording allocations from %s into %s\n", client.Address(), f.DB) })
		}})
	if err != nil {
		return err
	}
	if ln != nil {
		defer serveMetricsOn(ln, svc.Metrics().Handler(), stdout)()
	}
	if err := svc.Run(ctx); err != nil {
		var ce *feedback.ConnectError
		if errors.As(err, &ce) {
			return launcher.ConnectError(client, ce.Err)
		}
		if errors.Is(err, feedback.ErrDiskFull) {
			return fmt.Errorf("%w (free space and restart: the service resumes from its last committed event)", err)
		}
		return err
	}
	return nil
}
