package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/translator/dot"
	"github.com/shardwise/shardwise/translator/hclgraph"
	"github.com/shardwise/shardwise/translator/nomadjob"
)

const planSynopsis = `plan [options] GRAPH.hcl

  Predicts what each task of GRAPH needs on each executor class, cuts the
  graph into shards, places each shard on a class and prints the plan.
  With -out it also writes one Nomad job per shard (HCL and JSON).`

type planFlags struct {
	vars, varFiles, histories multiFlag
	catalog, run, format      string
	dotPath, out, driver      string
}

func runPlan(args []string, stdout, stderr io.Writer) error {
	var f planFlags
	fs := newFlagSet("plan", planSynopsis, stderr)
	fs.Var(&f.vars, "var", "Set a graph variable, NAME=VALUE (repeatable).")
	fs.Var(&f.varFiles, "var-file", "Read graph variables from an HCL file (repeatable).")
	fs.Var(&f.histories, "history", "Read history records from a JSON Lines file or a SQLite history store, .db (repeatable).")
	fs.StringVar(&f.catalog, "catalog", os.Getenv("SHARDWISE_CATALOG"), "Executor catalog HCL file that overrides or extends the default.")
	fs.StringVar(&f.run, "run", "", "Run ID carried in job names and meta (default: random).")
	fs.StringVar(&f.format, "format", "table", "Output format: table or json.")
	fs.StringVar(&f.dotPath, "dot", "", "Write the graph coloured by executor class as Graphviz DOT to this file.")
	fs.StringVar(&f.out, "out", "", "Write one Nomad job per shard (NAME.nomad.hcl and NAME.json) into this folder.")
	fs.StringVar(&f.driver, "driver", "", "Task driver of the emitted jobs: raw_exec, exec or shard (default: the graph's, else raw_exec).")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &usageError{msg: "plan takes exactly one argument, the graph file"}
	}
	if f.format != "table" && f.format != "json" {
		return &usageError{msg: fmt.Sprintf("invalid -format %q: want table or json", f.format)}
	}
	res, err := planGraph(fs.Arg(0), f, stderr)
	if err != nil {
		return err
	}
	return emit(res, f, stdout)
}

// planned is everything planGraph produced, held until every step has
// succeeded so that nothing is written on error.
type planned struct {
	graph   *graph.Graph
	catalog *catalog.Catalog
	plan    *plan.Plan
	dot     []byte
}

func planGraph(path string, f planFlags, stderr io.Writer) (*planned, error) {
	cat, diags := catalog.Load(f.catalog)
	if diags.HasErrors() {
		printDiags(stderr, diags)
		return nil, &reportedError{diags}
	}
	vars, err := parseVars(f.vars)
	if err != nil {
		return nil, err
	}
	g, diags := hclgraph.ParseFile(path, hclgraph.Options{Vars: vars, VarFiles: f.varFiles, Executors: cat.Names()})
	if diags.HasErrors() {
		printDiags(stderr, diags)
		return nil, &reportedError{diags}
	}
	log := newLogger(stderr)
	log.Debug("parsed graph", "path", path, "tasks", len(g.Tasks), "edges", len(g.Edges))
	records, err := loadHistory(f.histories)
	if err != nil {
		return nil, err
	}
	log.Debug("loaded history", "records", len(records), "files", len(f.histories))
	pred, err := predict.New(cat, records)
	if err != nil {
		return nil, fmt.Errorf("fit predictor: %w", err)
	}
	tb, err := pred.Predict(g)
	if err != nil {
		return nil, fmt.Errorf("predict %s: %w", path, err)
	}
	run := f.run
	if run == "" {
		run = newRunID()
	}
	p, err := plan.Build(g, cat, tb, plan.Options{Run: run})
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	p.Driver = pickDriver(f.driver, g.Driver)
	log.Info("planned", "graph", g.Name, "run", run, "shards", len(p.Shards), "makespan_seconds", p.MakespanSeconds)
	res := &planned{graph: g, catalog: cat, plan: p}
	if f.dotPath != "" {
		var buf bytes.Buffer
		if err := dot.Write(&buf, g, p); err != nil {
			return nil, fmt.Errorf("render dot: %w", err)
		}
		res.dot = buf.Bytes()
	}
	return res, nil
}

// loadHistory reads every -history path: a SQLite store (.db, .sqlite,
// .sqlite3) or a JSON Lines file.
func loadHistory(paths []string) ([]history.Record, error) {
	all, err := feedback.LoadHistory(context.Background(), paths...)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	return all, nil
}

func pickDriver(flagValue, graphValue string) string {
	switch {
	case flagValue != "":
		return flagValue
	case graphValue != "":
		return graphValue
	default:
		return "raw_exec"
	}
}

// emit builds the jobs before writing anything, then writes the jobs, the
// DOT file and the report. The jobs folder is written all-or-nothing.
func emit(res *planned, f planFlags, stdout io.Writer) error {
	if f.driver != "" && f.driver != "raw_exec" && f.driver != "exec" && f.driver != "shard" {
		return &usageError{msg: fmt.Sprintf("invalid -driver %q: want raw_exec, exec or shard", f.driver)}
	}
	if f.out != "" {
		jobs, err := nomadjob.Jobs(res.plan, res.graph, res.catalog, nomadjob.Options{Driver: res.plan.Driver})
		if err != nil {
			return fmt.Errorf("translate plan to Nomad jobs: %w", err)
		}
		if err := nomadjob.WriteDir(f.out, jobs); err != nil {
			return fmt.Errorf("write jobs: %w", err)
		}
	}
	if res.dot != nil {
		if err := writeFileAtomic(f.dotPath, res.dot); err != nil {
			return fmt.Errorf("write dot: %w", err)
		}
	}
	if f.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res.plan)
	}
	return writePlanTable(stdout, res.plan, f.out)
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it into place, so a reader never sees a half-written file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// newRunID returns 8 random hex characters: short enough for job IDs,
// random enough that two runs of one graph never collide.
func newRunID() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}
