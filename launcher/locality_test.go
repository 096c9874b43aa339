package launcher

import (
	"testing"
	"time"

	"github.com/shardwise/shardwise/sdk"
)

func TestNodeBytesFollowUpstreamPieces(t *testing.T) {
	tr := newTestTracker(t, 0)
	submitAll(tr, 1)
	finish(t, tr, "job-a", 2)
	submitAll(tr, 5)
	b := tr.byJob["job-b"]
	tr.observeAlloc("job-b", alloc("job-b", 0, "complete", "n1", 6, 8))
	tr.observeAlloc("job-b", alloc("job-b", 1, "complete", "n2", 6, 9))
	tr.settle(b, time.Time{})
	for _, j := range []string{"job-c", "job-d"} {
		finish(t, tr, j, 20)
	}
	p, _ := fixture()
	got := tr.nodeBytes(tr.byJob["job-e"], p.Channels)
	// b0 (30 bytes) ran on n1, b1 (10) on n2; d's channel has no size
	// and counts 1 byte on d's node.
	want := map[string]int64{"n1": 30, "n2": 10, "n-job-d": 1}
	if len(got) != len(want) {
		t.Fatalf("nodeBytes = %v, want %v", got, want)
	}
	for n, b := range want {
		if got[n] != b {
			t.Errorf("nodeBytes[%s] = %d, want %d", n, got[n], b)
		}
	}
}

func TestAffinitiesKeepNodesOfTheClass(t *testing.T) {
	classes := map[string]string{"n1": "cpu", "n2": "cpu", "n3": "gpu"}
	classOf := func(id string) (string, bool) { c, ok := classes[id]; return c, ok }
	bytes := map[string]int64{"n1": 75, "n2": 25, "n3": 1000, "gone": 5}
	affs := affinities(bytes, "cpu", classOf)
	if len(affs) != 2 {
		t.Fatalf("got %d affinities, want 2 (n3 is another class, gone is unknown)", len(affs))
	}
	if affs[0].RTarget != "n1" || *affs[0].Weight != 75 || affs[1].RTarget != "n2" || *affs[1].Weight != 25 {
		t.Errorf("affinities %s=%d %s=%d, want n1=75 n2=25", affs[0].RTarget, *affs[0].Weight, affs[1].RTarget, *affs[1].Weight)
	}
	if affs[0].LTarget != attrNodeID || affs[0].Operand != "=" {
		t.Errorf("affinity on %s %s, want %s =", affs[0].LTarget, affs[0].Operand, attrNodeID)
	}
	if got := affinities(bytes, "", classOf); len(got) != 3 {
		t.Errorf("no class constraint: %d affinities, want 3 (every known node)", len(got))
	}
	tiny := affinities(map[string]int64{"n1": 1000, "n2": 1}, "cpu", classOf)
	if *tiny[1].Weight != 1 {
		t.Errorf("smallest share weight %d, want at least 1", *tiny[1].Weight)
	}
}

func TestWithSubmissionLeavesTheJobAlone(t *testing.T) {
	j := testJob("j", "batch", 1)
	j.Meta = map[string]string{"k": "v"}
	affs := affinities(map[string]int64{"n1": 1}, "", func(string) (string, bool) { return "", true })
	c := withSubmission(j, affs, 2, true)
	if len(j.TaskGroups[0].Affinities) != 0 || j.TaskGroups[0].RestartPolicy != nil || len(j.Meta) != 1 {
		t.Fatal("withSubmission changed the original job")
	}
	tg := c.TaskGroups[0]
	if len(tg.Affinities) != 1 || c.Meta[sdk.MetaAttempt] != "2" || c.Meta["k"] != "v" {
		t.Errorf("copy: affinities %d, meta %v", len(tg.Affinities), c.Meta)
	}
	if *tg.RestartPolicy.Attempts != 0 || *tg.ReschedulePolicy.Attempts != 0 || *tg.ReschedulePolicy.Unlimited {
		t.Error("fail-fast copy still restarts or reschedules")
	}
	if got := withSubmission(j, nil, 1, false); got.Meta[sdk.MetaAttempt] != "" {
		t.Error("first attempt carries an attempt meta value")
	}
}

func TestNodeClassFromConstraint(t *testing.T) {
	if got := nodeClass(testJob("j", "batch", 1)); got != "cpu" {
		t.Errorf("nodeClass = %q, want cpu", got)
	}
	j := testJob("j", "batch", 1)
	j.TaskGroups[0].Constraints = nil
	if got := nodeClass(j); got != "" {
		t.Errorf("no constraint: nodeClass = %q, want empty", got)
	}
}
