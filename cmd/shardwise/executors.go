package main

import (
	"fmt"
	"io"
	"os"

	"github.com/shardwise/shardwise/app"
	"github.com/shardwise/shardwise/planner/catalog"
)

const executorsSynopsis = `executors [options]

  Prints the effective executor catalog: the embedded default merged with
  the file given by -catalog.`

func runExecutors(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("executors", executorsSynopsis, stderr)
	path := fs.String("catalog", os.Getenv("SHARDWISE_CATALOG"), "Executor catalog HCL file that overrides or extends the default.")
	format := fs.String("format", "table", "Output format: table or hcl.")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return &usageError{msg: "executors takes no arguments"}
	}
	cat, diags := catalog.Load(*path)
	printDiags(stderr, diags) // warnings too
	if diags.HasErrors() {
		return &app.DiagnosticsError{Diags: diags}
	}
	switch *format {
	case "table":
		return catalog.Format(stdout, cat)
	case "hcl":
		return catalog.WriteHCL(stdout, cat)
	default:
		return &usageError{msg: fmt.Sprintf("invalid -format %q: want table or hcl", *format)}
	}
}
