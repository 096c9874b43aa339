package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/shardwise/shardwise/app"
	"github.com/shardwise/shardwise/translator/wfcommons"
)

const importSynopsis = `import wfcommons [options] -out DIR TRACE.json

  Imports a WfCommons (WfFormat 1.4 or 1.5) workflow trace: writes the task
  graph as DIR/graph.hcl and each executed task's measurements as history
  records in DIR/history.jsonl, for 'shardwise plan -history'. With
  -history-db the same records also go into a SQLite history store, the one
  'shardwise feedback' writes.

  With -replay each task's command emulates its recorded run wherever Nomad
  places it: it takes its recorded runtime (times -time-scale) divided by
  the speed of its node's class for the task's profile, from the catalog
  (-catalog), read when the task starts. See docs/replay.md.`

func runImport(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "wfcommons" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			return runImport([]string{"wfcommons", "-h"}, stdout, stderr) // the one format's usage and options
		}
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			return &usageError{msg: fmt.Sprintf("unknown import format %q: want wfcommons (shardwise import wfcommons -out DIR TRACE.json)", args[0])}
		}
		return &usageError{msg: "import needs a format: shardwise import wfcommons -out DIR TRACE.json"}
	}
	fs := newFlagSet("import wfcommons", importSynopsis, stderr)
	out := fs.String("out", "", "Folder to write graph.hcl and history.jsonl into (required).")
	scale := fs.Float64("time-scale", 1.0, "Scale every time written by this factor: the tasks' commands, runtime hints and history records.")
	db := fs.String("history-db", "", "Also write the records into this SQLite history store (created if missing).")
	replay := fs.Bool("replay", false, "Tasks emulate their recorded runtime divided by their node class's speed (needs recorded runtimes).")
	work := fs.String("replay-work", wfcommons.WorkSleep, "With -replay, what a task does for its time: sleep, cpu (keep a core busy) or write (write its outputs, sized as recorded times -time-scale, then sleep).")
	catPath := fs.String("catalog", os.Getenv("SHARDWISE_CATALOG"), "With -replay, the executor catalog HCL file (over the default) whose speeds the tasks emulate (SHARDWISE_CATALOG).")
	if help, err := parseFlags(fs, args[1:]); help || err != nil {
		return err
	}
	if fs.NArg() != 1 || *out == "" {
		return &usageError{msg: "import wfcommons needs -out DIR and exactly one trace file"}
	}
	if !(*scale > 0) || math.IsInf(*scale, 0) {
		return &usageError{msg: fmt.Sprintf("invalid -time-scale %v: must be positive and finite", *scale)}
	}
	if err := checkReplayFlags(fs, *replay, *work); err != nil {
		return err
	}
	if *replay {
		if err := envCatalog(fs); err != nil {
			return err
		}
	}
	res, err := app.Import(app.ImportRequest{Trace: fs.Arg(0), Out: *out, DB: *db, TimeScale: *scale, Replay: *replay, Work: *work, Catalog: *catPath})
	if err != nil {
		return err
	}
	log := newLogger(stderr)
	for _, w := range res.Warnings {
		log.Warn(w, "trace", fs.Arg(0))
	}
	fmt.Fprintf(stdout, "Imported %s (%s, schema %s): %d tasks, %d edges, %d history records into %s\n",
		fs.Arg(0), res.Graph.Name, res.Schema, len(res.Graph.Tasks), len(res.Graph.Edges), len(res.Records), *out)
	return nil
}

// checkReplayFlags rejects a -replay-work other than sleep, cpu or write,
// and -replay-work or -catalog without -replay, which would be ignored.
func checkReplayFlags(fs *flag.FlagSet, replay bool, work string) error {
	switch work {
	case wfcommons.WorkSleep, wfcommons.WorkCPU, wfcommons.WorkWrite:
	default:
		return &usageError{msg: fmt.Sprintf("invalid -replay-work %q: want %s, %s or %s",
			work, wfcommons.WorkSleep, wfcommons.WorkCPU, wfcommons.WorkWrite)}
	}
	for _, name := range []string{"replay-work", "catalog"} {
		if !replay && flagSet(fs, name) {
			return &usageError{msg: fmt.Sprintf("-%s applies to -replay only", name)}
		}
	}
	return nil
}
