package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/renameio/v2"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/feedback"
	"github.com/shardwise/shardwise/planner"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/units"
	"github.com/shardwise/shardwise/sdk"
	"github.com/shardwise/shardwise/translator/dot"
	"github.com/shardwise/shardwise/translator/hclreader"
	"github.com/shardwise/shardwise/translator/nomadjob"
)

// PlanRequest names the files and choices of one plan.
type PlanRequest struct {
	// Graph is the graph file (HCL); Vars and VarFiles set its variables.
	Graph    string
	Vars     map[string]string
	VarFiles []string
	// Catalog is an executor catalog HCL file that overrides or extends the
	// default; "" means the default.
	Catalog string
	// Histories are history files: JSON Lines or SQLite stores (.db).
	Histories []string
	// Run and Driver are planner.Options'.
	Run, Driver string
	// Dot renders the plan as Graphviz DOT (Planned.Dot).
	Dot bool
	// Method, NoFusion and NoBatch are planner.Options'.
	Method            plan.Method
	NoFusion, NoBatch bool
	// NoGuard is planner.Options.NoGuard: no robust guard.
	NoGuard bool
	// Warn, when set, receives the warnings of the catalog and graph files
	// (positioned diagnostics, such as a memory below 1 MiB) when they
	// have no errors; errors come back as a *DiagnosticsError.
	Warn func(hcl.Diagnostics)
}

// warn hands diags, if any, to req.Warn.
func (req PlanRequest) warn(diags hcl.Diagnostics) {
	if len(diags) > 0 && req.Warn != nil {
		req.Warn(diags)
	}
}

// Planned is everything Plan produced, held until every step has succeeded
// so that nothing is written on error.
type Planned struct {
	Graph   *graph.Graph
	Catalog *catalog.Catalog
	Plan    *plan.Plan
	// Dot is the graph coloured by class, when PlanRequest.Dot is set.
	Dot []byte
}

// DiagnosticsError is the error of a graph or catalog file with errors:
// its HCL diagnostics, file:line:col, for the CLI to print with their
// source lines.
type DiagnosticsError struct{ Diags hcl.Diagnostics }

func (e *DiagnosticsError) Error() string { return e.Diags.Error() }

// Plan loads the catalog, reads the graph and the history, and plans the
// graph through planner.Pipeline. Errors name the file at fault; a bad
// catalog or graph file is a *DiagnosticsError.
func Plan(req PlanRequest, log hclog.Logger) (*Planned, error) {
	cat, diags := catalog.Load(req.Catalog)
	if diags.HasErrors() {
		return nil, &DiagnosticsError{diags}
	}
	req.warn(diags)
	g, diags := hclreader.ParseFile(req.Graph, hclreader.Options{Vars: req.Vars, VarFiles: req.VarFiles, Executors: cat.Names()})
	if diags.HasErrors() {
		return nil, &DiagnosticsError{diags}
	}
	req.warn(diags)
	log.Debug("parsed graph", "path", req.Graph, "tasks", len(g.Tasks), "edges", len(g.Edges))
	records, err := LoadHistory(req.Histories)
	if err != nil {
		return nil, err
	}
	log.Debug("loaded history", "records", len(records), "files", len(req.Histories))
	r, err := planner.Pipeline{Catalog: cat, History: records, Logger: log}.Plan(g, planner.Options{
		Run: req.Run, Driver: req.Driver, Source: req.Graph, Method: req.Method, NoFusion: req.NoFusion, NoBatch: req.NoBatch,
		NoGuard: req.NoGuard,
	})
	if err != nil {
		return nil, positionInfeasible(err)
	}
	res := &Planned{Graph: g, Catalog: cat, Plan: r.Plan}
	if req.Dot {
		var buf bytes.Buffer
		if err := dot.Write(&buf, g, r.Plan); err != nil {
			return nil, fmt.Errorf("render dot: %w", err)
		}
		res.Dot = buf.Bytes()
	}
	return res, nil
}

// LoadHistory reads every history path: a SQLite store (.db, .sqlite,
// .sqlite3) or a JSON Lines file. Errors name the file already
// ("h.jsonl:2: ...", "read history h.jsonl: ..."), so none is added.
func LoadHistory(paths []string) ([]history.Record, error) {
	return feedback.LoadHistory(context.Background(), paths...)
}

// Jobs translates the plan into one Nomad job per shard job, with the
// plan's driver.
func (p *Planned) Jobs() ([]*api.Job, error) {
	jobs, err := nomadjob.Jobs(p.Plan, p.Graph, p.Catalog, p.JobOptions())
	if err != nil {
		return nil, fmt.Errorf("translate plan to Nomad jobs: %w", err)
	}
	return jobs, nil
}

// JobOptions are the options the plan's jobs are built with.
func (p *Planned) JobOptions() nomadjob.Options { return nomadjob.Options{Driver: p.Plan.Driver} }

// WriteFiles builds the jobs before writing anything, then writes them
// into jobsDir (all or nothing; "" writes none) and the DOT file to dotPath
// ("" or no Dot writes none).
func (p *Planned) WriteFiles(jobsDir, dotPath string, log hclog.Logger) error {
	if jobsDir != "" {
		jobs, err := p.Jobs()
		if err != nil {
			return err
		}
		if err := WriteJobs(jobsDir, p.Plan, jobs, log); err != nil {
			return err
		}
	}
	if p.Dot != nil && dotPath != "" {
		if err := WriteFile(dotPath, p.Dot); err != nil {
			return fmt.Errorf("write dot: %w", err)
		}
	}
	return nil
}

// WriteJobs writes jobs, p's, into dir (nomadjob.WriteDir), warning first
// about job files of other runs of the graph there.
func WriteJobs(dir string, p *plan.Plan, jobs []*api.Job, log hclog.Logger) error {
	warnStaleJobs(log, dir, p.Graph, p.Run)
	if err := nomadjob.WriteDir(dir, jobs); err != nil {
		return fmt.Errorf("write jobs: %w", err)
	}
	return nil
}

// WriteFile writes data to a temporary file beside path, syncs it and
// renames it into place (renameio), so a reader never sees a half-written
// file. The file is created as os.Create would: mode 0666 less the umask.
// Errors name path ("PATH: the folder DIR does not exist"), not the
// temporary file.
func WriteFile(path string, data []byte) error {
	err := renameio.WriteFile(path, data, 0o666)
	if err == nil {
		return nil
	}
	dir := filepath.Dir(path)
	if st, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
		return fmt.Errorf("%s: the folder %s does not exist; create it first", path, dir)
	} else if serr == nil && !st.IsDir() {
		return fmt.Errorf("%s: %s is not a folder", path, dir)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", path, pe.Err)
	}
	return fmt.Errorf("%s: %w", path, err)
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
		dir, units.Count(len(names), "job file"), graphName), "runs", strings.Join(runs, ", "))
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
