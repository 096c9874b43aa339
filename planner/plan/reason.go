package plan

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/shardwise/shardwise/planner/units"
)

// clearlyFaster is the runtime ratio above which a class is said to be
// faster rather than as fast.
const clearlyFaster = 1.05

// appendReason appends to dst shard s's placement in words: why its
// class, what was fused into it and how its task was split. The text is
// built in one buffer, so that a shard's reason costs one string.
//
// Every piece of a split task gets the same text: its class is explained
// for the split's first piece (all pieces share the class).
func (b *builder) appendReason(dst []byte, s int, tasks []int32) []byte {
	cs := s
	if b.pieceOf(s) != nil {
		cs = int(b.shards.first[b.shards.group[s]])
	}
	dst = b.appendClassReason(dst, cs, tasks)
	switch gi := b.shards.group[s]; {
	case b.groups.batch[gi] >= 0:
		dst = append(append(dst, "; "...), b.batchReason(s, tasks)...)
	case len(tasks) > 1:
		dst = append(append(dst, "; "...), b.fusionReason(s, tasks)...)
	}
	if sp := b.pieceOf(s); sp != nil {
		dst = append(append(dst, "; "...), b.splitReason(s, sp)...)
	}
	return dst
}

// appendClassReason appends why shard s runs on its class: it compares
// the chosen class with the runner-up, the other feasible class on which
// the shard would have finished first.
func (b *builder) appendClassReason(dst []byte, s int, tasks []int32) []byte {
	c := int(b.sched.Class[s])
	name := b.classes[c].Name
	for _, t := range tasks {
		if pin := b.g.Tasks[t].Hints.Executor; pin != "" {
			return append(append(append(dst, "pinned to "...), pin...), " by its executor hint"...)
		}
	}
	kind := b.dominantKind(tasks, c)
	if b.single >= 0 {
		return fmt.Appendf(dst, "%s work: with every shard on %s the plan takes %s, mixing classes %s (data between classes moves at the slower bandwidth)",
			kind, name, units.FormatSeconds(b.sched.Makespan), units.FormatSeconds(b.mixedMakespan))
	}
	r := b.runnerUp(s)
	if r < 0 && b.nc == 1 {
		return append(append(append(append(dst, kind...), " work: "...), name...), " is the catalog's only class"...)
	}
	if r < 0 {
		dst = append(append(append(dst, "only "...), name...), " can run it ("...)
		return append(b.appendWhyOthers(dst, tasks, c), ')')
	}
	dst = append(append(dst, kind...), " work: "...)
	rc, ra := b.sprob.Runtime[s*b.nc+c], b.sprob.Runtime[s*b.nc+r]
	if rc > 0 && ra/rc > clearlyFaster {
		if f := b.fastestOther(s); b.sprob.Runtime[s*b.nc+f]/rc > clearlyFaster {
			dst = appendFaster(dst, ra/rc)
			return append(append(dst, " than "...), b.classes[r].Name...)
		}
	}
	return b.appendAgainstFastest(dst, s)
}

// appendAgainstFastest explains why shard s runs on its class c rather
// than on f, the other class with the least runtime: the time it finishes
// sooner and the factor that gains the most of it (start-up latency,
// waiting for a free instance, input transfer, runtime).
func (b *builder) appendAgainstFastest(dst []byte, s int) []byte {
	c, f := int(b.sched.Class[s]), b.fastestOther(s)
	fname := b.classes[f].Name
	rc, rf := b.sprob.Runtime[s*b.nc+c], b.sprob.Runtime[s*b.nc+f]
	gain := b.sched.AltFinish(s, f) - b.sched.Finish[s]
	if !(gain > 0) {
		return append(append(append(dst, "ties with "...), fname...), ", first in catalog order"...)
	}
	if rc > 0 && rf > 0 && rc/rf > clearlyFaster && !asFast(rc/rf) {
		dst = units.AppendSeconds(append(dst, "finishes "...), gain)
		dst = append(append(append(dst, " earlier than on "...), fname...), ", which runs it "...)
		dst = appendFaster(dst, rc/rf)
	} else {
		dst = append(append(append(dst, "as fast as on "...), fname...), ", finishes "...)
		dst = append(units.AppendSeconds(dst, gain), " earlier"...)
	}
	return b.appendDominantFactor(append(dst, ": "...), s, c, f)
}

// fastestOther is the class other than shard s's with the least runtime
// (earliest predicted finish, then lowest index, on ties); s must have a
// runner-up.
func (b *builder) fastestOther(s int) int {
	best := -1
	for x := 0; x < b.nc; x++ {
		if x == int(b.sched.Class[s]) || math.IsInf(b.sched.AltFinish(s, x), 1) {
			continue
		}
		rx := b.sprob.Runtime[s*b.nc+x]
		if best < 0 {
			best = x
			continue
		}
		rb := b.sprob.Runtime[s*b.nc+best]
		if rx < rb || (rx == rb && b.sched.AltFinish(s, x) < b.sched.AltFinish(s, best)) {
			best = x
		}
	}
	return best
}

