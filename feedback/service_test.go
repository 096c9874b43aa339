package feedback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/internal/testutil"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/sdk"
)

// recordWait bounds every wait for records in these tests.
const recordWait = 90 * time.Second

// testJob is a one-task batch job carrying Shardwise's meta on the job
// and its group, with no restarts or reschedules.
func testJob(id, run, shard, driver string, memMiB int, count int, command string, args ...string) *api.Job {
	meta := map[string]string{
		sdk.MetaGraph: "fbtest", sdk.MetaRun: run, sdk.MetaShard: shard, sdk.MetaSignature: "sig-" + id,
		sdk.MetaClass: "cpu", "shardwise_upstream": "",
		sdk.MetaPredictedRuntime: "2", sdk.MetaPredictedMemory: "16", sdk.MetaInputBytes: "1000",
	}
	j := api.NewBatchJob(id, id, "global", 50)
	j.Datacenters = []string{"*"}
	j.Meta = meta
	tg := api.NewTaskGroup("g", count)
	tg.Meta = meta
	tg.RestartPolicy = &api.RestartPolicy{Attempts: new(0), Mode: new("fail")}
	tg.ReschedulePolicy = &api.ReschedulePolicy{Attempts: new(0), Unlimited: new(false)}
	task := api.NewTask("main", driver).SetConfig("command", command)
	if len(args) > 0 {
		task.SetConfig("args", args)
	}
	task.Require(&api.Resources{CPU: new(100), MemoryMB: new(memMiB)})
	tg.AddTask(task)
	j.AddTaskGroup(tg)
	return j
}

func register(t *testing.T, a *testAgent, j *api.Job) {
	t.Helper()
	if _, _, err := a.client.Jobs().Register(j, nil); err != nil {
		t.Fatalf("register %s: %v", *j.ID, err)
	}
}

// runningService is a Service running in the background on a store.
type runningService struct {
	svc      *Service
	records  chan history.Record
	connects chan uint64
	cancel   context.CancelFunc
	done     chan error
	logs     *testutil.SyncBuffer // the service's log, also passed to t.Log
}

func startService(t *testing.T, a *testAgent, store *Store) *runningService {
	t.Helper()
	return startServiceRun(t, a, store, "")
}

