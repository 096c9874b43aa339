package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/feedback"
)

const feedbackSynopsis = `feedback [options]

  Follows Nomad's event stream and records what every allocation of a
  Shardwise job used (runtime, CPU, peak memory, IO, exit, OOM kill) into
  a SQLite history store, for 'shardwise plan -history STORE.db'. Runs
  until interrupted; reconnects when Nomad goes away and resumes where it
  stopped. Nomad's address and token come from -address or NOMAD_ADDR and
  NOMAD_TOKEN.`

type feedbackFlags struct {
	address, namespace, db, metricsAddr string
	interval                            time.Duration
}

func runFeedback(args []string, stdout, stderr io.Writer) error {
	var f feedbackFlags
	fs := newFlagSet("feedback", feedbackSynopsis, stderr)
	fs.StringVar(&f.address, "address", "", "Nomad HTTP API address (default: NOMAD_ADDR, else http://127.0.0.1:4646).")
	fs.StringVar(&f.namespace, "namespace", "*", "Nomad namespace to follow (* for all).")
	fs.StringVar(&f.db, "history-db", "history.db", "SQLite history store to write (created if missing).")
	fs.DurationVar(&f.interval, "interval", feedback.DefaultInterval, "Time between stats samples of each running allocation.")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "127.0.0.1:9797", "Serve Prometheus metrics on this address at /metrics (empty: off).")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return &usageError{msg: "feedback takes no arguments"}
	}
	if f.interval <= 0 {
		return &usageError{msg: fmt.Sprintf("invalid -interval %s: must be positive", f.interval)}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveFeedback(ctx, f, stdout, stderr)
}

// serveFeedback opens the store, starts the metrics listener and runs the
// service until ctx ends or the store fails.
func serveFeedback(ctx context.Context, f feedbackFlags, stdout, stderr io.Writer) error {
	cfg := api.DefaultConfig()
	if f.address != "" {
		cfg.Address = f.address
	}
	client, err := api.NewClient(cfg)
	if err != nil {
		return fmt.Errorf("nomad client: %w", err)
	}
	store, err := feedback.Open(ctx, f.db)
	if err != nil {
		return err
	}
	defer store.Close()
	log := newLogger(stderr)
	svc, err := feedback.New(feedback.Config{Client: client, Store: store, Namespace: f.namespace,
		Interval: f.interval, Logger: log.Named("feedback")})
	if err != nil {
		return err
	}
	if f.metricsAddr != "" {
		ln, err := net.Listen("tcp", f.metricsAddr)
		if err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", svc.Metrics().Handler())
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(stdout, "Metrics on http://%s/metrics\n", ln.Addr())
	}
	fmt.Fprintf(stdout, "Recording allocations from %s into %s\n", cfg.Address, f.db)
	if err := svc.Run(ctx); err != nil {
		if errors.Is(err, feedback.ErrDiskFull) {
			return fmt.Errorf("%w (free space and restart: the service resumes from its last committed event)", err)
		}
		return err
	}
	return nil
}