// appendDominantFactor names the part of shard s's finish that favours
// class c over class f the most. A finish on class x is ready(x) + wait(x)
// + startup(x) + runtime(x), where ready is when the last input arrives
// (upstream finish plus transfer at the lower bandwidth) and wait the time
// until an instance of x is free; each term's difference between f and c
// is what that factor gains.
func (b *builder) appendDominantFactor(dst []byte, s, c, f int) []byte {
	up, inC, inF := b.inputsReady(s, c, f)
	suC, suF := b.classes[c].StartupSeconds, b.classes[f].StartupSeconds
	rtC, rtF := b.sprob.Runtime[s*b.nc+c], b.sprob.Runtime[s*b.nc+f]
	startF := b.sched.AltFinish(s, f) - suF - rtF
	waitC := max(b.sched.Start[s]-(up+inC), 0)
	waitF := max(startF-(up+inF), 0)
	// The first factor of the largest gain wins; only its text is made.
	gains := [4]float64{suF - suC, waitF - waitC, inF - inC, rtF - rtC}
	best := 0
	for i := 1; i < len(gains); i++ {
		if gains[i] > gains[best] {
			best = i
		}
	}
	as := units.AppendSeconds
	switch best {
	case 0:
		dst = as(append(dst, "starts "...), suF-suC)
		dst = as(append(dst, " sooner (start-up "...), suC)
		return append(as(append(dst, " vs "...), suF), ')')
	case 1:
		return as(append(append(dst, b.classes[f].Name...), " is busy until "...), startF)
	case 2:
		if inC == 0 && inF > 0 {
			dst = append(append(append(dst, "inputs already on "...), b.classes[c].Name...), ": saves "...)
			return append(as(dst, inF), " of transfer"...)
		}
		dst = as(append(dst, "inputs arrive "...), inF-inC)
		dst = as(append(dst, " sooner (transfer "...), inC)
		return append(as(append(dst, " vs "...), inF), ')')
	}
	dst = as(append(dst, "runs "...), rtF-rtC)
	dst = as(append(dst, " sooner (runtime "...), rtC)
	return append(as(append(dst, " vs "...), rtF), ')')
}

// inputsReady returns when shard s's upstream shards have all finished
// (up, seconds) and how much later its last input arrives on classes x
// and y (seconds): each upstream piece sends its share of the graph
// edge's bytes at the lower bandwidth of the two classes. Both classes
// are done in one walk over the inputs.
func (b *builder) inputsReady(s, x, y int) (up, onX, onY float64) {
	gs, sh := &b.groups, &b.shards
	gv := sh.group[s]
	readyX, readyY := 0.0, 0.0
	for t := gs.head[gv]; t >= 0; t = gs.next[t] {
		for _, e := range b.g.InIdx(int(t)) {
			gu := gs.ofTask[b.from[e]]
			if gu == gv {
				continue
			}
			nu, nv := sh.count[gu], sh.count[gv]
			per := b.bytes[e] / float64(nu*nv)
			for i := sh.first[gu]; i < sh.first[gu]+nu; i++ {
				fin, from := b.sched.Finish[i], int(b.sched.Class[i])
				up = max(up, fin)
				readyX = max(readyX, fin+b.sprob.Transfer(per, from, x))
				readyY = max(readyY, fin+b.sprob.Transfer(per, from, y))
			}
		}
	}
	return up, max(readyX-up, 0), max(readyY-up, 0)
}

// faster words a runtime ratio above 1: "2.5x faster", or "as fast" when
// it rounds to 1.0x.
func faster(ratio float64) string { return string(appendFaster(nil, ratio)) }

// appendFaster appends faster(ratio) to dst.
func appendFaster(dst []byte, ratio float64) []byte {
	if asFast(ratio) {
		return append(dst, "as fast"...)
	}
	return append(strconv.AppendFloat(dst, ratio, 'f', 1, 64), "x faster"...)
}

// asFast reports whether ratio rounds to 1.0 at one decimal.
func asFast(ratio float64) bool {
	var buf [32]byte
	return string(strconv.AppendFloat(buf[:0], ratio, 'f', 1, 64)) == "1.0"
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

// appendWhyOthers says, for each class but c, why the tasks cannot run
// there.
func (b *builder) appendWhyOthers(dst []byte, tasks []int32, c int) []byte {
	first := true
	for o := 0; o < b.nc; o++ {
		if o == c {
			continue
		}
		why := "cannot run it"
		for _, t := range tasks {
			if w := b.tb.Why(int(t), o); !b.tb.Feasible(int(t), o) && w != "" {
				why = w
				break
			}
		}
		if !first {
			dst = append(dst, "; "...)
		}
		first = false
		dst = append(append(append(dst, b.classes[o].Name...), ": "...), why...)
	}
	return dst
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

// splitReason describes the cut of the shard's task, the same for every
// piece: the piece count and each piece's share of the split's unit, items
// when the task is split by items, else bytes ("3 items", "3-4 items" when
// the pieces differ).
func (b *builder) splitReason(s int, _ *Split) string {
	gi := int(b.shards.group[s])
	sp := b.splitOfGroup(gi)
	n := int(b.shards.count[gi])
	cl := b.classes[b.sched.Class[s]]
	piece := ""
	switch {
	case sp.items > 0:
		lo, hi := share(int64(sp.items), n-1, n), share(int64(sp.items), 0, n)
		piece = fmt.Sprintf(" of %d %s", lo, plural(int(hi), "item"))
		if hi != lo {
			piece = fmt.Sprintf(" of %d-%d items", lo, hi)
		}
	case sp.bytes > 0:
		lo, hi := units.FormatBytes(share(sp.bytes, n-1, n)), units.FormatBytes(share(sp.bytes, 0, n))
		piece = " of " + lo
		if hi != lo {
			piece = " of " + lo + "-" + hi
		}
	}
	return fmt.Sprintf("split into %d %s%s on %d %s", n, plural(n, "piece"), piece, cl.Instances, plural(cl.Instances, "instance"))
}

// plural is word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
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
	wait := "wait for the same upstream shards"
	if info.near {
		wait = "run one tool and wait for different upstream shards (the batch waits for all of them)"
	}
	return fmt.Sprintf("batched %s that %s (%d such tasks run in %d allocations): saves %d start-ups of %s",
		what, wait, info.siblings, info.batches, n-1, su)
}
