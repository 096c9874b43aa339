package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/shardwise/shardwise/launcher"
)

const statusSynopsis = `status [options] RUN

  Shows run RUN from Nomad alone, from any shell. For a run whose state is
  stored in Nomad: whether it is complete, failed, stopped, driven by a
  launcher (which one) or left with no launcher, and every shard of its
  plan (complete, running, queued, failed, stopped or not submitted) with
  its predicted and actual runtime. Exits 1 when the run is incomplete and
  no launcher drives it (resumable), or ended stopped or failed. For a run without stored state, the Nomad jobs
  whose shardwise_run meta is RUN. Use -namespace '*' to look for jobs in
  every namespace. -format json writes the same as one JSON document
  (launcher.StatusDoc).`

func runStatus(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status", statusSynopsis, stderr)
	format := fs.String("format", "table", "Output format: table or json.")
	client, run, ns, err := parseRunCommand(fs, args)
	if client == nil {
		return err
	}
	if *format != "table" && *format != "json" {
		return &usageError{msg: fmt.Sprintf("invalid -format %q: want table or json", *format)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	st, err := launcher.Status(ctx, client, run, ns)
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st.Doc(time.Now())); err != nil {
			return err
		}
	} else if err := st.Write(stdout); err != nil {
		return err
	}
	if st.Incomplete() && !st.Driven(time.Now()) {
		if st.Stored != nil && st.Stored.Status.Ended() {
			// Stopped or failed: -resume refuses an ended run, so do not
			// suggest it.
			return fmt.Errorf("run %s ended before completing (%s); start it again as a new run", run, st.Stored.Outcome())
		}
		return fmt.Errorf("run %s is incomplete and no launcher drives it; continue it with 'shardwise run -resume %s'", run, run)
	}
	return nil
}

const listSynopsis = `list [options]

  Lists the runs whose state is stored in Nomad: ID, graph, namespace,
  status (running, complete, failed, stopped, or orphaned: running with no
  launcher), the launcher driving it, shards done, and when it was
  created and last written. -namespace '*' lists every namespace's runs.`

func runList(args []string, stdout, stderr io.Writer) error {
	var nf launcher.NomadFlags
	fs := newFlagSet("list", listSynopsis, stderr)
	nf.Register(fs)
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return &usageError{msg: "list takes no arguments"}
	}
	client, err := nf.Client(fs)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	runs, err := launcher.List(ctx, client, "")
	if err != nil {
		return err
	}
	return launcher.WriteList(stdout, runs, time.Now())
}
