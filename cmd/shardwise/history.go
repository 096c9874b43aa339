package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/shardwise/shardwise/app"
	"github.com/shardwise/shardwise/feedback"
)

const historyReportSynopsis = `history report [options] -history PATH...

  Prints the predictor's error per task signature and executor class over
  history records that carry the prediction they were sized by: median
  and 90th-percentile absolute percentage error of runtime, the rate of
  memory under-prediction (OOM kills included) and the median
  over-provisioning ratio (predicted / peak memory).`

const historyImportSynopsis = `history import -history-db STORE.db FILE.jsonl...

  Upserts the records of JSON Lines history files (such as the
  history.jsonl that 'shardwise import wfcommons' writes) into a SQLite
  history store; importing a file twice writes no duplicates.`

func runHistory(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "report":
			return runHistoryReport(args[1:], stdout, stderr)
		case "import":
			return runHistoryImport(args[1:], stdout, stderr)
		case "-h", "-help", "--help": // both subcommands' usage and options
			if err := runHistoryReport([]string{"-h"}, stdout, stderr); err != nil {
				return err
			}
			fmt.Fprintln(stderr)
			return runHistoryImport([]string{"-h"}, stdout, stderr)
		default:
			return &usageError{msg: fmt.Sprintf("unknown history subcommand %q: want report or import", args[0])}
		}
	}
	return &usageError{msg: "history needs a subcommand: report or import"}
}

func runHistoryReport(args []string, stdout, stderr io.Writer) error {
	var paths multiFlag
	fs := newFlagSet("history report", historyReportSynopsis, stderr)
	fs.Var(&paths, "history", "History to read: a SQLite store (.db) or a JSON Lines file (repeatable).")
	format := fs.String("format", "table", "Output format: table or json.")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	paths = append(paths, fs.Args()...)
	if len(paths) == 0 {
		return &usageError{msg: "history report needs -history PATH"}
	}
	if *format != "table" && *format != "json" {
		return &usageError{msg: fmt.Sprintf("invalid -format %q: want table or json", *format)}
	}
	recs, err := app.LoadHistory(paths)
	if err != nil {
		return err
	}
	rows := feedback.Report(recs)
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	if err := feedback.WriteReport(stdout, rows); err != nil {
		return err
	}
	if !anyPrediction(rows) {
		fmt.Fprintf(stderr, "No record carries the prediction it was sized by, so there is no error to report: "+
			"records of 'shardwise run -feedback' carry one; imported traces and records without a plan do not.\n")
	}
	return nil
}

// anyPrediction reports whether a row compares a prediction with a run.
func anyPrediction(rows []feedback.Accuracy) bool {
	for _, r := range rows {
		if r.RuntimeN > 0 || r.MemoryN > 0 {
			return true
		}
	}
	return false
}

func runHistoryImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("history import", historyImportSynopsis, stderr)
	db := fs.String("history-db", "", "SQLite history store to write (created if missing; required).")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *db == "" || fs.NArg() == 0 {
		return &usageError{msg: "history import needs -history-db STORE.db and at least one JSON Lines file"}
	}
	recs, err := app.LoadHistory(fs.Args())
	if err != nil {
		return err
	}
	n, err := app.ImportHistory(*db, recs)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Imported %d records into %s (%d in the store)\n", len(recs), *db, n)
	return nil
}