// startServiceRun is startService recording the allocations of run only
// (every Shardwise allocation when run is "").
func startServiceRun(t *testing.T, a *testAgent, store *Store, run string) *runningService {
	t.Helper()
	rs := &runningService{records: make(chan history.Record, 256), connects: make(chan uint64, 16), done: make(chan error, 1), logs: &testutil.SyncBuffer{}}
	svc, err := New(Config{
		Run:    run,
		Client: a.client, Store: store, Interval: 200 * time.Millisecond,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second,
		Logger: hclog.New(&hclog.LoggerOptions{Name: "feedback", Level: hclog.Info, Output: io.MultiWriter(testWriter{t}, rs.logs)}),
		OnCommit: func(rs2 []history.Record) {
			for _, r := range rs2 {
				rs.records <- r
			}
		},
		OnConnect: func(i uint64) { rs.connects <- i },
		// As the CLI runs it: a failed first connect ends Run, a broken
		// stream later is retried (TestServiceSurvivesRestarts).
		FailFirstConnect: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	rs.svc = svc
	ctx, cancel := context.WithCancel(context.Background())
	rs.cancel = cancel
	go func() { rs.done <- svc.Run(ctx) }()
	t.Cleanup(func() { rs.stop(t) })
	return rs
}

// stop ends the service and fails t if Run returned an error.
func (rs *runningService) stop(t *testing.T) {
	t.Helper()
	if rs.cancel == nil {
		return
	}
	rs.cancel()
	rs.cancel = nil
	if err := <-rs.done; err != nil {
		t.Errorf("service: %v", err)
	}
}

// waitConnect waits for the next (re)connect of the event stream.
func (rs *runningService) waitConnect(t *testing.T) uint64 {
	t.Helper()
	select {
	case i := <-rs.connects:
		return i
	case <-time.After(recordWait):
		t.Fatal("event stream never connected")
	}
	return 0
}

// waitRecords collects records of run until n have arrived.
func (rs *runningService) waitRecords(t *testing.T, run string, n int) []history.Record {
	t.Helper()
	var got []history.Record
	deadline := time.After(recordWait)
	for len(got) < n {
		select {
		case r := <-rs.records:
			if r.Run == run {
				got = append(got, r)
			}
		case err := <-rs.done:
			t.Fatalf("service ended early: %v", err)
		case <-deadline:
			t.Fatalf("got %d of %d records of run %s: %+v", len(got), n, run, got)
		}
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Shard < got[j].Shard })
	return got
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newStore(t *testing.T) *Store {
	t.Helper()
	return openTemp(t)
}

// TestServiceRecordsBatchJobs runs real batch jobs (under raw_exec a
// success that writes a usage report, a failure and a split job of two
// pieces; under exec a busy loop) and checks every field of the records,
// then scrapes the metrics. The raw_exec records carry no memory or CPU
// (UsageMeasured), which the log says once for the run.
func TestServiceRecordsBatchJobs(t *testing.T) {
	a := requireAgent(t)
	store := newStore(t)
	rs := startService(t, a, store)
	rs.waitConnect(t)
	const run = "run-batch"
	const busy = `i=0; while [ $i -lt 2000000 ]; do i=$((i+1)); done`
	report := `mkdir -p "$NOMAD_ALLOC_DIR/shardwise" && ` +
		`echo '{"read_bytes":11,"written_bytes":22,"input_bytes":33,"output_bytes":44}' > "$NOMAD_ALLOC_DIR/shardwise/usage.json"; ` +
		busy
	register(t, a, testJob("fb-ok", run, "s-ok", "raw_exec", 64, 1, "/bin/sh", "-c", report))
	register(t, a, testJob("fb-exec", run, "s-exec", "exec", 64, 1, "/bin/sh", "-c", busy))
	register(t, a, testJob("fb-fail", run, "s-fail", "raw_exec", 64, 1, "/bin/sh", "-c", "sleep 0.5; exit 3"))
	split := testJob("fb-split", run, "s-p0,s-p1", "raw_exec", 64, 2, "/bin/sh", "-c", "sleep 0.5")
	split.Meta[sdk.MetaPredictedRuntime] = "1,4"
	split.TaskGroups[0].Meta = split.Meta
	register(t, a, split)

	recs := rs.waitRecords(t, run, 5)
	byShard := map[string]history.Record{}
	for _, r := range recs {
		byShard[r.Shard] = r
		if r.Graph != "fbtest" || r.Executor != "cpu" || r.NodeClass != "feedback-test" || r.Node == "" ||
			r.Alloc == "" || r.Source != SourceNomad || r.Task != "main" || r.MemoryLimitBytes != 64<<20 {
			t.Errorf("record fields: %+v", r)
		}
		if r.Start.IsZero() || !r.End.After(r.Start) || r.RuntimeSeconds <= 0 {
			t.Errorf("record times: %+v", r)
		}
		if r.PredictedMemoryBytes != 16<<20 || r.InputBytes == 0 {
			t.Errorf("record predictions/channel bytes: %+v", r)
		}
	}
	ok, fail, ex := byShard["s-ok"], byShard["s-fail"], byShard["s-exec"]
	if ok.ExitCode != 0 || ok.OOMKilled || ok.Signature != "sig-fb-ok" || ex.ExitCode != 0 {
		t.Errorf("ok records: %+v\n%+v", ok, ex)
	}
	if ok.ReadBytes != 11 || ok.WriteBytes != 22 || ok.InputBytes != 33 || ok.OutputBytes != 44 {
		t.Errorf("usage report not read: %+v", ok)
	}
	// A busy loop of a few seconds outlives the client's 1 s stats
	// collection, so under exec (the task's cgroup) it must have been
	// sampled; under raw_exec the samples are left out, and the
	// predictor keeps its defaults for memory and CPU.
	if ex.MemoryBytes <= 0 || ex.CPUMHz <= 0 || ex.CPUPercent <= 0 || ex.CPUPeak < ex.CPUPercent {
		t.Errorf("exec: no sampled memory or clock: %+v", ex)
	}
	if ok.RuntimeSeconds <= 0 || ok.CPUMHz <= 0 {
		t.Errorf("raw_exec record lost runtime or clock: %+v", ok)
	}
	if ok.MemoryBytes != 0 || ok.CPUPercent != 0 || ok.CPUPeak != 0 || ok.CPUTicks != 0 || ok.Cores != 0 {
		t.Errorf("raw_exec record has memory or CPU: %+v", ok)
	}
	if n := strings.Count(rs.logs.String(), "recorded without memory or CPU"); n != 1 {
		t.Errorf("log says %d times that raw_exec allocations are recorded without memory or CPU, want once for the run", n)
	}
	if fail.ExitCode != 3 || fail.OOMKilled {
		t.Errorf("failed record: %+v", fail)
	}
	if byShard["s-p0"].PredictedRuntimeSeconds != 1 || byShard["s-p1"].PredictedRuntimeSeconds != 4 {
		t.Errorf("split pieces: %+v / %+v", byShard["s-p0"], byShard["s-p1"])
	}
	stored, err := store.Records(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if need := predictNeed(t, stored, "sig-fb-ok"); need.MemoryMiB.Source != predict.FromDefault || need.CPU.Source != predict.FromDefault {
		t.Errorf("prediction from the raw_exec record: memory %+v, CPU %+v; want the defaults", need.MemoryMiB, need.CPU)
	}
	if need := predictNeed(t, stored, "sig-fb-exec"); need.MemoryMiB.Source != predict.FromHistory || need.CPU.Source != predict.FromHistory {
		t.Errorf("prediction from the exec record: memory %+v, CPU %+v; want history", need.MemoryMiB, need.CPU)
	}
	if n, _ := store.Count(context.Background()); n < 5 {
		t.Errorf("store holds %d records", n)
	}
	scrape := scrapeMetrics(t, rs.svc.Metrics())
	for _, want := range []string{
		`shardwise_feedback_records_ingested_total{executor="cpu"}`,
		`shardwise_feedback_runtime_error_ratio_count{executor="cpu",signature="sig-fb-ok"} 1`,
		`shardwise_feedback_memory_ratio_count{executor="cpu",signature="sig-fb-exec"} 1`,
		`shardwise_feedback_event_lag_seconds_count`,
		`shardwise_feedback_event_index`,
	} {
		if !strings.Contains(scrape, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(scrape, `memory_ratio_count{executor="cpu",signature="sig-fb-ok"}`) {
		t.Error("metrics have a memory ratio for the raw_exec record, which has no memory")
	}
}

func scrapeMetrics(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestServiceRecordsOOMKill runs a task under the exec driver (which puts
// it in a memory cgroup of 32 MiB) that allocates without bound: the
// kernel OOM-kills it, and the record says so. The predictor refitted
// from the store then asks for 1.25 x the limit, from history.
func TestServiceRecordsOOMKill(t *testing.T) {
	a := requireAgent(t)
	store := newStore(t)
	rs := startService(t, a, store)
	rs.waitConnect(t)
	const run = "run-oom"
	// The string doubles until the cgroup's limit stops it.
	register(t, a, testJob("fb-oom", run, "s-oom", "exec", 32, 1, "/bin/sh", "-c", "x=x; while :; do x=$x$x; done"))
	r := rs.waitRecords(t, run, 1)[0]
	if !r.OOMKilled || r.ExitCode != 137 {
		t.Fatalf("OOM not recorded: %+v\ntask events:\n%s", r, taskEvents(a, r.Alloc))
	}
	if r.MemoryBytes < 32<<20 || r.MemoryLimitBytes != 32<<20 {
		t.Errorf("OOM record memory %d, limit %d; want at least the 32 MiB limit", r.MemoryBytes, r.MemoryLimitBytes)
	}
	recs, err := store.Records(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	need := predictMemory(t, recs, "sig-fb-oom")
	if need.Source != predict.FromHistory || need.Value < 40 {
		t.Errorf("memory after OOM = %+v, want >= 40 MiB from history", need)
	}
}

// predictMemory predicts a one-task graph of signature sig on the default
// catalog and returns the task's memory estimate on its first class.
func predictMemory(t *testing.T, recs []history.Record, sig string) predict.Estimate {
	t.Helper()
	return predictNeed(t, recs, sig).MemoryMiB
}

// predictNeed predicts a one-task graph of signature sig on the default
// catalog and returns the task's needs on its first class.
func predictNeed(t *testing.T, recs []history.Record, sig string) *predict.Need {
	t.Helper()
	p, err := predict.New(catalog.Default(), recs)
	if err != nil {
		t.Fatal(err)
	}
	g := graph.New("g")
	if err := g.AddTask(&graph.Task{Name: "t", Signature: sig, Command: "true"}); err != nil {
		t.Fatal(err)
	}
	tb, err := p.Predict(g)
	if err != nil {
		t.Fatal(err)
	}
	return tb.At(0, 0)
}

// TestServiceSurvivesRestarts restarts Nomad under a running service (it
// must reconnect and resume), then stops the service and Nomad together
// while jobs run and finish, and starts both again: the store must end
// with exactly one record per allocation.
func TestServiceSurvivesRestarts(t *testing.T) {
	a := requireAgent(t)
	store := newStore(t)
	rs := startService(t, a, store)
	rs.waitConnect(t)
	const run = "run-restart"
	register(t, a, testJob("fb-r1", run, "s-r1", "raw_exec", 64, 1, "/bin/sh", "-c", "sleep 0.3"))
	rs.waitRecords(t, run, 1)

	// 1. Nomad goes away under the service and comes back.
	register(t, a, testJob("fb-r2", run, "s-r2", "raw_exec", 64, 1, "/bin/sh", "-c", "sleep 4"))
	waitRunning(t, a, "fb-r2")
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	if err := a.start(); err != nil {
		t.Fatal(err)
	}
	rs.waitConnect(t)
	rs.waitRecords(t, run, 1)

	// 2. The service and Nomad both stop while jobs run; one finishes
	// while both are down.
	register(t, a, testJob("fb-r3", run, "s-r3", "raw_exec", 64, 1, "/bin/sh", "-c", "sleep 1"))
	register(t, a, testJob("fb-r4", run, "s-r4", "raw_exec", 64, 1, "/bin/sh", "-c", "sleep 6"))
	waitRunning(t, a, "fb-r3")
	waitRunning(t, a, "fb-r4")
	rs.stop(t)
	a.stop()
	if err := a.start(); err != nil {
		t.Fatal(err)
	}
	rs = startService(t, a, store)
	rs.waitRecords(t, run, 2)

	allocs := runAllocs(t, a, "fb-r1", "fb-r2", "fb-r3", "fb-r4")
	recs, err := store.Records(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range recs {
		if r.Run == run {
			seen[r.Alloc]++
		}
	}
	if len(seen) != len(allocs) {
		t.Errorf("%d allocations recorded, want %d: %v", len(seen), len(allocs), seen)
	}
	for _, id := range allocs {
		if seen[id] != 1 {
			t.Errorf("allocation %s recorded %d times", id, seen[id])
		}
	}
}

// waitRunning blocks (blocking queries) until job has a running or
// terminal allocation.
func waitRunning(t *testing.T, a *testAgent, job string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), recordWait)
	defer cancel()
	var index uint64
	for ctx.Err() == nil {
		allocs, qm, err := a.client.Jobs().Allocations(job, false, (&api.QueryOptions{WaitIndex: index}).WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		index = qm.LastIndex
		for _, al := range allocs {
			if al.ClientStatus != api.AllocClientStatusPending {
				return
			}
		}
	}
	t.Fatalf("job %s never ran", job)
}

// runAllocs lists the allocation IDs of jobs.
func runAllocs(t *testing.T, a *testAgent, jobs ...string) []string {
	t.Helper()
	var out []string
	for _, j := range jobs {
		allocs, _, err := a.client.Jobs().Allocations(j, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, al := range allocs {
			out = append(out, al.ID)
		}
	}
	return out
}

// taskEvents describes the task events of an allocation, for failures.
func taskEvents(a *testAgent, alloc string) string {
	al, _, err := a.client.Allocations().Info(alloc, nil)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for task, ts := range al.TaskStates {
		for _, e := range ts.Events {
			fmt.Fprintf(&b, "  %s: %s exit=%d signal=%d %s %v\n", task, e.Type, e.ExitCode, e.Signal, e.DisplayMessage, e.Details)
		}
	}
	if rc, err := a.client.AllocFS().Cat(al, "alloc/logs/main.stderr.0", nil); err == nil {
		defer rc.Close()
		stderr, _ := io.ReadAll(io.LimitReader(rc, 4096))
		fmt.Fprintf(&b, "  stderr: %s\n", stderr)
	}
	return b.String()
}

// unreachableClient returns a client for an address nothing listens on.
func unreachableClient(t *testing.T) *api.Client {
	t.Helper()
	srv := httptest.NewServer(nil)
	addr := srv.URL
	srv.Close()
	c, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestServiceFailFirstConnect(t *testing.T) {
	svc, err := New(Config{Client: unreachableClient(t), Store: newStore(t), FailFirstConnect: true,
		MinBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = svc.Run(ctx)
	var ce *ConnectError
	if !errors.As(err, &ce) || ctx.Err() != nil {
		t.Fatalf("Run = %v, want a *ConnectError at once", err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Run = %v, want it to wrap ECONNREFUSED", err)
	}
}

func TestServiceRetriesWithoutFailFirstConnect(t *testing.T) {
	svc, err := New(Config{Client: unreachableClient(t), Store: newStore(t),
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := svc.Run(ctx); err != nil {
		t.Fatalf("Run = %v, want nil after retrying until the context ended", err)
	}
	if ctx.Err() == nil {
		t.Fatal("Run returned before its context ended")
	}
}

// TestServiceRecordsOnlyItsRun runs a job of another run to completion,
// then starts a service restricted to run "mine" on a new store (whose
// reconcile pass reads every allocation the cluster holds) and runs a job
// of "mine": the store ends with the one record of "mine" and nothing of
// the other run.
func TestServiceRecordsOnlyItsRun(t *testing.T) {
	a := requireAgent(t)
	register(t, a, testJob("fb-other", "other", "s-other", "raw_exec", 64, 1, "/bin/true"))
	waitComplete(t, a, "fb-other")
	store := newStore(t)
	rs := startServiceRun(t, a, store, "mine")
	rs.waitConnect(t)
	register(t, a, testJob("fb-mine", "mine", "s-mine", "raw_exec", 64, 1, "/bin/true"))
	rs.waitRecords(t, "mine", 1)
	rs.stop(t)
	recs, err := store.Records(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Run != "mine" {
		t.Errorf("store holds %d records, want only the one of run mine: %+v", len(recs), recs)
	}
	// The run-restricted service kept its own cursor: a service of every
	// run on the same store still records the other run's allocation,
	// which completed before the cursor the first service reached.
	all := startService(t, a, store)
	all.waitConnect(t)
	all.waitRecords(t, "other", 1)
	all.stop(t)
}

// waitComplete waits until every allocation of job is terminal.
func waitComplete(t *testing.T, a *testAgent, job string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), recordWait)
	defer cancel()
	var index uint64
	for ctx.Err() == nil {
		allocs, qm, err := a.client.Jobs().Allocations(job, false, (&api.QueryOptions{WaitIndex: index}).WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		index = qm.LastIndex
		done := len(allocs) > 0
		for _, al := range allocs {
			done = done && terminal(al.ClientStatus)
		}
		if done {
			return
		}
	}
	t.Fatalf("job %s never finished", job)
}

// TestRecordWritesWhatTheStreamHasNotDelivered is the end of a run whose
// allocations ended before the service's event loop handled their events
// (it was still reconciling or replaying Nomad's event buffer, as on a
// busy cluster): a service whose Run never handled any event records,
// from Nomad, the OOM-killed allocation of its run it is given, with the
// OOM verdict, and skips the rest: an allocation of another run, one still
// running and one Nomad does not know. A second call writes nothing.
func TestRecordWritesWhatTheStreamHasNotDelivered(t *testing.T) {
	a := requireAgent(t)
	store := newStore(t)
	const run = "run-record"
	register(t, a, testJob("fb-rec-oom", run, "s-oom", "exec", 32, 1, "/bin/sh", "-c", "x=x; while :; do x=$x$x; done"))
	register(t, a, testJob("fb-rec-other", "other-run", "s-other", "raw_exec", 64, 1, "/bin/true"))
	register(t, a, testJob("fb-rec-long", run, "s-long", "raw_exec", 64, 1, "/bin/sleep", "600"))
	t.Cleanup(func() { _, _, _ = a.client.Jobs().Deregister("fb-rec-long", true, nil) })
	waitComplete(t, a, "fb-rec-oom")
	waitComplete(t, a, "fb-rec-other")
	waitRunning(t, a, "fb-rec-long")

	var committed []history.Record
	svc, err := New(Config{Client: a.client, Store: store, Run: run,
		OnCommit: func(rs []history.Record) { committed = append(committed, rs...) }})
	if err != nil {
		t.Fatal(err)
	}
	ids := append(runAllocs(t, a, "fb-rec-oom", "fb-rec-other", "fb-rec-long"), "00000000-0000-0000-0000-000000000000")
	ctx, cancel := context.WithTimeout(context.Background(), recordWait)
	defer cancel()
	recs, err := svc.Record(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	oom := runAllocs(t, a, "fb-rec-oom")
	if len(recs) != 1 || recs[0].Alloc != oom[0] || len(committed) != 1 {
		t.Fatalf("recorded %+v (OnCommit %d), want only allocation %s of run %s", recs, len(committed), oom[0], run)
	}
	if r := recs[0]; !r.OOMKilled || r.ExitCode != 137 || r.MemoryLimitBytes != 32<<20 || r.MemoryBytes < r.MemoryLimitBytes {
		t.Errorf("record %+v, want OOM-killed with exit 137 at its 32 MiB limit\ntask events:\n%s", r, taskEvents(a, r.Alloc))
	}
	again, err := svc.Record(ctx, ids)
	if err != nil || len(again) != 0 {
		t.Errorf("second Record wrote %d records (error %v), want none", len(again), err)
	}
	if n, err := store.Count(ctx); err != nil || n != 1 {
		t.Errorf("store holds %d records (error %v), want 1", n, err)
	}
}
