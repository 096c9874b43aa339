package e2e

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/e2e/cluster"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/plan"
)

// TestFeedbackRecordsEachTaskOfAFusedShard runs a fused shard of two
// tasks (testdata/run/fused-history.hcl: fetch sleeps 1 s, then align
// 2 s) with -feedback: the store gets one record per task, on the
// allocation's node, each with the task's own runtime from the shard's
// times file and no memory figure of its own (the allocation's peak is the
// shard's). The next plan (-no-fusion, to read each task's prediction)
// predicts each task from its own record; from the one record of the whole
// shard, as the service wrote before, it predicts both from defaults.
func TestFeedbackRecordsEachTaskOfAFusedShard(t *testing.T) {
	cl := cluster.Shared(t)
	env := []string{"NOMAD_ADDR=" + cl.NomadAddr()}
	db := filepath.Join(t.TempDir(), "history.db")
	graph := fixture("fused-history.hcl")
	run := runID(t)
	p := planOf(t, run, graph)
	if len(p.Shards) != 1 || len(p.Shards[0].Tasks) != 2 {
		t.Fatalf("plan %+v: want fetch and align fused into one shard", p.Shards)
	}
	out, errOut, code := cli(t, env, "run", "-run", run, "-fail-fast", "-feedback", "-history-db", db, graph)
	if code != 0 {
		t.Fatalf("run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "History: recorded 1 allocations of run "+run) {
		t.Errorf("no history line for the shard's 1 allocation:\n%s", out)
	}
	if strings.Contains(errOut, "fused shard recorded as one record") {
		t.Errorf("the service fell back to one record:\n%s", errOut)
	}

	got := map[string]history.Record{}
	for _, r := range storeRecords(t, db) {
		if r.Run == run {
			got[r.Task] = r
		}
	}
	fetch, align := got["fetch"], got["align"]
	if len(got) != 2 || fetch.Alloc == "" || align.Alloc != fetch.Alloc {
		t.Fatalf("records of run %s: %+v; want fetch and align of one allocation", run, got)
	}
	for _, tc := range []struct {
		r     history.Record
		sig   string
		sleep float64
	}{{fetch, "pt-fetch", 1}, {align, "pt-align", 2}} {
		r := tc.r
		t.Logf("%s: %.3f s from %s to %s on %s (%s), shard peak %d KiB, concurrency %d", r.Task, r.RuntimeSeconds,
			r.Start.Format("15:04:05.000"), r.End.Format("15:04:05.000"), r.Node, r.NodeClass, r.ShardMemoryBytes>>10, r.Concurrency)
		if r.Signature != tc.sig || r.Executor != "cpu-heavy" || r.ShardTasks != 2 || r.Node == "" || r.NodeClass == "" || !r.OK() {
			t.Errorf("%s: signature %q executor %q shard tasks %d node %q class %q exit %d; want %s on cpu-heavy, 2 tasks, a node and class, exit 0",
				r.Task, r.Signature, r.Executor, r.ShardTasks, r.Node, r.NodeClass, r.ExitCode, tc.sig)
		}
		// At least the sleep; the bound only catches a shard's runtime or
		// a garbled time (the shard's other task sleeps too).
		if r.RuntimeSeconds < tc.sleep || r.RuntimeSeconds > tc.sleep+60 {
			t.Errorf("%s ran %.3f s by its record, want at least its %.0f s sleep", r.Task, r.RuntimeSeconds, tc.sleep)
		}
		if r.MemoryBytes != 0 || r.PredictedRuntimeSeconds != 0 {
			t.Errorf("%s: memory %d bytes, predicted runtime %.1f s; want neither (they are the shard's)", r.Task, r.MemoryBytes, r.PredictedRuntimeSeconds)
		}
	}
	if !fetch.End.Equal(align.Start) || !fetch.Start.Before(fetch.End) || !align.Start.Before(align.End) {
		t.Errorf("fetch %s..%s, align %s..%s: want align to start as fetch ends", fetch.Start, fetch.End, align.Start, align.End)
	}

	// The next plan predicts each task from its own record.
	next := planOf(t, run+"n", graph, "-no-fusion", "-history", db)
	for _, s := range next.Shards {
		r := got[s.Tasks[0]]
		rt := s.RuntimeSeconds
		if rt.Source != plan.SourceHistory || rt.Observations != 1 || math.Abs(rt.Value-r.RuntimeSeconds) > 0.05*r.RuntimeSeconds {
			t.Errorf("next plan: %s predicted %.3f s from %s (%d records), want its record's %.3f s from history (1)",
				s.Tasks[0], rt.Value, rt.Source, rt.Observations, r.RuntimeSeconds)
		}
	}
	// The shard's one record, as the service wrote it before, tells the
	// next plan nothing of either task.
	whole := fetch
	whole.Task, whole.Signature, whole.ShardTasks, whole.ShardMemoryBytes = p.Shards[0].ID, p.Shards[0].Signature, 0, 0
	whole.End, whole.RuntimeSeconds = align.End, fetch.RuntimeSeconds+align.RuntimeSeconds
	old := filepath.Join(t.TempDir(), "shard-record.jsonl")
	if err := history.Write(old, []history.Record{whole}); err != nil {
		t.Fatal(err)
	}
	for _, s := range planOf(t, run+"o", graph, "-no-fusion", "-history", old).Shards {
		if s.RuntimeSeconds.Source != plan.SourceDefault {
			t.Errorf("plan from the shard's one record: %s runtime from %s, want default", s.Tasks[0], s.RuntimeSeconds.Source)
		}
	}
}
