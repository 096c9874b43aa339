package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/units"
)

// requestTimeout bounds the Nomad requests of status and stop.
const requestTimeout = time.Minute

// parseRunCommand parses the flags of a command that acts on one run in
// Nomad (fs's own and the Nomad connection flags) and its one argument,
// the run ID, and returns a Nomad client, the run and the namespace the
// flags name (-namespace, else NOMAD_NAMESPACE; "" for Nomad's default),
// so that errors name the namespace looked in. The client is nil after
// -h (err nil) or an error.
func parseRunCommand(fs *flag.FlagSet, args []string) (client *api.Client, run, ns string, err error) {
	var nf launcher.NomadFlags
	nf.Register(fs)
	if help, err := parseFlags(fs, args); help || err != nil {
		return nil, "", "", err
	}
	if fs.NArg() != 1 {
		return nil, "", "", &usageError{msg: fs.Name() + " takes exactly one argument, the run ID"}
	}
	if err := checkRunID("RUN", fs.Arg(0)); err != nil {
		return nil, "", "", err
	}
	if client, err = nf.Client(fs); err != nil {
		return nil, "", "", err
	}
	return client, fs.Arg(0), nf.Namespace(), nil
}

const stopSynopsis = `stop [options] RUN

  Stops run RUN from any shell: marks its state stored in Nomad stopped,
  so that the launcher driving it (if any) stops and no launcher resumes
  it, and stops every Nomad job of the run (shardwise_run meta RUN) that
  has not ended; completed jobs are left as they are. Stopped jobs stay
  in Nomad for inspection until its garbage collection; -purge removes
  the run's jobs and its stored state at once.`

func runStop(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("stop", stopSynopsis, stderr)
	purge := fs.Bool("purge", false, "Remove the run's jobs and stored state from Nomad instead of only stopping them.")
	client, run, ns, err := parseRunCommand(fs, args)
	if client == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	res, err := launcher.Stop(ctx, client, run, ns, *purge)
	if res == nil {
		return err
	}
	verb := "Stopped"
	if *purge {
		verb = "Purged"
	}
	for _, id := range res.Jobs {
		fmt.Fprintf(stdout, "%s %s\n", verb, id)
	}
	if res.State != nil {
		fmt.Fprintf(stdout, "Run %s is %s in Nomad's stored state\n", run, res.State.Status)
	}
	if len(res.Variables) > 0 {
		fmt.Fprintf(stdout, "Purged the stored state of run %s (%s)\n", run, units.Count(len(res.Variables), "variable"))
	}
	if err != nil {
		return err
	}
	if len(res.Jobs) == 0 {
		fmt.Fprintf(stdout, "No job of run %s was left to stop\n", run)
		return nil
	}
	fmt.Fprintf(stdout, "%s %s of run %s\n", verb, units.Count(len(res.Jobs), "job"), run)
	return nil
}
