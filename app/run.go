package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher"
	"github.com/shardwise/shardwise/launcher/replan"
	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/units"
)

// RunRequest is a plan to run on Nomad, with the launcher's options.
type RunRequest struct {
	PlanRequest
	// Out, when set, is a folder to write the submitted jobs into too
	// (NAME.nomad.hcl; NAME.json as well with OutJSON).
	Out     string
	OutJSON bool
	// Retries, PlacementTimeout, NoLocality, FailFast and
	// RegisterConcurrency are launcher.Options'.
	Retries              int
	PlacementTimeout     time.Duration
	RegisterConcurrency  int
	NoLocality, FailFast bool
	// Feedback runs the feedback service during the run, recording into
	// HistoryDB (also read as history).
	Feedback  bool
	HistoryDB string
	// NoReplan turns off re-planning before each submission wave. A
	// baseline method (PlanRequest.Method other than Shardwise's) runs as
	// planned: the re-planner plans Shardwise's way.
	NoReplan bool
	// LeaseTTL is how long the run's lease in Nomad outlives its
	// launcher; zero means runstate.DefaultTTL.
	LeaseTTL time.Duration
	// Detach registers the launcher as a Nomad job instead of driving the
	// run here; LauncherCommand is the shardwise binary's path on the
	// Nomad clients ("" for this binary's path), Nomad the connection
	// flags the launcher job runs with.
	Detach          bool
	LauncherCommand string
	Nomad           launcher.NomadFlags
	// MetricsAddr, when set, is a host:port on which the launcher serves
	// its Prometheus metrics (launcher.Metrics) at /metrics while it
	// runs; a port in use fails the run before anything is submitted.
	MetricsAddr string
	// UIAddr, when set, is a host:port on which the launcher serves the
	// live run page (launcher/runpage) while it runs; a port in use fails
	// the run before anything is submitted.
	UIAddr string
}

// ResumeRequest continues a run stored in Nomad.
type ResumeRequest struct {
	Run string
	// Namespace is where the run is stored (-namespace, else
	// NOMAD_NAMESPACE); "" is the client's.
	Namespace string
	// Feedback and HistoryDB are RunRequest's; Histories the -history
	// files whose first store the feedback loop reads.
	Feedback  bool
	HistoryDB string
	Histories []string
	LeaseTTL  time.Duration
	// AsJob is set for the launcher job of a detached run: its lease is
	// its allocation's, it waits for a predecessor's lease to lapse, and
	// on a signal it leaves the run to the job's next allocation.
	AsJob bool
	// MetricsAddr and UIAddr are RunRequest's.
	MetricsAddr, UIAddr string
}

