package plan

import (
	"fmt"
	"math"
	"strings"

	"github.com/shardwise/shardwise/planner/units"
)

// clearlyFaster is the runtime ratio above which a class is said to be
// faster rather than as fast.
const clearlyFaster = 1.05

// reason explains shard s's placement in words: why its class, what was
// fused into it and how its task was split.
func (b *builder) reason(s int, tasks []int32) string {
	parts := []string{b.classReason(s, tasks)}
	switch gi := b.shards.group[s]; {
	case b.groups.batch[gi] >= 0:
		parts = append(parts, b.batchReason(s, tasks))
	case len(tasks) > 1:
		parts = append(parts, b.fusionReason(s, tasks))
	}
	if sp := b.pieceOf(s); sp != nil {
		parts = append(parts, b.splitReason(s, sp))
	}
	return strings.Join(parts, "; ")
}

// classReason compares the chosen class with the runner-up: the other
// feasible class on which the shard would have finished first.
func (b *builder) classReason(s int, tasks []int32) string {
	c := int(b.sched.Class[s])
	name := b.classes[c].Name
	for _, t := range tasks {
		if pin := b.g.Tasks[t].Hints.Executor; pin != "" {
			return "pinned to " + pin + " by its executor hint"
		}
	}
	kind := b.dominantKind(tasks, c)
	if b.single >= 0 {
		return fmt.Sprintf("%s work: with every shard on %s the plan takes %s, mixing classes %s (data between classes moves at the slower bandwidth)",
			kind, name, units.FormatSeconds(b.sched.Makespan), units.FormatSeconds(b.mixedMakespan))
	}
	r := b.runnerUp(s)
	if r < 0 {
		return "only " + name + " can run it (" + b.whyOthers(tasks, c) + ")"
	}
	rc, ra := b.sprob.Runtime[s*b.nc+c], b.sprob.Runtime[s*b.nc+r]
	rname := b.classes[r].Name
	gain := units.FormatSeconds(b.sched.AltFinish(s, r) - b.sched.Finish[s])
	switch {
	case rc > 0 && ra/rc > clearlyFaster:
		return fmt.Sprintf("%s work: %.1fx faster than %s", kind, ra/rc, rname)
	case ra > 0 && rc/ra > clearlyFaster:
		return fmt.Sprintf("%s work: finishes %s earlier than on %s, which runs it %.1fx faster but is busy or far from its inputs",
			kind, gain, rname, rc/ra)
	case b.sched.AltFinish(s, r) > b.sched.Finish[s]:
		return fmt.Sprintf("%s work: as fast as on %s, finishes %s earlier", kind, rname, gain)
	}
	return fmt.Sprintf("%s work: ties with %s, first in catalog order", kind, rname)
}

// runnerUp is the class other than shard s's with the earliest predicted
// finish (lowest index on ties), or -1 if no other class can run it.
func (b *builder) runnerUp(s int) int {
	best, bestF := -1, math.Inf(1)
	for c := 0; c < b.nc; c++ {
		if f := b.sched.AltFinish(s, c); c != int(b.sched.Class[s]) && f < bestF {
			best, bestF = c, f
		}
	}
	return best
}

// whyOthers says, for each class but c, why the tasks cannot run there.
func (b *builder) whyOthers(tasks []int32, c int) string {
	var out []string
	for o := 0; o < b.nc; o++ {
		if o == c {
			continue
		}
		why := "cannot run it"
		for _, t := range tasks {
			if n := b.tb.At(int(t), o); !n.Feasible && n.Why != "" {
				why = n.Why
				break
			}
		}
		out = append(out, b.classes[o].Name+": "+why)
	}
	return strings.Join(out, "; ")
}

// fusionReason names the tasks fused after the shard's first and what
// fusing saves: the transfers between them and their start-ups.
func (b *builder) fusionReason(s int, tasks []int32) string {
	names := make([]string, 0, 4)
	for i, t := range tasks[1:] {
		if i == 3 {
			names = append(names, fmt.Sprintf("%d more", len(tasks)-4))
			break
		}
		names = append(names, b.g.Tasks[t].Name)
	}
	gi := b.shards.group[s]
	saved := fmt.Sprintf("%d start-ups", len(tasks)-1)
	if len(tasks) == 2 {
		saved = "a start-up"
	}
	if bytes := b.groups.saved[gi]; bytes > 0 {
		saved = units.FormatBytes(int64(bytes)) + " transfer and " + saved
	}
	return "fused with " + strings.Join(names, ", ") + " to save " + saved
}

// splitReason describes the cut of the shard's task.
func (b *builder) splitReason(s int, sp *Split) string {
	cl := b.classes[b.sched.Class[s]]
	piece := ""
	switch {
	case sp.Bytes > 0:
		piece = " of " + units.FormatBytes(sp.Bytes)
	case sp.Items > 0:
		piece = fmt.Sprintf(" of %d items", sp.Items)
	}
	return fmt.Sprintf("split into %d pieces%s on %d instances", sp.Count, piece, cl.Instances)
}

// batchReason describes a batch of siblings (single tasks or fused
// chains that wait for the same upstream shards): how many it runs, how
// many tasks their set holds and in how many allocations, and the
// start-ups the batch saves.
func (b *builder) batchReason(s int, tasks []int32) string {
	gi := b.shards.group[s]
	info := b.batchInfos[b.groups.batch[gi]]
	n := int(b.groups.parts[gi])
	what := fmt.Sprintf("%d sibling tasks", n)
	if f := b.groups.fused[gi]; f > 0 {
		what = fmt.Sprintf("%d siblings (%d tasks, %d in fused chains)", n, len(tasks), f)
	}
	su := units.FormatSeconds(b.classes[b.sched.Class[s]].StartupSeconds)
	return fmt.Sprintf("batched %s that wait for the same upstream shards (%d such tasks run in %d allocations): saves %d start-ups of %s",
		what, info.siblings, info.batches, n-1, su)
}
