package plan

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/shardwise/shardwise/internal/parallel"
	"github.com/shardwise/shardwise/planner/units"
)

// classCount is "1 class" or "N classes".
func classCount(n int) string {
	if n == 1 {
		return "1 class"
	}
	return fmt.Sprintf("%d classes", n)
}

// WriteTable prints the plan for a person (`shardwise plan`'s default
// output): one row per shard, the channels that cross classes, and a
// summary against the baseline; jobsDir, when set, is where the plan's
// jobs were written.
func WriteTable(w io.Writer, p *Plan, jobsDir string) error {
	fmt.Fprintf(w, "Graph %q, run %s: %s in %s (%s) on %s\n\n", p.Graph, p.Run, units.Count(p.Stats.Tasks, "task"),
		units.Count(p.Stats.Shards, "shard"), units.Count(p.Stats.Jobs, "job"), classCount(usedClasses(p)))
	// The rows are formatted on every core, then aligned by one tabwriter:
	// the same bytes as formatting each into it in turn.
	rows := make([][]byte, len(p.Shards))
	parallel.Chunks(len(p.Shards), 256, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			rows[i] = shardRow(p.Shards[i])
		}
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SHARD\tCLASS\tKIND\tTASKS\tCPU\tMEMORY\tGPU\tRUNTIME\tSTART\tFINISH\tWHY")
	for _, row := range rows {
		if _, err := tw.Write(row); err != nil {
			return err
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	writeChannels(w, p)
	writeSummary(w, p, jobsDir)
	return nil
}

// shardRow is shard s's row of the table, its cells separated by tabs.
func shardRow(s *Shard) []byte {
	return fmt.Appendf(nil, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
		s.ID, s.Class, s.Kind, shardTasks(s), cpuCell(s.Resources), memCell(s.Resources.MemoryMiB),
		gpuCell(s.Resources), estimateCell(s.RuntimeSeconds), units.FormatSeconds(s.StartSeconds),
		units.FormatSeconds(s.FinishSeconds), s.Reason)
}

func usedClasses(p *Plan) int {
	n := 0
	for _, c := range p.Classes {
		if c.Shards > 0 {
			n++
		}
	}
	return n
}

func shardTasks(s *Shard) string {
	if s.Split != nil {
		return fmt.Sprintf("%s[%d/%d]", s.Split.Task, s.Split.Index+1, s.Split.Count)
	}
	if len(s.Tasks) > 3 {
		return fmt.Sprintf("%s..%s (%d)", s.Tasks[0], s.Tasks[len(s.Tasks)-1], len(s.Tasks))
	}
	return strings.Join(s.Tasks, "+")
}

func cpuCell(r Resources) string {
	if r.Cores > 0 {
		return fmt.Sprintf("%d core%s", r.Cores, map[bool]string{true: "s"}[r.Cores != 1])
	}
	return fmt.Sprintf("%.0f MHz", r.CPU.Value)
}

func memCell(e Estimate) string {
	return units.FormatBytes(int64(e.Value)<<20) + " (" + sourceCell(e) + ")"
}

func gpuCell(r Resources) string {
	if r.GPUs == 0 {
		return "-"
	}
	if r.GPUMemoryMiB > 0 {
		return fmt.Sprintf("%d x %s", r.GPUs, units.FormatBytes(r.GPUMemoryMiB<<20))
	}
	return fmt.Sprint(r.GPUs)
}

func estimateCell(e Estimate) string {
	return fmt.Sprintf("%s ±%.0f%% (%s)", units.FormatSeconds(e.Value), e.Uncertainty*100, sourceCell(e))
}

func sourceCell(e Estimate) string {
	if e.Source == SourceHistory {
		return fmt.Sprintf("history n=%d", e.Observations)
	}
	return e.Source.String()
}

func writeChannels(w io.Writer, p *Plan) {
	if len(p.Channels) == 0 {
		return
	}
	var total int64
	var secs float64
	for _, c := range p.Channels {
		total += c.Bytes
		secs += c.TransferSeconds
	}
	fmt.Fprintf(w, "\n%d channels between shards move %s (%s of transfer in all)\n",
		len(p.Channels), units.FormatBytes(total), units.FormatSeconds(secs))
}

func writeSummary(w io.Writer, p *Plan, jobsDir string) {
	fmt.Fprintf(w, "\nPredicted makespan:     %s\n", units.FormatSeconds(p.MakespanSeconds))
	if b := p.Baseline; b != nil {
		fmt.Fprintf(w, "Best single class:      %s on %s (%.2fx slower)\n", units.FormatSeconds(b.MakespanSeconds), b.Class, b.Speedup)
	} else {
		fmt.Fprintln(w, "Best single class:      none (no one class can run every task)")
	}
	if len(p.CriticalPath) > 0 {
		fmt.Fprintf(w, "Critical path:          %s\n", strings.Join(p.CriticalPath, " -> "))
	}
	if jobsDir != "" {
		fmt.Fprintf(w, "Nomad jobs written to:  %s (%s)\n", jobsDir, units.Count(p.Stats.Jobs, "job"))
	}
}
