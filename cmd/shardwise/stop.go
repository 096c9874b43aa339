package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/units"
)

// requestTimeout bounds the Nomad requests of status and stop.
const requestTimeout = time.Minute

const stopSynopsis = `stop [options] RUN

  Stops every Nomad job of run RUN (those whose shardwise_run meta is RUN),
  from any shell. A 'shardwise run' following RUN sees its jobs stopped
  and ends with an error. Stopped jobs stay in Nomad for inspection until
  its garbage collection; -purge removes them at once.`

func runStop(args []string, stdout, stderr io.Writer) error {
	var nf launcher.NomadFlags
	fs := newFlagSet("stop", stopSynopsis, stderr)
	purge := fs.Bool("purge", false, "Remove the jobs from Nomad instead of only stopping them.")
	nf.Register(fs)
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &usageError{msg: "stop takes exactly one argument, the run ID"}
	}
	client, err := nf.Client(fs)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	run := fs.Arg(0)
	done, err := launcher.Stop(ctx, client, run, "", *purge)
	verb := "Stopped"
	if *purge {
		verb = "Purged"
	}
	for _, id := range done {
		fmt.Fprintf(stdout, "%s %s\n", verb, id)
	}
	if err != nil {
		return err
	}
	if len(done) == 0 {
		fmt.Fprintf(stdout, "Every job of run %s was already stopped\n", run)
		return nil
	}
	fmt.Fprintf(stdout, "%s %s of run %s\n", verb, units.Count(len(done), "job"), run)
	return nil
}
