package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/app"
	"github.com/shardwise/shardwise/planner/simulate"
)

const simulateSynopsis = `simulate [options] GRAPH.hcl|TRACE.json

  Plans the graph with three methods (the best single executor class,
  HEFT with one task per allocation, and Shardwise; single-class and
  Shardwise cut data-parallel tasks into pieces, HEFT runs them whole), plays each plan on the
  catalog's classes with a discrete-event simulator, and prints each
  method's makespan, SLR, allocations, bytes moved and utilisation per
  class against the lower bound. A .json argument is a WfCommons trace,
  imported in memory: its tasks take their recorded runtimes and its own
  history trains the predictor. See docs/simulator.md and
  docs/evaluation.md.`

type simulateFlags struct {
	graphFlags
	format, gantt string
	seed          uint64
	noise         float64
}

func runSimulate(args []string, stdout, stderr io.Writer) error {
	var f simulateFlags
	fs := newFlagSet("simulate", simulateSynopsis, stderr)
	f.graphFlags.register(fs)
	fs.StringVar(&f.format, "format", "table", "Output format: table or json.")
	fs.StringVar(&f.gantt, "gantt", "", "Write the Shardwise plan's simulated schedule as a Gantt chart: FILE.svg or FILE.html.")
	fs.Uint64Var(&f.seed, "seed", 1, "Seed of the runtime noise.")
	fs.Float64Var(&f.noise, "noise", 0, "Runtime noise: coefficient of variation of a lognormal factor with mean 1 (0: none).")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if err := checkSimulateFlags(fs.Args(), f); err != nil {
		return err
	}
	if err := envCatalog(fs); err != nil {
		return err
	}
	vars, err := parseVars(f.vars)
	if err != nil {
		return err
	}
	cmp, err := app.Simulate(app.SimulateRequest{Path: fs.Arg(0), Vars: vars, VarFiles: f.varFiles, Catalog: f.catalog,
		Histories: f.histories, Sim: simulate.Options{Noise: f.noise, Seed: f.seed},
		Warn: func(d hcl.Diagnostics) { printDiags(stderr, d) }})
	if err != nil {
		return err
	}
	if f.gantt != "" {
		if err := app.WriteGantt(f.gantt, cmp); err != nil {
			return err
		}
	}
	return buffered(stdout, func(w io.Writer) error {
		if f.format == "json" {
			return cmp.WriteJSON(w)
		}
		return cmp.WriteTable(w, cmp.Sim)
	})
}

func checkSimulateFlags(args []string, f simulateFlags) error {
	switch {
	case len(args) != 1:
		return &usageError{msg: "simulate takes exactly one argument, a graph (.hcl) or a WfCommons trace (.json)"}
	case f.format != "table" && f.format != "json":
		return &usageError{msg: fmt.Sprintf("invalid -format %q: want table or json", f.format)}
	case !(f.noise >= 0) || math.IsInf(f.noise*f.noise, 0):
		// The lognormal's sigma² is ln(1 + noise²): noise² must be finite
		// (a larger -noise made the simulator run forever on NaN times).
		return &usageError{msg: fmt.Sprintf("invalid -noise %g: want a coefficient of variation >= 0 whose square is finite (below about 1.3e154)", f.noise)}
	case f.gantt != "" && !strings.HasSuffix(f.gantt, ".svg") && !strings.HasSuffix(f.gantt, ".html"):
		return &usageError{msg: fmt.Sprintf("invalid -gantt %q: want a file ending in .svg or .html", f.gantt)}
	case (len(f.vars) > 0 || len(f.varFiles) > 0) && strings.EqualFold(filepath.Ext(args[0]), ".json"):
		// app.Simulate reads a .json argument as a trace, which has no
		// variables to set: the values would be dropped without a word.
		return &usageError{msg: fmt.Sprintf("-var and -var-file set a graph file's variables; %s is a WfCommons trace, which has none", args[0])}
	}
	return nil
}
