package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/shardwise/shardwise/app"
)

const uiSynopsis = `ui [options] RUN

  Serves the live run page of run RUN, whose state is stored in Nomad, at
  http://ADDR/ (-addr): the plan's graph with each shard coloured by state
  (pending, re-planned, submitted, placed, running, complete, failed,
  stopped, skipped), a timeline of actual against predicted times that
  grows as the run goes, each class's utilisation, and a link per
  allocation to Nomad's UI. The page follows the run from its stored
  state, its jobs and allocations and Nomad's event stream, without
  driving it: whichever launcher drives the run (run, run -detach, run
  -resume) is left alone. After the run ends the page stays up until
  Ctrl-C. /api/run serves the run as JSON. See docs/ui.md.

  Connection options and their environment variables are the Nomad CLI's.`

func runUI(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ui", uiSynopsis, stderr)
	addr := fs.String("addr", app.DefaultUIAddr, "Address (host:port) to serve the page on.")
	client, run, ns, err := parseRunCommand(fs, args)
	if client == nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return app.UI(ctx, app.UIRequest{Run: run, Namespace: ns, Addr: *addr}, client, stdout, newLogger(stderr))
}
