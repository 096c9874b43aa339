package plan

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"text/tabwriter"

	"github.com/shardwise/shardwise/planner/units"
)

// writeTableRowByRow is WriteTable as it was before rows were formatted on
// every core: each row formatted into the tabwriter in turn.
func writeTableRowByRow(w *bytes.Buffer, p *Plan, jobsDir string) {
	fmt.Fprintf(w, "Graph %q, run %s: %s in %s (%s) on %s\n\n", p.Graph, p.Run, units.Count(p.Stats.Tasks, "task"),
		units.Count(p.Stats.Shards, "shard"), units.Count(p.Stats.Jobs, "job"), classCount(usedClasses(p)))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SHARD\tCLASS\tKIND\tTASKS\tCPU\tMEMORY\tGPU\tRUNTIME\tSTART\tFINISH\tWHY")
	for _, s := range p.Shards {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			s.ID, s.Class, s.Kind, shardTasks(s), cpuCell(s.Resources), memCell(s.Resources.MemoryMiB),
			gpuCell(s.Resources), estimateCell(s.RuntimeSeconds), units.FormatSeconds(s.StartSeconds),
			units.FormatSeconds(s.FinishSeconds), s.Reason)
	}
	tw.Flush()
	writeChannels(w, p)
	writeSummary(w, p, jobsDir)
}

// TestWriteTableSameAsRowByRow checks the table of random plans (split
// pieces, fused and batched shards, channels, several classes), on one
// core and on four, byte for byte against formatting row by row.
func TestWriteTableSameAsRowByRow(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		g, cat, tb := randomCase(t, seed, 250)
		p, err := Build(g, cat, tb, Options{Run: "r"})
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		writeTableRowByRow(&want, p, "jobs")
		for _, procs := range []int{1, 4} {
			var got bytes.Buffer
			func() {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				if err := WriteTable(&got, p, "jobs"); err != nil {
					t.Fatal(err)
				}
			}()
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("seed %d, %d cores: the table differs from one formatted row by row", seed, procs)
			}
		}
		if want.Len() < len(p.Shards)*40 || !bytes.Contains(want.Bytes(), []byte("Nomad jobs written to")) {
			t.Errorf("seed %d: a table of %d bytes for %d shards", seed, want.Len(), len(p.Shards))
		}
	}
}
