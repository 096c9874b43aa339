package main

import (
	"context"
	"io"

	"github.com/shardwise/shardwise/launcher"
)

const statusSynopsis = `status [options] RUN

  Shows the Nomad jobs of run RUN (those whose shardwise_run meta is RUN),
  from any shell: each job's shards, class, state, allocations, nodes and
  runtime. Shards not yet submitted by their run are not in Nomad and not
  listed. Use -namespace '*' to look in every namespace.`

func runStatus(args []string, stdout, stderr io.Writer) error {
	var nf launcher.NomadFlags
	fs := newFlagSet("status", statusSynopsis, stderr)
	nf.Register(fs)
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &usageError{msg: "status takes exactly one argument, the run ID"}
	}
	client, err := nf.Client(fs)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	st, err := launcher.Status(ctx, client, fs.Arg(0), "")
	if err != nil {
		return err
	}
	return st.Write(stdout)
}
