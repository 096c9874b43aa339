package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/shardwise/shardwise/app"
	"github.com/shardwise/shardwise/planner/evaluate"
	"github.com/shardwise/shardwise/planner/simulate"
	"github.com/shardwise/shardwise/planner/units"
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
	vars, varFiles, histories multiFlag
	catalog, format, gantt    string
	seed                      uint64
	noise                     float64
}

func runSimulate(args []string, stdout, stderr io.Writer) error {
	var f simulateFlags
	fs := newFlagSet("simulate", simulateSynopsis, stderr)
	fs.Var(&f.vars, "var", "Set a graph variable, NAME=VALUE (repeatable).")
	fs.Var(&f.varFiles, "var-file", "Read graph variables from an HCL file (repeatable).")
	fs.Var(&f.histories, "history", "Read history records from a JSON Lines file (repeatable).")
	fs.StringVar(&f.catalog, "catalog", os.Getenv("SHARDWISE_CATALOG"), "Executor catalog HCL file that overrides or extends the default.")
	fs.StringVar(&f.format, "format", "table", "Output format: table or json.")
	fs.StringVar(&f.gantt, "gantt", "", "Write the Shardwise plan's simulated schedule as a Gantt chart: FILE.svg or FILE.html.")
	fs.Uint64Var(&f.seed, "seed", 1, "Seed of the runtime noise.")
	fs.Float64Var(&f.noise, "noise", 0, "Runtime noise: coefficient of variation of a lognormal factor with mean 1 (0: none).")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if err := checkSimulateFlags(fs.NArg(), f); err != nil {
		return err
	}
	vars, err := parseVars(f.vars)
	if err != nil {
		return err
	}
	cmp, err := app.Simulate(app.SimulateRequest{Path: fs.Arg(0), Vars: vars, VarFiles: f.varFiles, Catalog: f.catalog,
		Histories: f.histories, Sim: simulate.Options{Noise: f.noise, Seed: f.seed}})
	if err != nil {
		return err
	}
	if f.gantt != "" {
		if err := app.WriteGantt(f.gantt, cmp); err != nil {
			return err
		}
	}
	if f.format == "json" {
		return writeSimulateJSON(stdout, cmp)
	}
	return writeSimulateTable(stdout, cmp, f)
}

func checkSimulateFlags(nargs int, f simulateFlags) error {
	switch {
	case nargs != 1:
		return &usageError{msg: "simulate takes exactly one argument, a graph (.hcl) or a WfCommons trace (.json)"}
	case f.format != "table" && f.format != "json":
		return &usageError{msg: fmt.Sprintf("invalid -format %q: want table or json", f.format)}
	case f.noise < 0:
		return &usageError{msg: fmt.Sprintf("invalid -noise %g: want >= 0", f.noise)}
	case f.gantt != "" && !strings.HasSuffix(f.gantt, ".svg") && !strings.HasSuffix(f.gantt, ".html"):
		return &usageError{msg: fmt.Sprintf("invalid -gantt %q: want a file ending in .svg or .html", f.gantt)}
	}
	return nil
}

// simulateReport is the -format json document.
type simulateReport struct {
	Graph   string         `json:"graph"`
	Tasks   int            `json:"tasks"`
	Edges   int            `json:"edges"`
	Noise   float64        `json:"noise"`
	Seed    uint64         `json:"seed"`
	Bound   simulate.Bound `json:"lower_bound"`
	Methods []methodReport `json:"methods"`
}

type methodReport struct {
	Method          string                `json:"method"`
	Class           string                `json:"class,omitempty"`
	MakespanSeconds float64               `json:"makespan_seconds"`
	PlannedSeconds  float64               `json:"planned_makespan_seconds"`
	SLR             float64               `json:"slr"`
	Allocations     int                   `json:"allocations"`
	BytesMoved      int64                 `json:"bytes_moved"`
	PlanSeconds     float64               `json:"plan_seconds"`
	Classes         []simulate.ClassStats `json:"classes"`
}

