// Command shardwise plans a task graph onto heterogeneous executor classes,
// emits the Nomad jobs that run it, runs them, and learns from the runs.
//
//	shardwise plan [options] GRAPH.hcl
//	shardwise run [options] GRAPH.hcl
//	shardwise run [options] -resume RUN
//	shardwise status RUN
//	shardwise list
//	shardwise stop RUN
//	shardwise ui RUN
//	shardwise feedback [options]
//	shardwise history report|import [options]
//	shardwise simulate [options] GRAPH.hcl|TRACE.json
//	shardwise executors [options]
//	shardwise import wfcommons -out DIR TRACE.json
//	shardwise version (or -v, -version)
//
// Flags follow the Nomad CLI's single-dash style. Exit status is 0 on
// success, 1 on an error in the user's input or a failed operation, and 2
// on a usage error.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/shardwise/shardwise/app"
	"github.com/shardwise/shardwise/launcher"
)

// Version is the Shardwise release, set with -ldflags at release time.
var Version = "0.1.0-dev"

// usageError marks an error in how the command was invoked (exit 2).
// printed is set when the message was already written (with the usage),
// so main does not print it again.
type usageError struct {
	msg     string
	printed bool
}

func (e *usageError) Error() string { return e.msg }

type command struct {
	name, synopsis string
	run            func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"plan", "Predict, decompose and place a task graph; emit Nomad jobs", runPlan},
		{"executors", "Print the effective executor catalog", runExecutors},
		{"import", "Import a workflow trace as a graph plus history (wfcommons)", runImport},
		{"run", "Plan a graph and run its shards on Nomad in dependency order", runRun},
		{"status", "Show a run by its ID: every shard of its plan, and who drives it", runStatus},
		{"list", "List the runs stored in Nomad", runList},
		{"ui", "Serve the live run page of a run stored in Nomad", runUI},
		{"stop", "Stop a run by its ID: its stored state and its jobs that have not ended", runStop},
		{"feedback", "Record what Shardwise allocations used on Nomad into a history store", runFeedback},
		{"history", "Report prediction error or import records into a history store", runHistory},
		{"simulate", "Simulate single-class, HEFT and Shardwise plans of a graph or trace", runSimulate},
		{"version", "Print the Shardwise version", func(_ []string, out, _ io.Writer) error {
			_, err := fmt.Fprintf(out, "Shardwise v%s\n", Version)
			return err
		}},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and maps its error to an exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 2 && args[0] == "help" {
		args = []string{args[1], "-h"} // as the Nomad CLI: nomad help job = nomad job -h
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "-v" || args[0] == "-version" || args[0] == "--version" {
		args = []string{"version"} // as the Nomad CLI: nomad -v, nomad -version
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		routeStdLog(stderr)
		err := c.run(args[1:], stdout, stderr)
		return exitCode(err, stderr)
	}
	fmt.Fprintf(stderr, "Error: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	var de *app.DiagnosticsError
	var le *launcher.UsageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		if !ue.printed {
			fmt.Fprintf(stderr, "Error: %s\n", ue.msg)
		}
		return 2
	case errors.As(err, &le):
		fmt.Fprintf(stderr, "Error: %s\n", le.Msg)
		return 2
	case errors.As(err, &de):
		printDiags(stderr, de.Diags)
		return 1
	default:
		fmt.Fprintf(stderr, "Error: %s\n", err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: shardwise <command> [options] [args]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "    %-10s %s\n", c.name, c.synopsis)
	}
	fmt.Fprintln(w, "\nRun 'shardwise <command> -h' for a command's options.")
}
