package launcher

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

func TestPlainProgressLines(t *testing.T) {
	var sb strings.Builder
	p := NewPlain(&sb)
	s := Snapshot{Run: "r1", Shards: 3, Predicted: 90 * time.Second}
	p.Start(s)
	s.Counts[Pending], s.Counts[Running], s.Counts[Complete] = 1, 1, 1
	s.Elapsed = 2500 * time.Millisecond
	p.Change(Change{Shard: "s001-b", To: Running, Node: "client-cpu", Attempt: 2}, s)
	p.Change(Change{Shard: "s002-c", To: Failed, Reason: "allocation 1234 failed"}, s)
	p.Finish(s)
	out := sb.String()
	for _, want := range []string{
		"Run r1: 3 shards, predicted makespan 1m30s",
		"+2.5s  s001-b  running (attempt 2) on client-cpu  [1 pending, 1 running, 1/3 complete]",
		"s002-c  failed: allocation 1234 failed",
		"run r1 ended: 1 pending, 1 running, 1/3 complete",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestTerminalProgressDrawsBar(t *testing.T) {
	var sb strings.Builder
	p := NewTerminal(&sb)
	s := Snapshot{Run: "r1", Shards: 4, Start: time.Now()}
	p.Start(s)
	s.Counts[Complete], s.Counts[Running] = 2, 2
	p.Change(Change{Shard: "x", To: Failed, Reason: "boom"}, s)
	p.Finish(s)
	out := sb.String()
	for _, want := range []string{"2/4", "2 running", "2 complete", "x  failed: boom"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, out)
		}
	}
}

func TestSummaryAndFailure(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &Report{Run: "r1", Start: start, End: start.Add(65 * time.Second), PredictedSeconds: 50,
		Shards: []ShardResult{
			{Shard: "s000-a", Class: "io-bound", State: Complete, Attempts: 1, PredictedSeconds: 4, Actual: 5 * time.Second, Node: "n1", NodeClass: "io-bound"},
			{Shard: "s001-b", Class: "cpu-heavy", State: Skipped, PredictedSeconds: 2},
		}}
	var sb strings.Builder
	if err := r.WriteSummary(&sb); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{"s000-a  io-bound   complete  5.0s", "1.25x", "n1", "Run r1: 1m05s elapsed, 50.0s predicted"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	f := &Failure{Shard: "s001-b", Job: "j", Reason: "allocation failed", Alloc: "abcd", Task: "b",
		Events: []TaskEvent{{Time: start, Type: "Terminated", Message: "Exit Code: 3"}}, Stderr: "line1\nboom\n"}
	sb.Reset()
	if err := f.Write(&sb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Shard s001-b (job j) failed: allocation failed", "Terminated", "Exit Code: 3", "  line1\n  boom\n"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("failure lacks %q:\n%s", want, sb.String())
		}
	}
	f.StderrErr = errors.New("gone")
	sb.Reset()
	_ = f.Write(&sb)
	if !strings.Contains(sb.String(), "stderr unavailable: gone") {
		t.Errorf("failure without stderr:\n%s", sb.String())
	}
}

func TestNewestLogAndPlacementReason(t *testing.T) {
	files := []*api.AllocFileInfo{{Name: "t.stderr.0", Size: 10}, {Name: "t.stderr.2", Size: 7}, {Name: "t.stdout.9"}, {Name: "t.stderr.10", Size: 3}}
	if name, size := newestLog(files, "t.stderr."); name != "t.stderr.10" || size != 3 {
		t.Errorf("newestLog = %s, %d; want t.stderr.10, 3", name, size)
	}
	reason := placementReason(map[string]*api.AllocationMetric{"g": {
		ConstraintFiltered: map[string]int{"${node.class} = gpu": 4},
		DimensionExhausted: map[string]int{"memory": 1},
	}})
	for _, want := range []string{"group g cannot be placed yet", "4 nodes excluded by ${node.class} = gpu", "1 nodes exhausted memory"} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q lacks %q", reason, want)
		}
	}
}

func TestConnectErrorNamesWhatFailed(t *testing.T) {
	c, err := api.NewClient(&api.Config{Address: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Jobs().List(nil)
	got := ConnectError(c, err).Error()
	if !strings.Contains(got, "cannot reach the Nomad agent at http://127.0.0.1:1") {
		t.Errorf("refused connection: %q", got)
	}
}
