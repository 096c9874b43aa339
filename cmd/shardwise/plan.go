package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/planner"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/sdk"
	"github.com/shardwise/shardwise/translator/dot"
	"github.com/shardwise/shardwise/translator/hclreader"
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
	if err := checkDriver(f.driver); err != nil {
		return err
	}
	res, err := planGraph(fs.Arg(0), f, stderr)
	if err != nil {
		return err
	}
	return emit(res, f, stdout, newLogger(stderr))
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
	g, diags := hclreader.ParseFile(path, hclreader.Options{Vars: vars, VarFiles: f.varFiles, Executors: cat.Names()})
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
	r, err := planner.Pipeline{Catalog: cat, History: records, Logger: log}.Plan(g, planner.Options{Run: f.run, Driver: f.driver, Source: path})
	if err != nil {
		return nil, err
	}
	p := r.Plan
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
// .sqlite3) or a JSON Lines file. Errors name the file already
// ("h.jsonl:2: ...", "read history h.jsonl: ..."), so none is added.
func loadHistory(paths []string) ([]history.Record, error) {
	return feedback.LoadHistory(context.Background(), paths...)
}

// warnStaleJobs warns when dir holds job files (NAME.json and
// NAME.nomad.hcl) of other runs of graph: 'nomad job run DIR/*' would
// submit them too. They are the user's files, so they are not removed.
func warnStaleJobs(log hclog.Logger, dir, graphName, run string) {
	names, runs := staleJobs(dir, graphName, run)
	if len(names) == 0 {
		return
	}
	log.Warn(fmt.Sprintf("%s already holds %s of other runs of graph %q; they are kept: remove them before submitting the folder",
		dir, plural(len(names), "job file"), graphName), "runs", strings.Join(runs, ", "))
}

// staleJobs returns the job files in dir whose JSON job names graphName
// and a run other than run (with their .nomad.hcl twins), and those runs.
func staleJobs(dir, graphName, run string) (files, runs []string) {
	js, _ := filepath.Glob(filepath.Join(dir, "*"+nomadjob.JSONSuffix))
	seen := map[string]bool{}
	for _, p := range js {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var doc struct {
			Job struct{ Meta map[string]string }
		}
		if json.Unmarshal(b, &doc) != nil {
			continue
		}
		m := doc.Job.Meta
		if m[sdk.MetaGraph] != graphName || m[sdk.MetaRun] == "" || m[sdk.MetaRun] == run {
			continue
		}
		files = append(files, p)
		hcl := strings.TrimSuffix(p, nomadjob.JSONSuffix) + nomadjob.HCLSuffix
		if _, err := os.Stat(hcl); err == nil {
			files = append(files, hcl)
		}
		if r := m[sdk.MetaRun]; !seen[r] {
			seen[r] = true
			runs = append(runs, r)
		}
	}
	sort.Strings(runs)
	return files, runs
}

// emit builds the jobs before writing anything, then writes the jobs, the
// DOT file and the report. The jobs folder is written all-or-nothing.
func emit(res *planned, f planFlags, stdout io.Writer, log hclog.Logger) error {
	if f.out != "" {
		jobs, err := nomadjob.Jobs(res.plan, res.graph, res.catalog, nomadjob.Options{Driver: res.plan.Driver})
		if err != nil {
			return fmt.Errorf("translate plan to Nomad jobs: %w", err)
		}
		warnStaleJobs(log, f.out, res.plan.Graph, res.plan.Run)
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
// it into place, so a reader never sees a half-written file. The file is
// created as os.Create would: mode 0666 less the umask (0644 usually),
// not os.CreateTemp's 0600.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := createTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
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

// createTemp creates a new file dir/prefixRANDOM with mode 0666 less the
// umask.
func createTemp(dir, prefix string) (*os.File, error) {
	for range 100 {
		f, err := os.OpenFile(filepath.Join(dir, prefix+planner.NewRunID()), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("create a temporary file in %s: too many name collisions", dir)
}