// Run plans the graph, translates the plan and runs the jobs on client
// until ctx ends, printing progress and the summary to stdout and, on a
// failure, the failed task's events and stderr to stderr. With a history
// store it re-plans the shards as they become ready (replan.Replanner),
// and with Feedback it records the run into the store as it goes. It
// returns the launcher's error, explained.
func Run(ctx context.Context, req RunRequest, client *api.Client, stdout, stderr io.Writer, log hclog.Logger) error {
	if req.Run == "" {
		req.Run = planner.NewRunID() // now, so that Feedback records this run only
	}
	var metrics *launcher.Metrics
	var err error
	if req.MetricsAddr != "" && !req.Detach {
		metrics = launcher.NewMetrics()
		stop, err := serveMetrics("-metrics-addr", req.MetricsAddr, metrics.Handler(), stdout)
		if err != nil {
			return err
		}
		defer stop()
	}
	var page *livePage
	if !req.Detach {
		if page, err = listenPage("-ui", req.UIAddr); err != nil {
			return err
		}
		defer page.close()
	}
	// The launcher's first request, made before the history store and -out
	// are written: a wrong address or a refused token leaves nothing.
	if _, err := launcher.CurrentIndex(ctx, client, "", launcher.DefaultConnectTimeout); err != nil {
		return err
	}
	// -feedback's store is read as history when it exists already; it is
	// created (openLoop) only once the run is known to be new.
	if req.Feedback && !slices.Contains(req.Histories, req.HistoryDB) {
		if _, err := os.Stat(req.HistoryDB); err == nil {
			req.Histories = append(req.Histories, req.HistoryDB)
		}
	}
	res, err := Plan(req.PlanRequest, log)
	if err != nil {
		return err
	}
	p := res.Plan
	jobs, err := res.Jobs()
	if err != nil {
		return err
	}
	l := &launcher.Launcher{Client: client, Namespace: req.Nomad.Namespace()}
	// A run ID already stored, or a namespace Nomad lacks, fails here, before the history store, -out or
	// the banner.
	if err := l.CheckNewRun(ctx, p.Run, jobs); err != nil {
		return err
	}
	lp, err := openLoop(ctx, &req, client, log)
	if err != nil {
		return err
	}
	defer lp.close()
	if req.Out != "" {
		if err := WriteJobs(req.Out, req.OutJSON, p, jobs, log); err != nil {
			return err
		}
	}
	extra, err := LoadHistory(otherHistories(req.Histories, lp))
	if err != nil {
		return err
	}
	inputs, err := runInputs(req.PlanRequest, p.Driver)
	if err != nil {
		return err
	}
	if req.Detach {
		return detach(ctx, l, p, jobs, inputs, req, stdout)
	}
	fmt.Fprintf(stdout, "Running graph %q as run %s: %d shards in %d jobs on Nomad at %s (driver %s)\n",
		p.Graph, p.Run, len(p.Shards), len(jobs), client.Address(), p.Driver)
	progress := launcher.Tee(launcher.NewProgress(stdout), page.start(p, client.Address(), stdout))
	rep, err := l.Run(ctx, p, jobs, launcher.Options{
		Retries:             req.Retries,
		NoLocality:          req.NoLocality,
		FailFast:            req.FailFast,
		PlacementTimeout:    req.PlacementTimeout,
		RegisterConcurrency: req.RegisterConcurrency,
		Progress:            progress,
		Metrics:             metrics,
		Replanner:           lp.replanner(&req, res, client, extra),
		OOMRetry:            replan.OOMRetry(res.Catalog),
		Logger:              log.Named("launcher"),
		Durable:             &launcher.Durable{Inputs: inputs, TTL: req.LeaseTTL},
	})
	return summarize(ctx, rep, err, lp, stdout, stderr)
}

