package launcher

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/plan"
)

// fixture is a small plan: a -> b (split in 2) -> e, and a -> c ~> d
// where c streams into d, so c and d are one submission group.
func fixture() (*plan.Plan, []*api.Job) {
	p := &plan.Plan{Run: "r1", Graph: "g"}
	add := func(id, job string, split *plan.Split, up ...string) {
		p.Shards = append(p.Shards, &plan.Shard{ID: id, Job: job, Split: split, Upstream: up, Class: "cpu"})
	}
	add("a", "job-a", nil)
	add("b0", "job-b", &plan.Split{Task: "b", Index: 0, Count: 2}, "a")
	add("b1", "job-b", &plan.Split{Task: "b", Index: 1, Count: 2}, "a")
	add("c", "job-c", nil, "a")
	add("d", "job-d", nil, "c")
	add("e", "job-e", nil, "b0", "b1", "d")
	ch := func(from, to string, stream bool, bytes int64) {
		p.Channels = append(p.Channels, &plan.Channel{From: from, To: to, Stream: stream, Bytes: bytes})
	}
	ch("a", "b0", false, 100)
	ch("a", "b1", false, 100)
	ch("a", "c", false, 50)
	ch("c", "d", true, 10)
	ch("b0", "e", false, 30)
	ch("b1", "e", false, 10)
	ch("d", "e", false, 0)
	var jobs []*api.Job
	for _, id := range []string{"job-a", "job-b", "job-c", "job-d", "job-e"} {
		count := 1
		if id == "job-b" {
			count = 2
		}
		jobs = append(jobs, testJob(id, "batch", count))
	}
	return p, jobs
}

func testJob(id, typ string, count int) *api.Job {
	return &api.Job{ID: new(id), Type: new(typ), TaskGroups: []*api.TaskGroup{{
		Name: new("g"), Count: new(count),
		Constraints: []*api.Constraint{api.NewConstraint(attrNodeClass, "=", "cpu")},
	}}}
}

