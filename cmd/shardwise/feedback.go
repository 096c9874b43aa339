package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/launcher"
)

const feedbackSynopsis = `feedback [options]

  Follows Nomad's event stream and records what every allocation of a
  Shardwise job used (runtime, CPU, peak memory, IO, exit, OOM kill) into
  a SQLite history store, for 'shardwise plan -history STORE.db'. Runs
  until interrupted.

  It checks the connection to Nomad at start-up and exits 1 if the agent
  cannot be reached or refuses the token. Once connected, it reconnects
  when Nomad goes away and resumes where it stopped.

  Connection options and their environment variables are the Nomad CLI's.
  It follows every namespace ('*') unless -namespace or NOMAD_NAMESPACE
  names one.`

type feedbackFlags struct {
	db, metricsAddr string
	interval        time.Duration
}

func runFeedback(args []string, stdout, stderr io.Writer) error {
	var f feedbackFlags
	var nf nomadFlags
	fs := newFlagSet("feedback", feedbackSynopsis, stderr)
	fs.StringVar(&f.db, "history-db", "history.db", "SQLite history store to write (created if missing).")
	fs.DurationVar(&f.interval, "interval", feedback.DefaultInterval, "Time between stats samples of each running allocation.")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "127.0.0.1:9797", "Serve Prometheus metrics on this address at /metrics (empty: off).")
	nf.register(fs)
	fs.Lookup("namespace").Usage = "Nomad namespace to follow (NOMAD_NAMESPACE; default: every namespace, *)."
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return &usageError{msg: "feedback takes no arguments"}
	}
	if f.interval <= 0 {
		return &usageError{msg: fmt.Sprintf("invalid -interval %s: must be positive", f.interval)}
	}
	client, err := nf.client(fs)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveFeedback(ctx, f, client, followNamespace(fs), stdout, stderr)
}

// followNamespace is the namespace feedback follows: -namespace, else
// NOMAD_NAMESPACE, else every namespace.
func followNamespace(fs *flag.FlagSet) string {
	ns := "*"
	if v := os.Getenv("NOMAD_NAMESPACE"); v != "" {
		ns = v
	}
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "namespace" && fl.Value.String() != "" {
			ns = fl.Value.String()
		}
	})
	return ns
}

// serveFeedback opens the store, starts the metrics listener and runs the
// service until ctx ends or the store fails. A first connection to Nomad
// that fails ends it with an error naming the address (ConnectError).
func serveFeedback(ctx context.Context, f feedbackFlags, client *api.Client, namespace string, stdout, stderr io.Writer) error {
	store, err := feedback.Open(ctx, f.db)
	if err != nil {
		return err
	}
	defer store.Close()
	log := newLogger(stderr)
	var once sync.Once
	svc, err := feedback.New(feedback.Config{Client: client, Store: store, Namespace: namespace,
		Interval: f.interval, Logger: log.Named("feedback"), FailFirstConnect: true,
		OnConnect: func(uint64) {
			once.Do(func() { fmt.Fprintf(stdout, "Recording allocations from %s into %s\n", client.Address(), f.db) })
		}})
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
