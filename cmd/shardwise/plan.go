package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"

	"github.com/shardwise/shardwise/app"
	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner/plan"
)

const planSynopsis = `plan [options] GRAPH.hcl

  Predicts what each task of GRAPH needs on each executor class, cuts the
  graph into shards, places each shard on a class and prints the plan.
  With -out it also writes one Nomad job per shard as NAME.nomad.hcl (what
  'nomad job run' takes); -out-json adds NAME.json (the /v1/jobs payload).`

type planFlags struct {
	graphFlags
	run, format, dotPath, out, driver string
	// outJSON is -out-json: write NAME.json beside NAME.nomad.hcl.
	outJSON bool
	// method is -method ("shardwise", "heft", "single[:CLASS]");
	// noFusion and noBatch switch Shardwise's fusion and batching off.
	method            string
	noFusion, noBatch bool
	// noGuard switches the robust guard off (planner.Options.NoGuard).
	noGuard bool
}

func runPlan(args []string, stdout, stderr io.Writer) error {
	var f planFlags
	fs := newFlagSet("plan", planSynopsis, stderr)
	addPlanInputFlags(fs, &f)
	fs.StringVar(&f.format, "format", "table", "Output format: table or json.")
	fs.StringVar(&f.dotPath, "dot", "", "Write the graph coloured by executor class as Graphviz DOT to this file.")
	fs.StringVar(&f.out, "out", "", "Write one Nomad job per shard (NAME.nomad.hcl) into this folder, all or nothing.")
	fs.BoolVar(&f.outJSON, "out-json", false, "With -out, also write each job as NAME.json (the /v1/jobs payload, for the HTTP API or 'nomad job run -json').")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &usageError{msg: "plan takes exactly one argument, the graph file"}
	}
	if f.format != "table" && f.format != "json" {
		return &usageError{msg: fmt.Sprintf("invalid -format %q: want table or json", f.format)}
	}
	if f.outJSON && f.out == "" {
		return &usageError{msg: "-out-json needs -out DIR"}
	}
	if err := checkDriver(f.driver); err != nil {
		return err
	}
	if err := envCatalog(fs); err != nil {
		return err
	}
	vars, err := parseVars(f.vars)
	if err != nil {
		return err
	}
	req, err := f.request(fs.Arg(0), vars)
	if err != nil {
		return err
	}
	log := newLogger(stderr)
	req.Warn = func(d hcl.Diagnostics) { printDiags(stderr, d) }
	res, err := app.Plan(req, log)
	if err != nil {
		return err
	}
	write := func() error { return res.WriteFiles(f.out, f.outJSON, f.dotPath, log) }
	if f.out != "" && f.format == "table" {
		return printBeside(stdout, write, func(w io.Writer) error { return plan.WriteTable(w, res.Plan, f.out) })
	}
	if err := write(); err != nil {
		return err
	}
	return printPlan(stdout, res.Plan, f.format, f.out)
}

// printBeside runs write (the job files) while print formats the output
// into memory, then copies that to stdout if write succeeded: the table
// says the jobs were written, so it is printed only once they are, and
// formatting it (about 0.05 s of CPU for 10,000 shards) happens while the
// file system creates the files. Only the table takes this path: it is
// 2.3 MB for 10,000 shards, where -format json, ten times that, is
// encoded after writing as before, straight to stdout, not held whole.
func printBeside(stdout io.Writer, write func() error, print func(io.Writer) error) error {
	var out bytes.Buffer
	printed := make(chan error, 1)
	go func() { printed <- print(&out) }()
	err := write()
	if perr := <-printed; err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	_, err = stdout.Write(out.Bytes())
	return err
}

// printPlan prints p to stdout as JSON or as the table (buffered).
func printPlan(stdout io.Writer, p *plan.Plan, format, jobsDir string) error {
	return buffered(stdout, func(w io.Writer) error {
		if format == "json" {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(p)
		}
		return plan.WriteTable(w, p, jobsDir)
	})
}

// buffered runs print on a buffer in front of stdout and flushes it: the
// table writers write each cell on its own, which unbuffered is a system
// call a cell (230,000 for a 10,000-shard plan, about a third of `plan`'s
// wall time).
func buffered(stdout io.Writer, print func(io.Writer) error) error {
	bw := bufio.NewWriterSize(stdout, 64<<10)
	err := print(bw)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// request is the app.PlanRequest of the flags for graph path; an unknown
// -method is an error (exit 1), a malformed -run a usage error.
func (f planFlags) request(path string, vars map[string]string) (app.PlanRequest, error) {
	if f.run != "" {
		if err := checkRunID("-run", f.run); err != nil {
			return app.PlanRequest{}, err
		}
	}
	m, err := plan.ParseMethod(f.method)
	if err != nil {
		return app.PlanRequest{}, err
	}
	return app.PlanRequest{Graph: path, Vars: vars, VarFiles: f.varFiles, Catalog: f.catalog,
		Histories: f.histories, Run: f.run, Driver: f.driver, Dot: f.dotPath != "",
		Method: m, NoFusion: f.noFusion, NoBatch: f.noBatch, NoGuard: f.noGuard}, nil
}

// addMethodFlags adds -method, -no-fusion, -no-batch and -no-guard.
func addMethodFlags(fs *flag.FlagSet, f *planFlags) {
	fs.StringVar(&f.method, "method", plan.MethodShardwise, "Planning method: shardwise; heft (one shard per task, each where it finishes first); single (every task on the one class that finishes first) or single:CLASS.")
	fs.BoolVar(&f.noFusion, "no-fusion", false, "Keep every task in a shard of its own: no chain fusion, no sibling batching.")
	fs.BoolVar(&f.noBatch, "no-batch", false, "Do not batch sibling tasks into one allocation, nor run the short tasks above a join in its allocation (chains still fuse).")
	fs.BoolVar(&f.noGuard, "no-guard", false, "Keep Shardwise's plan without comparing it, at p10, p50 and p90 of the predictions, with one task per allocation (the robust guard; it costs about one more plan and six simulations).")
}

// checkRunID returns a usage error for a run ID (given as what: "-run",
// "-resume", "RUN") that Nomad could not store the run under, nor
// 'shardwise status' find its jobs by.
func checkRunID(what, run string) error {
	if err := runstate.CheckRunID(run); err != nil {
		return &usageError{msg: fmt.Sprintf("invalid %s: %s", what, err)}
	}
	return nil
}
