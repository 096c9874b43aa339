package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/shardwise/shardwise/app"
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

func runFeedback(args []string, stdout, stderr io.Writer) error {
	var f app.FeedbackRequest
	var nf launcher.NomadFlags
	fs := newFlagSet("feedback", feedbackSynopsis, stderr)
	fs.StringVar(&f.DB, "history-db", "history.db", "SQLite history store to write (created if missing).")
	fs.DurationVar(&f.Interval, "interval", feedback.DefaultInterval, "Time between stats samples of each running allocation.")
	fs.StringVar(&f.MetricsAddr, "metrics-addr", "127.0.0.1:9797", "Serve Prometheus metrics on this address at /metrics (empty: off).")
	nf.Register(fs)
	fs.Lookup("namespace").Usage = "Nomad namespace to follow (NOMAD_NAMESPACE; default: every namespace, *)."
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return &usageError{msg: "feedback takes no arguments"}
	}
	if f.Interval <= 0 {
		return &usageError{msg: fmt.Sprintf("invalid -interval %s: must be positive", f.Interval)}
	}
	client, err := nf.Client(fs)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f.Namespace = followNamespace(fs)
	return app.ServeFeedback(ctx, f, client, stdout, newLogger(stderr))
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