func newTestTracker(t *testing.T, retries int) *tracker {
	t.Helper()
	p, jobs := fixture()
	tr, err := newTracker(p, jobs, retries)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// readyJobs returns the job IDs of the ready groups, one string per group.
func readyJobs(tr *tracker) []string {
	var out []string
	for _, g := range tr.ready() {
		var ids []string
		for _, u := range g.units {
			ids = append(ids, u.id)
		}
		out = append(out, strings.Join(ids, "+"))
	}
	return out
}

// alloc returns an allocation of job at index i on node, created at
// Raft index create and last modified at modify.
func alloc(job string, i int, status, node string, create, modify uint64) allocInfo {
	return allocInfo{ID: fmt.Sprintf("%s-%d-%d", job, i, create),
		Name: job + ".g[" + string(rune('0'+i)) + "]", Index: i, NodeID: node, NodeName: node,
		ClientStatus: status, DesiredStatus: "run", CreateIndex: create, ModifyIndex: modify}
}

func dead(jobModify, modify uint64) jobInfo {
	return jobInfo{Status: jobStatusDead, JobModifyIndex: jobModify, ModifyIndex: modify}
}

// submitAll registers every ready group's units at index since.
func submitAll(tr *tracker, since uint64) {
	for _, g := range tr.ready() {
		for _, u := range g.units {
			tr.registered(u, since, time.Time{})
		}
	}
}

// finish marks every allocation index of job complete and settles it.
func finish(t *testing.T, tr *tracker, job string, at uint64) {
	t.Helper()
	u := tr.byJob[job]
	for i := range u.count {
		tr.observeAlloc(job, alloc(job, i, "complete", "n-"+job, at, at+1))
	}
	if v := tr.settle(u, time.Time{}); v != done {
		t.Fatalf("%s: verdict %v, want done", job, v)
	}
}

func TestDependencyOrder(t *testing.T) {
	tr := newTestTracker(t, 0)
	steps := []struct {
		complete string
		want     []string
	}{
		{"", []string{"job-a"}},
		{"job-a", []string{"job-b", "job-c+job-d"}},
		{"job-b", nil},
		{"job-c", nil},
		{"job-d", []string{"job-e"}},
	}
	var idx uint64 = 10
	for _, st := range steps {
		if st.complete != "" {
			finish(t, tr, st.complete, idx+1)
		}
		if got := readyJobs(tr); !slices.Equal(got, st.want) {
			t.Fatalf("after %q complete: ready %v, want %v", st.complete, got, st.want)
		}
		submitAll(tr, idx)
		idx += 10
	}
}

func TestSplitJobCompletesWhenEveryPieceCompletes(t *testing.T) {
	tr := newTestTracker(t, 0)
	submitAll(tr, 1)
	finish(t, tr, "job-a", 2)
	submitAll(tr, 5)
	b := tr.byJob["job-b"]
	tr.observeAlloc("job-b", alloc("job-b", 0, "complete", "n1", 6, 8))
	tr.observeAlloc("job-b", alloc("job-b", 1, "running", "n2", 6, 7))
	if v := tr.settle(b, time.Time{}); v != keep || b.state != Running {
		t.Fatalf("one piece complete: verdict %v state %v, want keep/running", v, b.state)
	}
	if got := b.pieceStates(); !slices.Equal(got, []State{Complete, Running}) {
		t.Errorf("piece states %v, want [complete running]", got)
	}
	tr.observeAlloc("job-b", alloc("job-b", 1, "complete", "n2", 6, 9))
	if v := tr.settle(b, time.Time{}); v != done || b.state != Complete {
		t.Fatalf("both pieces complete: verdict %v state %v, want done/complete", v, b.state)
	}
}

func TestStaleAllocationUpdateIgnored(t *testing.T) {
	tr := newTestTracker(t, 0)
	submitAll(tr, 1)
	a := tr.byJob["job-a"]
	tr.observeAlloc("job-a", alloc("job-a", 0, "complete", "n1", 2, 9))
	if u := tr.observeAlloc("job-a", alloc("job-a", 0, "running", "n1", 2, 5)); u != nil {
		t.Error("an older update of a known allocation was applied")
	}
	if v := tr.settle(a, time.Time{}); v != done {
		t.Errorf("verdict %v, want done", v)
	}
	// An allocation created before the registration belongs to an
	// earlier job of the same ID.
	tr2 := newTestTracker(t, 0)
	submitAll(tr2, 100)
	if u := tr2.observeAlloc("job-a", alloc("job-a", 0, "complete", "n1", 50, 60)); u != nil {
		t.Error("an allocation older than the registration was applied")
	}
}

func TestRetryThenGiveUp(t *testing.T) {
	tr := newTestTracker(t, 1)
	submitAll(tr, 10)
	a := tr.byJob["job-a"]
	first := alloc("job-a", 0, "failed", "n1", 11, 12)
	tr.observeAlloc("job-a", first)
	if v := tr.settle(a, time.Time{}); v != keep {
		t.Fatalf("failed alloc, job not dead: verdict %v, want keep (Nomad may reschedule)", v)
	}
	tr.observeJob("job-a", dead(10, 13))
	if v := tr.settle(a, time.Time{}); v != retry {
		t.Fatalf("job dead: verdict %v, want retry", v)
	}
	tr.registered(a, 20, time.Time{})
	if a.attempt != 2 || a.state != Submitted || len(a.allocs) != 0 {
		t.Fatalf("after re-registering: attempt %d state %v allocs %d", a.attempt, a.state, len(a.allocs))
	}
	if !strings.Contains(a.reason, "attempt 2 of 2") {
		t.Errorf("reason %q does not say which attempt", a.reason)
	}
	// The old job's dead state and old allocation must not end attempt 2.
	tr.observeJob("job-a", dead(10, 13))
	tr.observeAlloc("job-a", first)
	if v := tr.settle(a, time.Time{}); v != keep {
		t.Fatalf("stale failure applied to attempt 2: verdict %v", v)
	}
	second := alloc("job-a", 0, "failed", "n1", 21, 22)
	tr.observeAlloc("job-a", second)
	tr.observeJob("job-a", dead(20, 23))
	if v := tr.settle(a, time.Time{}); v != giveUp || a.state != Failed {
		t.Fatalf("attempt 2 dead: verdict %v state %v, want giveUp/failed", v, a.state)
	}
	if a.failedAlloc != second.ID {
		t.Errorf("failed alloc %q, want %q", a.failedAlloc, second.ID)
	}
	if got := readyJobs(tr); len(got) != 0 {
		t.Errorf("downstream ready after a failure: %v", got)
	}
}

func TestStoppedOutsideIsFinal(t *testing.T) {
	tr := newTestTracker(t, 3)
	submitAll(tr, 10)
	a := tr.byJob["job-a"]
	tr.observeJob("job-a", jobInfo{Status: "running", Stop: true, JobModifyIndex: 10, ModifyIndex: 14})
	if v := tr.settle(a, time.Time{}); v != giveUp {
		t.Fatalf("stopped job: verdict %v, want giveUp despite retries", v)
	}
}

func TestDoubtfulWhenDeadWithoutFailure(t *testing.T) {
	tr := newTestTracker(t, 0)
	submitAll(tr, 10)
	a := tr.byJob["job-a"]
	tr.observeJob("job-a", dead(10, 13))
	if !tr.doubtful(a) {
		t.Error("dead job with no allocation in view is not doubtful")
	}
	tr.observeAlloc("job-a", alloc("job-a", 0, "complete", "n1", 11, 12))
	if tr.doubtful(a) {
		t.Error("dead job with its allocation complete is doubtful")
	}
}

func TestServiceDoneWhenHealthy(t *testing.T) {
	p := &plan.Plan{Shards: []*plan.Shard{{ID: "s", Job: "svc"}}}
	tr, err := newTracker(p, []*api.Job{testJob("svc", "service", 1)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	submitAll(tr, 1)
	u := tr.byJob["svc"]
	a := alloc("svc", 0, "running", "n1", 2, 3)
	a.DeploymentID = "dep"
	tr.observeAlloc("svc", a)
	if v := tr.settle(u, time.Time{}); v != keep || u.state != Running {
		t.Fatalf("running, health undecided: verdict %v state %v", v, u.state)
	}
	a.ModifyIndex, a.Healthy = 4, new(true)
	tr.observeAlloc("svc", a)
	if v := tr.settle(u, time.Time{}); v != done {
		t.Fatalf("running and healthy: verdict %v, want done", v)
	}
	// Unhealthy is a failure.
	tr2, _ := newTracker(p, []*api.Job{testJob("svc", "service", 1)}, 0)
	submitAll(tr2, 1)
	a.ModifyIndex, a.Healthy = 5, new(false)
	tr2.observeAlloc("svc", a)
	if v := tr2.settle(tr2.byJob["svc"], time.Time{}); v != giveUp {
		t.Fatalf("unhealthy: verdict %v, want giveUp", v)
	}
}

func TestStreamCycleRejected(t *testing.T) {
	// x streams into y, and y waits (not streaming) for z, which waits for x.
	p := &plan.Plan{
		Shards:   []*plan.Shard{{ID: "x", Job: "jx"}, {ID: "y", Job: "jy", Upstream: []string{"x", "z"}}, {ID: "z", Job: "jz", Upstream: []string{"x"}}},
		Channels: []*plan.Channel{{From: "x", To: "y", Stream: true}, {From: "z", To: "y"}, {From: "x", To: "z"}},
	}
	jobs := []*api.Job{testJob("jx", "batch", 1), testJob("jy", "batch", 1), testJob("jz", "batch", 1)}
	if _, err := newTracker(p, jobs, 0); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("err = %v, want a cycle error", err)
	}
}

func TestTrackerRejectsMismatchedJobs(t *testing.T) {
	p, jobs := fixture()
	cases := map[string][]*api.Job{
		"missing job":   jobs[1:],
		"duplicate job": append(slices.Clone(jobs), jobs[0]),
		"extra job":     append(slices.Clone(jobs), testJob("job-x", "batch", 1)),
	}
	for name, js := range cases {
		if _, err := newTracker(p, js, 0); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := newTracker(p, jobs, -1); err == nil {
		t.Error("negative retries: no error")
	}
}

func TestAllocIndex(t *testing.T) {
	for name, want := range map[string]int{"j.g[0]": 0, "j.g[12]": 12, "j.g": -1, "j.g[x]": -1, "a[1].g[3]": 3} {
		if got := allocIndex(name); got != want {
			t.Errorf("allocIndex(%q) = %d, want %d", name, got, want)
		}
	}
}

// TestWaitsForNomadsReschedule: Nomad publishes a batch job as dead for a
// moment when its allocation fails, before the evaluation that
// reschedules the allocation is written (seen on the local cluster: the
// run failed "and Nomad will not reschedule it", then Nomad placed the
// replacement 5 s later, after the run had ended, and ran the task
// again). While the group's reschedule policy allows another placement,
// a dead job with a failed allocation is not a failure; once the
// policy's attempts are spent, it is.
func TestWaitsForNomadsReschedule(t *testing.T) {
	now := time.Date(2026, 12, 5, 5, 38, 17, 0, time.UTC)
	policy := &api.ReschedulePolicy{Attempts: new(1), Interval: new(24 * time.Hour), Delay: new(5 * time.Second),
		DelayFunction: new("constant"), Unlimited: new(false)}
	deadWith := func(jobModify, modify uint64, p *api.ReschedulePolicy) jobInfo {
		j := dead(jobModify, modify)
		j.Reschedule = p
		return j
	}
	tr := newTestTracker(t, 1)
	submitAll(tr, 10)
	a := tr.byJob["job-a"]
	first := alloc("job-a", 0, "failed", "n1", 11, 12)
	tr.observeAlloc("job-a", first)
	tr.observeJob("job-a", deadWith(10, 12, policy))
	if v := tr.settle(a, now); v != keep || a.state.terminal() || a.failedAlloc != "" {
		t.Fatalf("dead job, failed allocation Nomad will reschedule: verdict %v state %v, want keep", v, a.state)
	}
	// Nomad reschedules: the job runs again, the replacement fails with
	// the one reschedule in its tracker.
	tr.observeJob("job-a", jobInfo{Status: "pending", JobModifyIndex: 10, ModifyIndex: 13, Reschedule: policy})
	replaced := first
	replaced.DesiredStatus, replaced.ModifyIndex = "stop", 15
	tr.observeAlloc("job-a", replaced)
	second := alloc("job-a", 0, "failed", "n1", 15, 20)
	second.Reschedules = []int64{now.Add(-30 * time.Second).UnixNano()}
	tr.observeAlloc("job-a", second)
	tr.observeJob("job-a", deadWith(10, 20, policy))
	if v := tr.settle(a, now); v != retry {
		t.Fatalf("replacement failed with the policy's attempt spent: verdict %v, want retry", v)
	}
	if a.failedAlloc != second.ID || !strings.Contains(a.reason, "Nomad will not reschedule") {
		t.Errorf("failed alloc %q reason %q, want %q", a.failedAlloc, a.reason, second.ID)
	}

	// A reschedule older than the interval does not count: Nomad places
	// another replacement.
	old := second
	old.Reschedules = []int64{now.Add(-25 * time.Hour).UnixNano()}
	if !old.nomadReschedules(policy, now) {
		t.Error("a reschedule outside the interval counted against the attempts")
	}
	// No attempts (-fail-fast), no policy known, an unlimited one, and an
	// allocation Nomad was told to stop.
	if first.nomadReschedules(&api.ReschedulePolicy{Attempts: new(0), Unlimited: new(false)}, now) {
		t.Error("a policy of 0 attempts reschedules")
	}
	if first.nomadReschedules(nil, now) {
		t.Error("an unknown policy reschedules")
	}
	if !second.nomadReschedules(&api.ReschedulePolicy{Attempts: new(0), Unlimited: new(true)}, now) {
		t.Error("an unlimited policy does not reschedule")
	}
	if replaced.nomadReschedules(policy, now) {
		t.Error("an allocation desired to stop reschedules")
	}

	// -fail-fast's policy: the first dead state with a failed allocation
	// fails the attempt at once.
	tr = newTestTracker(t, 0)
	submitAll(tr, 10)
	a = tr.byJob["job-a"]
	tr.observeAlloc("job-a", first)
	tr.observeJob("job-a", deadWith(10, 12, &api.ReschedulePolicy{Attempts: new(0), Unlimited: new(false)}))
	if v := tr.settle(a, now); v != giveUp {
		t.Fatalf("fail-fast policy: verdict %v, want giveUp", v)
	}
}

// TestJobInfoKeepsReschedulePolicy: the policy the tracker judges by is
// the one in Nomad's job (the event's or the lookup's), so -fail-fast's
// copy and Nomad's defaults are what count.
func TestJobInfoKeepsReschedulePolicy(t *testing.T) {
	j := testJob("job-a", "batch", 1)
	p := &api.ReschedulePolicy{Attempts: new(3)}
	j.TaskGroups[0].ReschedulePolicy = p
	if got := fromJob(j, false).Reschedule; got != p {
		t.Errorf("fromJob kept %v, want the group's policy", got)
	}
	stub := &api.AllocationListStub{ID: "x", ClientStatus: "failed", RescheduleTracker: &api.RescheduleTracker{
		Events: []*api.RescheduleEvent{{RescheduleTime: 7}}}}
	if got := fromStub(stub).Reschedules; !slices.Equal(got, []int64{7}) {
		t.Errorf("fromStub kept reschedules %v, want [7]", got)
	}
}

// TestStoppedAllocationIsNotComplete: `nomad alloc stop` on a running
// shard (or a drain's migration) kills its task, and Nomad reports the
// allocation complete with desired status stop while it places a
// replacement. Seen on the local cluster: the launcher took the killed
// allocation for the shard's completion, started the downstream shard
// and ended the run "2/2 complete", exit 0, while the replacement still
// ran. The shard completes with its replacement.
func TestStoppedAllocationIsNotComplete(t *testing.T) {
	tr := newTestTracker(t, 1)
	submitAll(tr, 10)
	a := tr.byJob["job-a"]
	killed := alloc("job-a", 0, "complete", "n1", 11, 14)
	killed.DesiredStatus = "stop"
	tr.observeAlloc("job-a", killed)
	tr.observeJob("job-a", jobInfo{Status: "running", JobModifyIndex: 10, ModifyIndex: 14})
	if v := tr.settle(a, time.Time{}); v != keep || a.state == Complete {
		t.Fatalf("killed allocation: verdict %v state %v, want keep, not complete", v, a.state)
	}
	if got := readyJobs(tr); len(got) != 0 {
		t.Fatalf("downstream ready after a killed allocation: %v", got)
	}
	if p := a.piece(0); p.state == Complete {
		t.Errorf("piece of a killed allocation is %v", p.state)
	}
	evicted := killed
	evicted.DesiredStatus = "evict"
	if evicted.complete() {
		t.Error("an evicted allocation is complete")
	}
	tr.observeAlloc("job-a", alloc("job-a", 0, "complete", "n2", 15, 16))
	if v := tr.settle(a, time.Time{}); v != done {
		t.Fatalf("replacement complete: verdict %v, want done", v)
	}
}

// TestRestartingPieceSaysWhy: between two runs of a task Nomad restarts
// in place, the allocation is pending and the shard shows as submitted
// again; seen on the local cluster as "running" then "submitted to
// io-bound" with no word of why. The piece's reason now says which task
// ended how and when Nomad starts it again.
func TestRestartingPieceSaysWhy(t *testing.T) {
	tr := newTestTracker(t, 1)
	submitAll(tr, 10)
	a := tr.byJob["job-a"]
	pending := alloc("job-a", 0, "pending", "n1", 11, 14)
	pending.TaskStates = map[string]*api.TaskState{"b": {State: "pending", Events: []*api.TaskEvent{
		{Type: api.TaskStarted},
		{Type: api.TaskTerminated, DisplayMessage: "Exit Code: 1"},
		{Type: api.TaskRestarting, DisplayMessage: "Task restarting in 15.57452584s", StartDelay: int64(15574525840)},
	}}}
	tr.observeAlloc("job-a", pending)
	tr.settle(a, time.Time{})
	p := a.piece(0)
	want := `task "b" ended (Exit Code: 1); Nomad restarts it in 15.6s`
	if p.state != Submitted || p.reason != want {
		t.Errorf("restarting piece: %v %q, want submitted %q", p.state, p.reason, want)
	}
	// Started again: running, no reason.
	running := pending
	running.ClientStatus, running.ModifyIndex = "running", 15
	running.TaskStates = map[string]*api.TaskState{"b": {State: "running", Events: append(slices.Clone(pending.TaskStates["b"].Events), &api.TaskEvent{Type: api.TaskStarted})}}
	tr.observeAlloc("job-a", running)
	tr.settle(a, time.Time{})
	if p := a.piece(0); p.state != Running || p.reason != "" {
		t.Errorf("started again: %v %q, want running with no reason", p.state, p.reason)
	}
}

// TestOOMKilledSkipsNomadsReschedule: a failed allocation Nomad is to
// reschedule is awaited (TestWaitsForNomadsReschedule), unless the runner
// found it OOM-killed (skipOOMReschedule sets noReschedule): Nomad would
// place it again with the same memory, so the attempt fails at once and
// the launcher retries it with more memory. The runner asks once per
// allocation, and a new registration forgets both.
func TestOOMKilledSkipsNomadsReschedule(t *testing.T) {
	now := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	policy := &api.ReschedulePolicy{Attempts: new(1), Interval: new(24 * time.Hour), Unlimited: new(false)}
	tr := newTestTracker(t, 1)
	submitAll(tr, 10)
	a := tr.byJob["job-a"]
	first := alloc("job-a", 0, "failed", "n1", 11, 12)
	tr.observeAlloc("job-a", first)
	if _, ok := tr.awaitsReschedule(a, now); ok {
		t.Fatal("awaits a reschedule before the job is dead")
	}
	j := dead(10, 12)
	j.Reschedule = policy
	tr.observeJob("job-a", j)
	id, ok := tr.awaitsReschedule(a, now)
	if !ok || id != first.ID {
		t.Fatalf("awaitsReschedule = %q, %v; want %q", id, ok, first.ID)
	}
	a.oomChecked = id
	if _, ok := tr.awaitsReschedule(a, now); ok {
		t.Error("asks again about an allocation already checked")
	}
	if v := tr.settle(a, now); v != keep {
		t.Fatalf("checked, not OOM-killed: verdict %v, want keep (Nomad reschedules)", v)
	}
	a.noReschedule = id
	if v := tr.settle(a, now); v != retry {
		t.Fatalf("OOM-killed: verdict %v, want retry at once", v)
	}
	if !strings.Contains(a.reason, "not left to Nomad's reschedule") {
		t.Errorf("reason %q does not say the reschedule was not awaited", a.reason)
	}
	tr.registered(a, 20, now)
	if a.oomChecked != "" || a.noReschedule != "" {
		t.Errorf("a new registration kept oomChecked %q, noReschedule %q", a.oomChecked, a.noReschedule)
	}
}
