package launcher

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/launcher/runstate"
	"github.com/shardwise/shardwise/sdk"
)

// goneAlloc is allocation i of job, failed because its task found the
// outputs of shard's allocation producer gone: the Terminated event the
// Nomad client records from the shard driver's exit result.
func goneAlloc(job string, i int, create uint64, shard, producer string) allocInfo {
	a := alloc(job, i, api.AllocClientStatusFailed, "n1", create, create+1)
	msg := fmt.Sprintf("fetch inputs: input %s/o (channel c): upstream gone: producer allocation %s completed, but no plugin has served the channel for 2m0s (its node or data lost); run the producer %s again %s",
		shard, producer, shard, sdk.UpstreamGoneTag(shard, producer))
	a.TaskStates = map[string]*api.TaskState{"t": {State: "dead", Failed: true, Events: []*api.TaskEvent{
		{Type: api.TaskStarted},
		{Type: api.TaskTerminated, ExitCode: 70, Message: msg, DisplayMessage: fmt.Sprintf("Exit Code: 70, Exit Message: %q", msg),
			Details: map[string]string{"exit_message": msg}},
	}}}
	return a
}

// completeAt registers job at idx and completes every allocation index.
func completeAt(t *testing.T, tr *tracker, job string, idx uint64) {
	t.Helper()
	tr.registered(tr.byJob[job], idx, time.Now())
	finish(t, tr, job, idx+1)
}

// testRunner is a runner over tr whose Nomad agent cannot be reached
// (stopping a held consumer's job only logs a warning).
func testRunner(t *testing.T, tr *tracker) *runner {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	return &runner{c: c, t: tr, o: Options{NoLocality: true}, log: hclog.NewNullLogger()}
}

