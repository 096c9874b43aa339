package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/shardwise/shardwise/app"
	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/planner/catalog"
)

const executorsSynopsis = `executors [options]

  Prints the effective executor catalog: the embedded default merged with
  the file given by -catalog.

  With -discover, builds a catalog from the Nomad cluster's nodes instead:
  one executor class per node class, node pool and shape, with its ready,
  eligible nodes as instances, one node's allocatable resources as the
  shape, its GPU models as device requests and speeds estimated from
  -history (1.0 where history has no data). Ineligible or down nodes are
  left out and reported. -format hcl writes a file -catalog accepts; the
  summary of what was found goes to stderr.`

func runExecutors(args []string, stdout, stderr io.Writer) error {
	var nf launcher.NomadFlags
	var histories multiFlag
	fs := newFlagSet("executors", executorsSynopsis, stderr)
	path := fs.String("catalog", os.Getenv("SHARDWISE_CATALOG"), "Executor catalog HCL file that overrides or extends the default (SHARDWISE_CATALOG).")
	format := fs.String("format", "table", "Output format: table or hcl.")
	discover := fs.Bool("discover", false, "Build the catalog from the Nomad cluster's nodes.")
	out := fs.String("out", "", "With -discover: write the catalog to this file instead of stdout (written whole or not at all).")
	reference := fs.String("reference", "", "With -discover: the reference class (default: cpu-heavy if discovered, else the first class by name).")
	fs.Var(&histories, "history", "With -discover: history (JSON Lines or SQLite store) to estimate speeds from (repeatable).")
	nf.Register(fs)
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return &usageError{msg: "executors takes no arguments"}
	}
	if *format != "table" && *format != "hcl" {
		return &usageError{msg: fmt.Sprintf("invalid -format %q: want table or hcl", *format)}
	}
	if *discover {
		if flagSet(fs, "catalog") {
			return &usageError{msg: "-catalog does not go with -discover: discovery reads the cluster, not a catalog (give the file it writes to plan or run with -catalog)"}
		}
		return discoverExecutors(fs, &nf, histories, *reference, *format, *out, stdout, stderr)
	}
	if *out != "" || *reference != "" || len(histories) > 0 {
		return &usageError{msg: "-out, -reference and -history go with -discover"}
	}
	if err := envCatalog(fs); err != nil {
		return err
	}
	cat, diags := catalog.Load(*path)
	if diags.HasErrors() {
		return &app.DiagnosticsError{Diags: diags} // printed once, by exitCode
	}
	printDiags(stderr, diags) // warnings
	if *format == "hcl" {
		return catalog.WriteHCL(stdout, cat)
	}
	return catalog.Format(stdout, cat)
}

// discoverExecutors runs -discover: the catalog to stdout or -out, the
// summary to stderr.
func discoverExecutors(fs *flag.FlagSet, nf *launcher.NomadFlags, histories []string, reference, format, out string, stdout, stderr io.Writer) error {
	client, err := nf.Client(fs)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	rep, err := app.DiscoverCatalog(ctx, client, histories, reference)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if format == "hcl" {
		err = rep.WriteHCL(&b)
	} else {
		err = catalog.Format(&b, rep.Catalog)
	}
	if err != nil {
		return err
	}
	if out != "" {
		if err := app.WriteFile(out, b.Bytes()); err != nil {
			return fmt.Errorf("write catalog: %w", err)
		}
	} else if _, err := stdout.Write(b.Bytes()); err != nil {
		return err
	}
	return rep.WriteSummary(stderr)
}
