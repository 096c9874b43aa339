package launcher

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/planner/plan"
)

// t0 is the synthetic runs' start.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// splitPlan is one task split in three pieces, job "job-p" with count 3,
// after an unsplit shard "a".
func splitPlan(t *testing.T) (*plan.Plan, *tracker) {
	t.Helper()
	p := &plan.Plan{Run: "r1", Graph: "g", Shards: []*plan.Shard{{ID: "a", Job: "job-a", Class: "cpu"}}}
	for i := range 3 {
		p.Shards = append(p.Shards, &plan.Shard{ID: fmt.Sprintf("p%d", i), Job: "job-p", Class: "cpu", Upstream: []string{"a"},
			Split: &plan.Split{Task: "p", Index: i, Count: 3}})
	}
	tr, err := newTracker(p, []*api.Job{testJob("job-a", "batch", 1), testJob("job-p", "batch", 3)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p, tr
}

// submitPieces completes "a" and registers the split job at Raft index
// 10, and returns its unit.
func submitPieces(t *testing.T, tr *tracker) *unit {
	t.Helper()
	submitAll(tr, 1)
	finish(t, tr, "job-a", 2)
	submitAll(tr, 10)
	return tr.byJob["job-p"]
}

// timed is alloc with its task started and, when finish is not zero,
// finished at the given seconds after t0.
func timed(a allocInfo, start, finish float64) allocInfo {
	ts := &api.TaskState{State: "running", StartedAt: t0.Add(seconds(start))}
	if finish > 0 {
		ts.State, ts.FinishedAt = "dead", t0.Add(seconds(finish))
	}
	a.TaskStates = map[string]*api.TaskState{"t": ts}
	return a
}

func pieceStatesOf(u *unit) string { return fmt.Sprint(u.pieceStates()) }

// TestPiecesEndAtDifferentTimes feeds the allocation updates of a job
// split in three whose pieces are placed, run and complete at different
// times, one failing once and rescheduled: each piece's state follows
// its own allocation, not the job's.
func TestPiecesEndAtDifferentTimes(t *testing.T) {
	_, tr := splitPlan(t)
	u := submitPieces(t, tr)
	steps := []struct {
		name   string
		allocs []allocInfo
		want   string
		unit   State
	}{
		{"registered", nil, "[submitted submitted submitted]", Submitted},
		{"piece 0 placed", []allocInfo{alloc("job-p", 0, "pending", "n1", 11, 11)}, "[submitted submitted submitted]", Submitted},
		{"piece 0 runs", []allocInfo{timed(alloc("job-p", 0, "running", "n1", 11, 12), 1, 0)}, "[running submitted submitted]", Running},
		{"piece 1 runs", []allocInfo{timed(alloc("job-p", 1, "running", "n2", 13, 14), 2, 0)}, "[running running submitted]", Running},
		{"piece 0 completes", []allocInfo{timed(alloc("job-p", 0, "complete", "n1", 11, 15), 1, 4)}, "[complete running submitted]", Running},
		{"piece 2 fails, to be rescheduled", []allocInfo{timed(alloc("job-p", 2, "failed", "n1", 16, 17), 5, 6)}, "[complete running submitted]", Running},
		{"piece 2's replacement runs", []allocInfo{timed(alloc("job-p", 2, "running", "n2", 18, 19), 7, 0)}, "[complete running running]", Running},
		{"piece 1 completes", []allocInfo{timed(alloc("job-p", 1, "complete", "n2", 13, 20), 2, 12)}, "[complete complete running]", Running},
		{"piece 2 completes", []allocInfo{timed(alloc("job-p", 2, "complete", "n2", 18, 21), 7, 8)}, "[complete complete complete]", Complete},
	}
	for _, st := range steps {
		for _, a := range st.allocs {
			if tr.observeAlloc("job-p", a) == nil {
				t.Fatalf("%s: update of %s not applied", st.name, a.Name)
			}
		}
		tr.settle(u, t0)
		if got := pieceStatesOf(u); got != st.want || u.state != st.unit {
			t.Fatalf("%s: pieces %s job %v, want %s job %v", st.name, got, u.state, st.want, st.unit)
		}
	}
	// Each piece shows its own allocation, node and run time.
	for i, want := range []struct {
		node   string
		actual time.Duration
	}{{"n1", 3 * time.Second}, {"n2", 10 * time.Second}, {"n2", time.Second}} {
		p := u.piece(i)
		if !p.placed || p.alloc.NodeName != want.node || actual(p.alloc, t0) != want.actual || p.alloc.Index != i {
			t.Errorf("piece %d: alloc %s on %s ran %s, want index %d on %s for %s", i, p.alloc.Name, p.alloc.NodeName,
				actual(p.alloc, t0), i, want.node, want.actual)
		}
	}
}

// TestBlockedReasonOnlyOnUnplacedPieces: Nomad's word that it cannot
// place allocations yet concerns the pieces that have none, not those
// running.
func TestBlockedReasonOnlyOnUnplacedPieces(t *testing.T) {
	_, tr := splitPlan(t)
	u := submitPieces(t, tr)
	tr.observeAlloc("job-p", alloc("job-p", 0, "running", "n1", 11, 12))
	tr.settle(u, t0)
	if tr.observeBlocked("job-p", 10, "no node of class cpu has 2 GiB free", t0) == nil {
		t.Fatal("blocked evaluation not applied")
	}
	for i, want := range []string{"", "no node of class cpu has 2 GiB free", "no node of class cpu has 2 GiB free"} {
		if got := u.piece(i).reason; got != want {
			t.Errorf("piece %d: reason %q, want %q", i, got, want)
		}
	}
}

// TestFailedJobPiecesEndDifferently: a split job that fails for good
// (one piece never placed) keeps its complete piece complete, fails the
// piece that never ran and stops the one still running.
func TestFailedJobPiecesEndDifferently(t *testing.T) {
	_, tr := splitPlan(t)
	u := submitPieces(t, tr)
	tr.observeAlloc("job-p", alloc("job-p", 0, "complete", "n1", 11, 13))
	tr.observeAlloc("job-p", alloc("job-p", 1, "running", "n2", 11, 12))
	tr.unplaceable(u, "no node of class cpu has 64 GiB of memory")
	if v := tr.settle(u, t0); v != giveUp {
		t.Fatalf("verdict %v, want giveUp", v)
	}
	if got := pieceStatesOf(u); got != "[complete stopped failed]" {
		t.Errorf("pieces %s, want [complete stopped failed]", got)
	}
	if r := u.piece(2).reason; !strings.Contains(r, "64 GiB") {
		t.Errorf("failed piece's reason %q does not say why", r)
	}
	if r := u.piece(0).reason + u.piece(1).reason; r != "" {
		t.Errorf("complete and stopped pieces carry a reason: %q", r)
	}
}

// lineRecorder is a Progress that keeps every change but placements as
// Plain's text, with the snapshot's counts.
type lineRecorder struct{ lines []string }

func (r *lineRecorder) Start(Snapshot) {}
func (r *lineRecorder) Change(c Change, s Snapshot) {
	if !c.Placed {
		r.lines = append(r.lines, c.Shard+" "+changeText(c)+" ["+countsText(s)+"]")
	}
}
func (r *lineRecorder) Finish(Snapshot) {}

// TestProgressCountsEachPiece drives the runner's progress with the
// allocation updates of pieces running and completing at different
// times: each update moves only its own piece, the counts count pieces,
// and a placement reprints nothing.
func TestProgressCountsEachPiece(t *testing.T) {
	p, tr := splitPlan(t)
	rec := &lineRecorder{}
	r := newRunner(nil, p, tr, Options{Progress: rec}, "")
	step := func(name string, want []string, allocs ...allocInfo) {
		t.Helper()
		rec.lines = nil
		for _, a := range allocs {
			u := tr.observeAlloc(allocJob(a), a)
			if u == nil {
				t.Fatalf("%s: update of %s not applied", name, a.Name)
			}
			tr.settle(u, t0)
		}
		r.notify()
		if !slices.Equal(rec.lines, want) {
			t.Errorf("%s: changes\n%s\nwant\n%s", name, strings.Join(rec.lines, "\n"), strings.Join(want, "\n"))
		}
	}
	submitAll(tr, 1)
	step("a submitted", []string{"a submitted to cpu [3 pending, 1 submitted, 0/4 complete]"})
	step("a complete", []string{"a complete on n1 [3 pending, 1/4 complete]"}, alloc("job-a", 0, "complete", "n1", 2, 3))
	submitAll(tr, 10)
	step("pieces submitted", []string{
		"p0 submitted to cpu [3 submitted, 1/4 complete]",
		"p1 submitted to cpu [3 submitted, 1/4 complete]",
		"p2 submitted to cpu [3 submitted, 1/4 complete]",
	})
	step("p1 placed", nil, alloc("job-p", 1, "pending", "n2", 11, 11))
	step("p1 runs", []string{"p1 running on n2 [2 submitted, 1 running, 1/4 complete]"}, alloc("job-p", 1, "running", "n2", 11, 12))
	step("p0 runs", []string{"p0 running on n1 [1 submitted, 2 running, 1/4 complete]"}, alloc("job-p", 0, "running", "n1", 13, 14))
	step("p1 completes", []string{"p1 complete on n2 [1 submitted, 1 running, 2/4 complete]"}, alloc("job-p", 1, "complete", "n2", 11, 15))
	step("p2 runs, p0 completes", []string{
		"p0 complete on n1 [1 running, 3/4 complete]",
		"p2 running on n1 [1 running, 3/4 complete]",
	}, alloc("job-p", 2, "running", "n1", 16, 17), alloc("job-p", 0, "complete", "n1", 13, 18))
	step("p2 completes", []string{"p2 complete on n1 [4/4 complete]"}, alloc("job-p", 2, "complete", "n1", 16, 19))

	// The report gives each piece its own allocation and node.
	r.nodes.class["n1"], r.nodes.class["n2"] = "cpu", "cpu" // no Nomad to ask
	rep := r.report()
	for _, s := range rep.Shards {
		want := map[string]string{"a": "job-a-0-2", "p0": "job-p-0-13", "p1": "job-p-1-11", "p2": "job-p-2-16"}[s.Shard]
		if s.Alloc != want || s.State != Complete {
			t.Errorf("report: %s in %s %v, want %s complete", s.Shard, s.Alloc, s.State, want)
		}
	}
}

// allocJob is the job of an allocation named "JOB.g[i]".
func allocJob(a allocInfo) string { return a.Name[:strings.Index(a.Name, ".g[")] }

// TestStoredPiecesKeepOwnState: the progress a launcher stores gives each
// piece of an ended job its own state, and a reader of a state stored
// before pieces had one (no "state" in a piece) takes the job's.
func TestStoredPiecesKeepOwnState(t *testing.T) {
	p, tr := splitPlan(t)
	r := newRunner(nil, p, tr, Options{}, "")
	for _, n := range []string{"n1", "n2", "n-job-a"} {
		r.nodes.class[n] = "cpu" // no Nomad to ask
	}
	u := submitPieces(t, tr)
	tr.observeAlloc("job-p", timed(alloc("job-p", 0, "complete", "n1", 11, 13), 1, 3))
	tr.observeAlloc("job-p", timed(alloc("job-p", 1, "running", "n2", 11, 12), 1, 0))
	tr.unplaceable(u, "never placed")
	tr.settle(u, t0.Add(9*time.Second))
	prog := r.progress(context.Background())
	var states []string
	for _, pc := range prog.Units["job-p"].Pieces {
		states = append(states, pc.State)
	}
	if fmt.Sprint(states) != "[complete stopped failed]" || prog.DoneShards != 2 {
		t.Fatalf("stored pieces %v, %d shards done; want [complete stopped failed], 2", states, prog.DoneShards)
	}
	b, err := json.Marshal(prog)
	if err != nil {
		t.Fatal(err)
	}
	var back runstate.Progress
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Shards[1:] {
		ss := shardStatus(s, back.Units["job-p"], nil) // Nomad has collected the job
		got = append(got, fmt.Sprintf("%s %s %s %s", ss.Shard, ss.State, durCell(ss.Actual), dash(ss.Node)))
	}
	if want := "[p0 complete 2.0s n1 p1 stopped 8.0s n2 p2 failed - -]"; fmt.Sprint(got) != want {
		t.Errorf("status from the stored pieces %v, want %s", got, want)
	}

	// A unit restored from that record (Nomad collected the job) keeps
	// each piece's state.
	_, tr2 := splitPlan(t)
	u2 := tr2.byJob["job-p"]
	u2.restoreRecord(back.Units["job-p"])
	u2.state = Failed
	if got := pieceStatesOf(u2); got != "[complete stopped failed]" {
		t.Errorf("restored pieces %s, want [complete stopped failed]", got)
	}

	// An older launcher's record: pieces without a state.
	old := `{"attempts":1,"state":"complete","submitted":"2026-01-02T03:04:05Z","finished":"2026-01-02T03:04:15Z",
		"pieces":[{"alloc":"x0","node":"n1","actual":3000000000},{"alloc":"x1","node":"n2","actual":5000000000},{"alloc":"x2","node":"n1","actual":1000000000}]}`
	var oldRec runstate.Unit
	if err := json.Unmarshal([]byte(old), &oldRec); err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, s := range p.Shards[1:] {
		ss := shardStatus(s, &oldRec, nil)
		got = append(got, fmt.Sprintf("%s %s %s %s", ss.Shard, ss.State, durCell(ss.Actual), dash(ss.Node)))
	}
	if want := "[p0 complete 3.0s n1 p1 complete 5.0s n2 p2 complete 1.0s n1]"; fmt.Sprint(got) != want {
		t.Errorf("status from an older record %v, want %s", got, want)
	}
}

// TestStatusRowsPerPiece: while Nomad has a split job, each of its
// shards' rows in `status` shows its own piece's state, run time and
// node (PieceStatus), not the job's.
func TestStatusRowsPerPiece(t *testing.T) {
	p, _ := splitPlan(t)
	j := &JobStatus{ID: "job-p", State: Running, Attempt: 1, Nodes: []string{"n1", "n2"}, Runtime: 9 * time.Second,
		Pieces: []PieceStatus{
			{State: Complete, Alloc: "x0", Node: "n1", Runtime: 2 * time.Second},
			{State: Running, Alloc: "x1", Node: "n2", Runtime: 9 * time.Second},
			{State: Submitted},
		}}
	var got []string
	for _, s := range p.Shards[1:] {
		ss := shardStatus(s, &runstate.Unit{Attempts: 1, State: "running"}, j)
		got = append(got, fmt.Sprintf("%s %s %s %s %d", ss.Shard, ss.State, durCell(ss.Actual), dash(ss.Node), ss.Attempts))
	}
	if want := "[p0 complete 2.0s n1 1 p1 running 9.0s n2 1 p2 queued - - 1]"; fmt.Sprint(got) != want {
		t.Errorf("rows %v, want %s", got, want)
	}
}

// TestUnsplitFailedShardStaysFailed: a job of one shard that fails for
// good shows that shard failed, even with its allocation still running
// (the job was stopped outside the run), as before pieces had their own
// state.
func TestUnsplitFailedShardStaysFailed(t *testing.T) {
	_, tr := splitPlan(t)
	submitAll(tr, 1)
	a := tr.byJob["job-a"]
	tr.observeAlloc("job-a", alloc("job-a", 0, "running", "n1", 2, 3))
	tr.observeJob("job-a", jobInfo{Status: "running", Stop: true, JobModifyIndex: 1, ModifyIndex: 4})
	if v := tr.settle(a, t0); v != giveUp {
		t.Fatalf("verdict %v, want giveUp", v)
	}
	if p := a.piece(0); p.state != Failed || !strings.Contains(p.reason, "stopped outside") {
		t.Errorf("shard %v (%q), want failed: the job was stopped outside this run", p.state, p.reason)
	}
}

// TestStatusDocPiecesOfSplitJob: `status -format json` gives a split job
// its pieces (index, state, allocation, node, actual seconds), as the
// text rows show them, and a job of one piece none.
func TestStatusDocPiecesOfSplitJob(t *testing.T) {
	st := &RunStatus{Run: "r", Jobs: []JobStatus{
		{ID: "job-p", State: Running, Attempt: 1, Pieces: []PieceStatus{
			{State: Complete, Alloc: "x0", Node: "n1", Runtime: 2 * time.Second},
			{State: Running, Alloc: "x1", Node: "n2", Runtime: 9500 * time.Millisecond},
			{State: Submitted},
		}},
		{ID: "job-a", State: Complete, Attempt: 1, Pieces: []PieceStatus{{State: Complete, Alloc: "y0", Node: "n1", Runtime: time.Second}}},
	}}
	b, err := json.Marshal(st.Doc(t0))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Jobs []struct {
			ID     string           `json:"id"`
			Pieces []map[string]any `json:"pieces"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Jobs) != 2 {
		t.Fatalf("jobs %s", b)
	}
	got := fmt.Sprint(doc.Jobs[0].Pieces)
	want := "[map[actual_seconds:2 allocation:x0 index:0 node:n1 state:complete] " +
		"map[actual_seconds:9.5 allocation:x1 index:1 node:n2 state:running] " +
		"map[actual_seconds:0 index:2 state:submitted]]"
	if got != want {
		t.Errorf("pieces of the split job %s\nwant %s", got, want)
	}
	if doc.Jobs[1].Pieces != nil || strings.Contains(string(b), `"allocation":"y0"`) {
		t.Errorf("a job of one piece has pieces: %s", b)
	}
}
