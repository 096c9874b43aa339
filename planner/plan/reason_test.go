package plan

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/graph"
)

// TestReasonFactors: the chosen class loses on runtime to the other class,
// and the reason names what it wins on instead.
func TestReasonFactors(t *testing.T) {
	t.Run("start-up", func(t *testing.T) {
		// A: 10 + 10 s start-up = 20 s; B: 12 + 1 = 13 s.
		f := newFixture(cls("A", 1, 100, 10), cls("B", 1, 100, 1))
		f.task("x", graph.KindCPU, 10, 12)
		want := "cpu work: finishes 7.0s earlier than on A, which runs it 1.2x faster: starts 9.0s sooner (start-up 1.0s vs 10.0s)"
		if r := shardOf(f.build(t, Options{}), "x").Reason; r != want {
			t.Errorf("reason %q\nwant   %q", r, want)
		}
	})
	t.Run("busy", func(t *testing.T) {
		// long holds A's one instance until 100 s; x ends at 110 s there,
		// at 12 s on B.
		f := newFixture(cls("A", 1, 100, 0), cls("B", 1, 100, 0))
		f.task("long", graph.KindCPU, 100, 1000)
		f.task("x", graph.KindCPU, 10, 12)
		want := "cpu work: finishes 1m38s earlier than on A, which runs it 1.2x faster: A is busy until 1m40s"
		if r := shardOf(f.build(t, Options{}), "x").Reason; r != want {
			t.Errorf("reason %q\nwant   %q", r, want)
		}
	})
	t.Run("transfer", func(t *testing.T) {
		// u runs on B only; v's 100 B input takes 100 s to reach A (1 B/s)
		// and 1 s to stay on B (100 B/s): A 10 + 100 + 10, B 10 + 1 + 11.
		f := newFixture(cls("A", 2, 1, 0), cls("B", 2, 100, 0))
		f.task("u", graph.KindCPU, math.Inf(1), 10)
		f.task("v", graph.KindCPU, 10, 11)
		f.edge("u", "v", 100)
		want := "cpu work: finishes 1m38s earlier than on A, which runs it 1.1x faster: inputs arrive 1m39s sooner (transfer 1.0s vs 1m40s)"
		if r := shardOf(f.build(t, Options{NoFusion: true}), "v").Reason; r != want {
			t.Errorf("reason %q\nwant   %q", r, want)
		}
	})
	t.Run("inputs already there", func(t *testing.T) {
		// B's bandwidth is unbounded: transfers within B are free.
		f := newFixture(cls("A", 2, 1, 0), cls("B", 2, math.Inf(1), 0))
		f.task("u", graph.KindCPU, math.Inf(1), 10)
		f.task("v", graph.KindCPU, 10, 11)
		f.edge("u", "v", 100)
		want := "cpu work: finishes 1m39s earlier than on A, which runs it 1.1x faster: inputs already on B: saves 1m40s of transfer"
		if r := shardOf(f.build(t, Options{NoFusion: true}), "v").Reason; r != want {
			t.Errorf("reason %q\nwant   %q", r, want)
		}
	})
}

// TestSplitReasonUnits: a split by items counts items per piece, the same
// text on every piece, with singular and uneven sizes worded right.
func TestSplitReasonUnits(t *testing.T) {
	for _, tc := range []struct {
		split *graph.Split
		want  string
	}{
		{&graph.Split{Items: 6}, "split into 4 pieces of 1-2 items on 4 instances"},
		{&graph.Split{Items: 4}, "split into 4 pieces of 1 item on 4 instances"},
		{&graph.Split{Items: 8}, "split into 4 pieces of 2 items on 4 instances"},
		{&graph.Split{Items: 24, InputBytes: 40}, "split into 4 pieces of 6 items on 4 instances"},
		{&graph.Split{InputBytes: 10}, "split into 4 pieces of 2B-3B on 4 instances"},
	} {
		p := splitFixture(tc.split).build(t, Options{})
		var first string
		for _, s := range p.Shards {
			if s.Split == nil {
				continue
			}
			if first == "" {
				first = s.Reason
			}
			if s.Reason != first {
				t.Errorf("%+v: piece %d reason %q differs from %q", tc.split, s.Split.Index, s.Reason, first)
			}
		}
		if !strings.Contains(first, tc.want) {
			t.Errorf("%+v: reason %q, want %q", tc.split, first, tc.want)
		}
	}
}

func TestFasterWording(t *testing.T) {
	for ratio, want := range map[float64]string{1.04: "as fast", 1.0: "as fast", 1.2: "1.2x faster", 8: "8.0x faster"} {
		if got := faster(ratio); got != want {
			t.Errorf("faster(%g) = %q, want %q", ratio, got, want)
		}
	}
}

// TestReasonOneClass: with a catalog of one class there is nothing to
// compare; the reason says so rather than "only A can run it ()".
func TestReasonOneClass(t *testing.T) {
	f := newFixture(cls("A", 1, 100, 0))
	f.task("x", graph.KindCPU, 10)
	want := "cpu work: A is the catalog's only class"
	if r := shardOf(f.build(t, Options{}), "x").Reason; r != want {
		t.Errorf("reason %q\nwant   %q", r, want)
	}
}

// TestTableHeaderCounts: the table's first line counts in words that agree
// with their numbers ("1 task in 1 shard", not "1 tasks in 1 shards").
func TestTableHeaderCounts(t *testing.T) {
	f := newFixture(cls("A", 1, 100, 0))
	f.task("x", graph.KindCPU, 10)
	p := f.build(t, Options{})
	var b strings.Builder
	if err := WriteTable(&b, p, ""); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("Graph %q, run %s: 1 task in 1 shard (1 job) on 1 class\n", p.Graph, p.Run)
	if got, _, _ := strings.Cut(b.String(), "\n"); got+"\n" != want {
		t.Errorf("header %q, want %q", got, want)
	}
	b.Reset()
	if err := WriteTable(&b, p, "jobs"); err != nil {
		t.Fatal(err)
	}
	if want := "Nomad jobs written to:  jobs (1 job)\n"; !strings.HasSuffix(b.String(), want) {
		t.Errorf("table ends %q, want %q", b.String()[max(0, b.Len()-80):], want)
	}
}