// Resume continues a run from its state stored in Nomad (run -resume),
// printing as Run does.
func Resume(ctx context.Context, req ResumeRequest, client *api.Client, stdout, stderr io.Writer, log hclog.Logger) error {
	page, err := listenPage("-ui", req.UIAddr)
	if err != nil {
		return err
	}
	defer page.close()
	if _, err := launcher.CurrentIndex(ctx, client, "", launcher.DefaultConnectTimeout); err != nil {
		return err // before the history store is created
	}
	lp, err := openLoop(ctx, &RunRequest{PlanRequest: PlanRequest{Histories: req.Histories, Run: req.Run},
		Feedback: req.Feedback, HistoryDB: req.HistoryDB}, client, log)
	if err != nil {
		return err
	}
	defer lp.close()
	var metrics *launcher.Metrics
	if req.MetricsAddr != "" {
		metrics = launcher.NewMetrics()
		stop, err := serveMetrics("-metrics-addr", req.MetricsAddr, metrics.Handler(), stdout)
		if err != nil {
			return err
		}
		defer stop()
	}
	fmt.Fprintf(stdout, "Resuming run %s on Nomad at %s\n", req.Run, client.Address())
	progress := launcher.NewProgress(stdout)
	if page != nil {
		p, _, err := launcher.WatchPlan(ctx, client, req.Run, req.Namespace)
		if err != nil {
			return err
		}
		progress = launcher.Tee(progress, page.start(p, client.Address(), stdout))
	}
	l := &launcher.Launcher{Client: client, Namespace: req.Namespace}
	d := &launcher.Durable{TTL: req.LeaseTTL}
	if req.AsJob {
		lease, ok := launcher.JobLease()
		if !ok {
			return errors.New("-as-job is for the launcher job that -detach registers (NOMAD_ALLOC_ID is not set)")
		}
		d.Lease = lease
	}
	opts := launcher.Options{
		Progress: progress,
		Metrics:  metrics,
		OOMRetry: replan.OOMRetry(storedCatalog(ctx, client, req.Run, req.Namespace, log)),
		Logger:   log.Named("launcher"),
		Durable:  d,
		HandOver: req.AsJob,
	}
	rep, err := l.Resume(ctx, req.Run, opts)
	// A launcher job's new allocation waits for its predecessor's lease to
	// lapse (a lost node cannot give it up).
	var he *runstate.HeldError
	for req.AsJob && errors.As(err, &he) && ctx.Err() == nil {
		wait := max(time.Until(he.Holder.Expires)+time.Second, time.Second)
		log.Info("the run is held by another launcher; waiting for its lease to lapse", "holder", he.Holder.Name, "wait", wait.Round(time.Second))
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		rep, err = l.Resume(ctx, req.Run, opts)
	}
	if req.AsJob && errors.Is(err, runstate.ErrEnded) {
		// Nothing left to drive: end the launcher job's task for good
		// (a failing exit would have Nomad restart it).
		fmt.Fprintf(stdout, "%v; nothing to do\n", err)
		return nil
	}
	return summarize(ctx, rep, err, lp, stdout, stderr)
}

// storedCatalog returns the catalog run was planned with, from its state
// in Nomad (the -catalog file stored with it, merged with the default as
// the first launcher did), so that a resumed run's OOM retries stay within
// their class's instance memory. It returns nil, after a warning, when the
// state (in namespace ns) or its catalog cannot be read: the retries then double unbounded,
// and l.Resume reports a missing or unreadable state itself.
func storedCatalog(ctx context.Context, client *api.Client, run, ns string, log hclog.Logger) *catalog.Catalog {
	st := &runstate.Store{Client: client, Namespace: ns}
	h, err := st.Load(ctx, run)
	if err != nil {
		return nil
	}
	spec, err := st.Spec(ctx, h)
	if err != nil {
		return nil
	}
	name := ""
	if len(spec.Inputs.Catalog) > 0 {
		name = fmt.Sprintf("catalog of run %s", run)
	}
	cat, diags := catalog.LoadSource(name, spec.Inputs.Catalog)
	if diags.HasErrors() {
		log.Warn("the catalog stored with the run does not load; OOM retries are not bounded by class", "run", run, "error", diags.Error())
		return nil
	}
	return cat
}

// detach stores the run and registers its launcher job (run -detach).
func detach(ctx context.Context, l *launcher.Launcher, p *plan.Plan, jobs []*api.Job, inputs runstate.Inputs, req RunRequest, stdout io.Writer) error {
	ttl := cmp.Or(req.LeaseTTL, runstate.DefaultTTL)
	lj := launcher.LauncherJob{Command: req.LauncherCommand, Env: map[string]string{},
		Args: []string{"-address", l.Client.Address(), "-lease-ttl", ttl.String()}}
	if lj.Command == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this binary for the launcher job (set -launcher-command): %w", err)
		}
		lj.Command = exe
	}
	if p.Namespace != "" {
		lj.Args = append(lj.Args, "-namespace", p.Namespace)
	}
	if r := req.Nomad.Region(); r != "" {
		lj.Args = append(lj.Args, "-region", r)
	}
	if tok := req.Nomad.Token(); tok != "" {
		lj.Env["NOMAD_TOKEN"] = tok
	}
	id, err := l.Detach(ctx, p, jobs, launcher.Options{
		Retries: req.Retries, NoLocality: req.NoLocality, FailFast: req.FailFast, PlacementTimeout: req.PlacementTimeout,
		RegisterConcurrency: req.RegisterConcurrency,
		Durable:             &launcher.Durable{Inputs: inputs, TTL: req.LeaseTTL},
	}, lj)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Run %s of graph %q (%d shards) is driven by the Nomad job %s at %s.\n"+
		"Follow it with 'shardwise status %s' or 'nomad alloc logs -f -job %s'; stop it with 'shardwise stop %s'.\n",
		p.Run, p.Graph, len(p.Shards), id, l.Client.Address(), p.Run, id, p.Run)
	return nil
}