// A consumer whose input's producer allocation is gone is held, its
// producer job (both pieces of split job b) runs again without spending a
// retry of either, and the consumer is registered again, naming the new
// allocation, once the producer is complete.
func TestConsumerFindingOutputsGoneRunsTheProducerAgain(t *testing.T) {
	p, jobs := fixture()
	jobs[4].TaskGroups[0].Tasks = []*api.Task{shardTask(
		sdk.ChannelConfig{ID: "b0->e/o", From: "b0", To: "e", Name: "o"},
		sdk.ChannelConfig{ID: "b1->e/o", From: "b1", To: "e", Name: "o"},
		sdk.ChannelConfig{ID: "d->e", From: "d", To: "e"})}
	tr, err := newTracker(p, jobs, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := testRunner(t, tr)
	r.plan = p
	for i, job := range []string{"job-a", "job-b", "job-c", "job-d"} {
		completeAt(t, tr, job, uint64(10*(i+1)))
	}
	b, e := tr.byJob["job-b"], tr.byJob["job-e"]
	tr.registered(e, 50, time.Now())
	if got := inputAllocs(t, r.submission(t.Context(), e))["b1"]; got != "job-b-1-21" {
		t.Fatalf("first attempt of e: from_alloc of b1 %v, want job-b-1-21", got)
	}
	// Without the tag a failure is an ordinary one.
	plain := alloc("job-e", 0, api.AllocClientStatusFailed, "n1", 51, 52)
	tr.observeAlloc("job-e", plain)
	if _, _, ok := tr.lostUpstream(e); ok {
		t.Fatal("a failure without the upstream-gone tag held the consumer")
	}
	delete(e.allocs, plain.ID)

	tr.observeAlloc("job-e", goneAlloc("job-e", 0, 53, "b1", "job-b-1-21"))
	if err := r.settle(t.Context(), e); err != nil {
		t.Fatalf("settle: %v (want the consumer held, not failed)", err)
	}
	if e.state != Pending || b.state != Pending {
		t.Fatalf("after upstream gone: e %v, b %v; want both pending", e.state, b.state)
	}
	if !strings.Contains(e.reason, "held until b1 has run again") {
		t.Errorf("consumer reason %q", e.reason)
	}
	if got := readyJobs(tr); !slices.Equal(got, []string{"job-b"}) {
		t.Fatalf("ready %v, want only the producer job-b (e waits for it)", got)
	}
	want := []Rerun{{Job: "job-b", Shards: []string{"b1"}, Pieces: 2, Consumer: "e", Rerun: 1}}
	if len(r.reruns) != 1 || !slices.Equal(r.reruns[0].Shards, want[0].Shards) || r.reruns[0].Job != "job-b" ||
		r.reruns[0].Consumer != "e" || r.reruns[0].Pieces != 2 || r.reruns[0].Rerun != 1 {
		t.Fatalf("reruns %+v, want %+v", r.reruns, want)
	}

	// Events of the held consumer's old allocations change nothing.
	if u := tr.observeAlloc("job-e", alloc("job-e", 0, api.AllocClientStatusComplete, "n1", 53, 60)); u != nil {
		t.Error("an allocation event of the held consumer was applied")
	}
	tr.registered(b, 60, time.Now())
	if b.attempt != 2 || !strings.Contains(b.reason, "outputs were lost (consumer e: upstream gone)") {
		t.Errorf("producer run again: attempt %d reason %q", b.attempt, b.reason)
	}
	if got := readyJobs(tr); len(got) != 0 {
		t.Fatalf("ready %v while the producer runs again", got)
	}
	finish(t, tr, "job-b", 61)
	if got := readyJobs(tr); !slices.Equal(got, []string{"job-e"}) {
		t.Fatalf("ready %v, want job-e once the producer completed again", got)
	}
	if got := inputAllocs(t, r.submission(t.Context(), e)); got["b1"] != "job-b-1-61" || got["b0"] != "job-b-0-61" {
		t.Fatalf("held consumer's next attempt: from_alloc %v, want the new allocations job-b-*-61", got)
	}
	tr.registered(e, 70, time.Now())
	if !strings.Contains(e.reason, "after b1 ran again") {
		t.Errorf("consumer reason after the hold %q", e.reason)
	}
	// The hold spent none of e's retries (zero): an ordinary failure now
	// ends the run, and only then.
	tr.observeAlloc("job-e", alloc("job-e", 0, api.AllocClientStatusFailed, "n1", 71, 72))
	tr.observeJob("job-e", dead(70, 73))
	if v := tr.settle(e, time.Now()); v != giveUp {
		t.Errorf("ordinary failure after the hold: verdict %v, want giveUp (retries 0)", v)
	}

	var buf bytes.Buffer
	rep := &Report{Run: "r1", Reruns: r.reruns}
	if err := rep.WriteSummary(&buf); err != nil {
		t.Fatal(err)
	}
	if line := "re-ran b1: its outputs were lost (consumer e: upstream gone); job job-b ran all its 2 pieces again"; !strings.Contains(buf.String(), line) {
		t.Errorf("summary lacks %q:\n%s", line, buf.String())
	}
}

// A consumer that read an allocation its producer has since replaced is
// held without running the producer again; one whose producer already
// runs again for another consumer waits for that run; a producer runs
// again at most MaxReruns times, after which the consumer fails as any.
func TestUpstreamGoneStaleAndBounded(t *testing.T) {
	tr := newTestTracker(t, 0)
	for i, job := range []string{"job-a", "job-b", "job-c", "job-d"} {
		completeAt(t, tr, job, uint64(10*(i+1)))
	}
	b, e := tr.byJob["job-b"], tr.byJob["job-e"]
	idx := uint64(100)
	for run := 1; run <= MaxReruns; run++ {
		tr.registered(e, idx, time.Now())
		cur, _ := b.placedAlloc(1)
		tr.observeAlloc("job-e", goneAlloc("job-e", 0, idx+1, "b1", cur.ID))
		producers, _, ok := tr.lostUpstream(e)
		if !ok || len(producers) != 1 || producers[0] != b || b.reruns != run {
			t.Fatalf("run %d: lostUpstream = %v, %v; b.reruns %d", run, producers, ok, b.reruns)
		}
		tr.registered(b, idx+2, time.Now())
		finish(t, tr, "job-b", idx+3)
		idx += 10
	}
	// Two consumers of a (b and c) find its outputs gone: a runs again
	// once.
	tr2 := newTestTracker(t, 0)
	completeAt(t, tr2, "job-a", 10)
	tr2.registered(tr2.byJob["job-b"], 20, time.Now())
	tr2.registered(tr2.byJob["job-c"], 20, time.Now())
	tr2.observeAlloc("job-b", goneAlloc("job-b", 1, 21, "a", "job-a-0-11"))
	tr2.observeAlloc("job-c", goneAlloc("job-c", 0, 21, "a", "job-a-0-11"))
	p1, _, ok1 := tr2.lostUpstream(tr2.byJob["job-b"])
	p2, _, ok2 := tr2.lostUpstream(tr2.byJob["job-c"])
	if !ok1 || !ok2 || len(p1) != 1 || len(p2) != 0 || tr2.byJob["job-a"].reruns != 1 {
		t.Fatalf("two consumers: %v %v / %v %v, a run again %d times; want a once, both held", p1, ok1, p2, ok2, tr2.byJob["job-a"].reruns)
	}
	// b and c (with d, its streaming partner) wait for a.
	if got := readyJobs(tr2); !slices.Equal(got, []string{"job-a"}) {
		t.Fatalf("ready %v, want job-a alone", got)
	}

	// e now reads a replaced allocation: held, b not run again.
	tr.registered(e, idx, time.Now())
	tr.observeAlloc("job-e", goneAlloc("job-e", 0, idx+1, "b1", "job-b-1-21"))
	if producers, _, ok := tr.lostUpstream(e); !ok || len(producers) != 0 || b.state != Complete {
		t.Fatalf("stale allocation: lostUpstream = %v, %v; b %v; want held, b left complete", producers, ok, b.state)
	}
	if got := readyJobs(tr); !slices.Equal(got, []string{"job-e"}) {
		t.Fatalf("ready %v, want job-e at once", got)
	}
	// b's current outputs gone again: MaxReruns spent, e fails.
	tr.registered(e, idx+10, time.Now())
	cur, _ := b.placedAlloc(1)
	tr.observeAlloc("job-e", goneAlloc("job-e", 0, idx+11, "b1", cur.ID))
	if _, _, ok := tr.lostUpstream(e); ok {
		t.Fatalf("producer run again %d times, held once more", b.reruns)
	}
	tr.observeJob("job-e", dead(idx+10, idx+12))
	if v := tr.settle(e, time.Now()); v != giveUp {
		t.Errorf("verdict %v, want giveUp", v)
	}
	if b.attempt-b.free != 1 {
		t.Errorf("producer: %d attempts, %d free; its re-runs must not count as retries", b.attempt, b.free)
	}
}

// A stored state of a consumer held (or a producer set to run again)
// whose Nomad job is still the recorded registration restores pending; a
// later registration, or a state without the new fields, is followed.
func TestHeldBeforeRestores(t *testing.T) {
	job := func(attempt string) *api.Job {
		j := testJob("job-e", "batch", 1)
		if attempt != "" {
			j.Meta = map[string]string{sdk.MetaAttempt: attempt}
		}
		return j
	}
	for _, c := range []struct {
		rec  *runstate.Unit
		job  *api.Job
		want bool
	}{
		{&runstate.Unit{State: "pending", Attempts: 1, Holds: 1, Free: 1}, job(""), true},
		{&runstate.Unit{State: "pending", Attempts: 2, Reruns: 1, Free: 1}, job("2"), true},
		{&runstate.Unit{State: "pending", Attempts: 2}, job("3"), false},
		{&runstate.Unit{State: "running", Attempts: 1}, job(""), false},
		{&runstate.Unit{State: "pending"}, job(""), false},
		{nil, job(""), false},
	} {
		if got := heldBefore(c.rec, c.job); got != c.want {
			t.Errorf("heldBefore(%+v, attempt %q) = %v, want %v", c.rec, c.job.Meta[sdk.MetaAttempt], got, c.want)
		}
	}
}

// A launcher that follows a detached run (Watch) judges a consumer that
// found its input gone as the driving launcher does: held, not failed or
// stopped, and follows the producer's and the consumer's next
// registrations.
func TestWatchFollowsUpstreamGoneHold(t *testing.T) {
	tr := newTestTracker(t, 0)
	for i, job := range []string{"job-a", "job-b", "job-c", "job-d"} {
		completeAt(t, tr, job, uint64(10*(i+1)))
	}
	r := testRunner(t, tr)
	b, e := tr.byJob["job-b"], tr.byJob["job-e"]
	tr.registered(e, 50, time.Now())
	tr.observeAlloc("job-e", goneAlloc("job-e", 0, 51, "b0", "job-b-0-21"))
	tr.observeJob("job-e", dead(50, 53))
	if err := r.watchSettle(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if e.state != Pending || b.state != Pending {
		t.Fatalf("watcher: e %v, b %v; want both pending (held, to run again)", e.state, b.state)
	}
	reg := func(job string, attempt string, idx uint64) *api.Job {
		j := testJob(job, "batch", 1)
		j.Meta = map[string]string{sdk.MetaAttempt: attempt}
		j.JobModifyIndex = new(idx)
		return j
	}
	r.watchRegistration(reg("job-b", "2", 60))
	if b.state != Submitted || b.attempt != 2 {
		t.Fatalf("watcher after b's re-registration: %v attempt %d", b.state, b.attempt)
	}
	r.watchRegistration(reg("job-e", "2", 70))
	if e.state != Submitted || e.attempt != 2 {
		t.Fatalf("watcher after e's re-registration: %v attempt %d", e.state, e.attempt)
	}
}
