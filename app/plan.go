package app

import (
	"bytes"
	"context"
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
	warnUnmatchedHistory(log, g, records, req.Histories)
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

// warnUnmatchedHistory warns when history was given but none of its
// records is of a task of g (by signature): the wrong file changes no
// prediction, and the plan would come from hints and defaults silently.
func warnUnmatchedHistory(log hclog.Logger, g *graph.Graph, records []history.Record, paths []string) {
	if len(records) == 0 {
		return
	}
	sigs := make(map[string]bool, len(g.Tasks))
	for _, t := range g.Tasks {
		sigs[t.Signature] = true
	}
	for i := range records {
		if sigs[records[i].Signature] {
			return
		}
	}
	log.Warn(fmt.Sprintf("none of the %d history records is of a task of graph %q (by signature): its predictions come from hints and defaults",
		len(records), g.Name), "history", strings.Join(paths, ", "))
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
// into jobsDir (all or nothing; "" writes none; WriteJobs) and the DOT file
// to dotPath ("" or no Dot writes none). The DOT file is staged beside
// dotPath first and renamed into place only once the jobs are written, so
// an error in either leaves neither.
func (p *Planned) WriteFiles(jobsDir string, withJSON bool, dotPath string, log hclog.Logger) error {
	var jobs []*api.Job
	if jobsDir != "" {
		var err error
		if jobs, err = p.Jobs(); err != nil {
			return err
		}
	}
	var dot *renameio.PendingFile
	if p.Dot != nil && dotPath != "" {
		var err error
		if dot, err = stageFile(dotPath, p.Dot); err != nil {
			return fmt.Errorf("write dot: %w", err)
		}
		defer dot.Cleanup()
	}
	if jobsDir != "" {
		if err := WriteJobs(jobsDir, withJSON, p.Plan, jobs, log); err != nil {
			return err
		}
	}
	if dot != nil {
		if err := dot.CloseAtomicallyReplace(); err != nil {
			return fmt.Errorf("write dot: %w", pathError(dotPath, err))
		}
	}
	return nil
}

// WriteJobs writes jobs, p's, into dir (nomadjob.WriteDir): NAME.nomad.hcl
// for each, and NAME.json too when withJSON is set. It warns first about
// job files there that it will not replace and that 'nomad job run DIR/*'
// would submit too.
func WriteJobs(dir string, withJSON bool, p *plan.Plan, jobs []*api.Job, log hclog.Logger) error {
	forms := nomadjob.HCL
	if withJSON {
		forms |= nomadjob.JSON
	}
	warnStaleJobs(log, dir, p.Graph, p.Run, written(jobs, forms))
	if err := nomadjob.WriteDir(dir, jobs, forms); err != nil {
		return fmt.Errorf("write jobs: %w", err)
	}
	return nil
}

// written is the set of file names WriteDir writes for jobs in forms.
func written(jobs []*api.Job, forms nomadjob.Forms) map[string]bool {
	names := make(map[string]bool, 2*len(jobs))
	for _, j := range jobs {
		if j != nil && j.ID != nil {
			for _, n := range forms.Files(*j.ID) {
				names[n] = true
			}
		}
	}
	return names
}

// WriteFile writes data to a temporary file beside path, syncs it and
// renames it into place (renameio), so a reader never sees a half-written
// file. The file is created as os.Create would: mode 0666 less the umask.
// Errors name path ("PATH: the folder DIR does not exist"), not the
// temporary file.
func WriteFile(path string, data []byte) error {
	f, err := stageFile(path, data)
	if err != nil {
		return err
	}
	defer f.Cleanup()
	if err := f.CloseAtomicallyReplace(); err != nil {
		return pathError(path, err)
	}
	return nil
}

// stageFile writes data to a temporary file beside path (as WriteFile
// does) for the caller to rename into place with CloseAtomicallyReplace,
// or drop with Cleanup. Errors name path, as WriteFile's do.
func stageFile(path string, data []byte) (*renameio.PendingFile, error) {
	f, err := renameio.NewPendingFile(path, renameio.WithPermissions(0o666), renameio.WithExistingPermissions())
	if err != nil {
		return nil, pathError(path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Cleanup()
		return nil, pathError(path, err)
	}
	return f, nil
}

// pathError is err, from writing path through a temporary file, as an
// error that names path and says what is wrong with its folder.
func pathError(path string, err error) error {
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

// warnStaleJobs warns when dir holds job files (NAME.nomad.hcl or
// NAME.json) of graph that this write does not replace: of other runs, or
// of this run in the form not written now (a NAME.json from an earlier
// plan -out-json). 'nomad job run DIR/*' would submit them too, and they
// are the user's files, so they are not removed.
func warnStaleJobs(log hclog.Logger, dir, graphName, run string, replaced map[string]bool) {
	names, runs, own := staleJobs(dir, graphName, run, replaced)
	if len(names) > 0 {
		log.Warn(fmt.Sprintf("%s already holds %s of other runs of graph %q; they are kept: remove them before submitting the folder",
			dir, units.Count(len(names), "job file"), graphName), "runs", strings.Join(runs, ", "))
	}
	if len(own) > 0 {
		log.Warn(fmt.Sprintf("%s already holds %s of an earlier plan of run %q that this plan does not rewrite; they are kept and may be out of date",
			dir, units.Count(len(own), "job file"), run), "files", strings.Join(own, ", "))
	}
}

// staleJobs returns the job files in dir, not in replaced, whose job meta
// names graphName: those of a run other than run and those runs, and
// those of run itself (own).
func staleJobs(dir, graphName, run string, replaced map[string]bool) (files, runs, own []string) {
	hcl, _ := filepath.Glob(filepath.Join(dir, "*"+nomadjob.HCLSuffix))
	js, _ := filepath.Glob(filepath.Join(dir, "*"+nomadjob.JSONSuffix))
	seen := map[string]bool{}
	for _, p := range append(hcl, js...) {
		if replaced[filepath.Base(p)] {
			continue
		}
		m, err := nomadjob.ReadMeta(p)
		if err != nil || m[sdk.MetaGraph] != graphName || m[sdk.MetaRun] == "" {
			continue
		}
		if r := m[sdk.MetaRun]; r == run {
			own = append(own, filepath.Base(p))
			continue
		}
		files = append(files, p)
		if r := m[sdk.MetaRun]; !seen[r] {
			seen[r] = true
			runs = append(runs, r)
		}
	}
	sort.Strings(runs)
	sort.Strings(own)
	return files, runs, own
}