// runInputs reads what the plan of req's graph was made from, to store
// with the run.
func runInputs(req PlanRequest, driver string) (runstate.Inputs, error) {
	in := runstate.Inputs{GraphPath: req.Graph, History: req.Histories, Driver: driver, Vars: req.Vars}
	var err error
	if in.Graph, err = os.ReadFile(req.Graph); err != nil {
		return in, fmt.Errorf("read graph: %w", err)
	}
	for _, f := range req.VarFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return in, fmt.Errorf("read -var-file: %w", err)
		}
		if in.VarFiles == nil {
			in.VarFiles = map[string][]byte{}
		}
		in.VarFiles[f] = b
	}
	if req.Catalog != "" {
		if in.Catalog, err = os.ReadFile(req.Catalog); err != nil {
			return in, fmt.Errorf("read -catalog: %w", err)
		}
	}
	return in, nil
}

// summarize prints the run's summary and, after a run that did not
// complete, what the user needs (see explain).
func summarize(ctx context.Context, rep *launcher.Report, err error, lp *loop, stdout, stderr io.Writer) error {
	if rep == nil {
		return err
	}
	fmt.Fprintln(stdout)
	if werr := rep.WriteSummary(stdout); werr != nil {
		return werr
	}
	if ctx.Err() == nil {
		lp.awaitRecords(rep, stdout)
	}
	return explain(rep, err, stdout, stderr)
}

// otherHistories returns the history paths other than the loop's store,
// whose records the Replanner reads besides the store's.
func otherHistories(paths []string, lp *loop) []string {
	var out []string
	for _, p := range paths {
		if lp.store == nil || p != lp.store.Path() {
			out = append(out, p)
		}
	}
	return out
}

// explain prints what the user needs after a run that did not complete:
// the failure's details, or which jobs were stopped and kept.
func explain(rep *launcher.Report, err error, stdout, stderr io.Writer) error {
	if err == nil {
		if running := serviceShards(rep); len(running) > 0 {
			fmt.Fprintf(stdout, "Service shards keep running: %s (stop them with 'shardwise stop %s')\n", strings.Join(running, ", "), rep.Run)
		}
		return nil
	}
	if rep.Failure != nil {
		fmt.Fprintln(stderr)
		if werr := rep.Failure.Write(stderr); werr != nil {
			return werr
		}
		fmt.Fprintln(stderr)
	}
	if len(rep.Stopped) > 0 {
		fmt.Fprintf(stderr, "Stopped %s of run %s (%s); stopped jobs are kept in Nomad for inspection\n"+
			"(nomad job status JOB). Remove them with 'shardwise stop -purge %s'.\n",
			units.Count(len(rep.Stopped), "job"), rep.Run, strings.Join(rep.Stopped, ", "), rep.Run)
	}
	if errors.Is(err, launcher.ErrStopped) {
		return fmt.Errorf("run %s interrupted", rep.Run)
	}
	return err
}

// serviceShards lists the report's shards that are services still
// running after the run: complete shards whose job was not stopped and
// whose allocation is still running.
func serviceShards(rep *launcher.Report) []string {
	var out []string
	for _, s := range rep.Shards {
		if s.Service && s.State == launcher.Complete {
			out = append(out, s.Shard)
		}
	}
	return out
}