func writeSimulateJSON(w io.Writer, cmp *evaluate.Comparison) error {
	r := simulateReport{Graph: cmp.Input.Name, Tasks: len(cmp.Input.Graph.Tasks), Edges: len(cmp.Input.Graph.Edges), Bound: cmp.Bound}
	for _, o := range cmp.Outcomes {
		if o == nil {
			continue
		}
		r.Methods = append(r.Methods, methodReport{
			Method: string(o.Method), Class: o.Class, MakespanSeconds: o.MakespanSeconds, PlannedSeconds: o.PlannedSeconds,
			SLR: o.SLR, Allocations: o.Allocations, BytesMoved: o.BytesMoved, PlanSeconds: o.PlanTime.Seconds(),
			Classes: o.Sim.Classes,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func writeSimulateTable(w io.Writer, cmp *evaluate.Comparison, f simulateFlags) error {
	g, b := cmp.Input.Graph, cmp.Bound
	fmt.Fprintf(w, "Graph %q: %d tasks, %d edges", cmp.Input.Name, len(g.Tasks), len(g.Edges))
	if f.noise > 0 {
		fmt.Fprintf(w, "; runtime noise %g, seed %d", f.noise, f.seed)
	}
	fmt.Fprintf(w, "\nLower bound %s (critical path %s, work/capacity %s)\n\n",
		units.FormatSeconds(b.Seconds), units.FormatSeconds(b.CriticalPathSeconds), units.FormatSeconds(b.WorkSeconds))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tCLASS\tMAKESPAN\tSLR\tALLOCATIONS\tBYTES MOVED\tPLAN TIME")
	for i, o := range cmp.Outcomes {
		if o == nil {
			fmt.Fprintf(tw, "%s\t(no class runs every task)\t\t\t\t\t\n", evaluate.Methods[i])
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%d\t%s\t%s\n", o.Method, dashIfEmpty(o.Class), units.FormatSeconds(o.MakespanSeconds),
			o.SLR, o.Allocations, units.FormatBytes(o.BytesMoved), o.PlanTime.Round(10_000))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range g.Tasks {
		if t.Split != nil {
			fmt.Fprintln(w, "\nheft runs each task whole in one allocation (no splitting, as Topcuoglu et al. define it);\nsingle-class and shardwise cut data-parallel tasks into pieces.")
			break
		}
	}
	return writeUtilisation(w, cmp)
}

// writeUtilisation prints each class's simulated utilisation per method.
func writeUtilisation(w io.Writer, cmp *evaluate.Comparison) error {
	fmt.Fprintln(w, "\nUtilisation (busy instance-seconds over instances x makespan)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "CLASS")
	for _, m := range evaluate.Methods {
		fmt.Fprintf(tw, "\t%s", strings.ToUpper(string(m)))
	}
	fmt.Fprintln(tw)
	for _, name := range usedClassNames(cmp) {
		fmt.Fprint(tw, name)
		for _, o := range cmp.Outcomes {
			fmt.Fprintf(tw, "\t%s", utilisationCell(o, name))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// usedClassNames lists the classes some method used, in first-seen order.
func usedClassNames(cmp *evaluate.Comparison) []string {
	var names []string
	seen := map[string]bool{}
	for _, o := range cmp.Outcomes {
		if o == nil {
			continue
		}
		for _, cs := range o.Sim.Classes {
			if !seen[cs.Class] {
				seen[cs.Class] = true
				names = append(names, cs.Class)
			}
		}
	}
	return names
}

func utilisationCell(o *evaluate.Outcome, class string) string {
	if o == nil {
		return "-"
	}
	for _, cs := range o.Sim.Classes {
		if cs.Class == class {
			return fmt.Sprintf("%.0f%% (%d shards)", 100*cs.Utilisation, cs.Shards)
		}
	}
	return "-"
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
