package plan

import (
	"math"
	"strconv"
	"strings"

	"github.com/shardwise/shardwise/internal/parallel"
	"github.com/shardwise/shardwise/planner/graph"
)

// assemble writes the plan document from the shard schedule.
func (b *builder) assemble() *Plan {
	g := b.g
	p := &Plan{
		Schema: SchemaVersion, Graph: g.Name, Run: b.opts.Run,
		Datacenters: g.Datacenters, Region: g.Region, Namespace: g.Namespace,
		Priority: g.Priority, Driver: g.Driver, Algorithm: b.algorithm(),
		MakespanSeconds: b.sched.Makespan, CriticalPath: []string{},
	}
	jobs := b.makeIDs()
	p.Shards = make([]*Shard, b.shards.len())
	all := make([]Shard, len(p.Shards)) // one allocation for every shard
	// Shards are written independently of each other, on every core.
	parallel.ChunksWith(len(p.Shards), 256, newShardScratch, func(sc *shardScratch, lo, hi int) {
		sc.reserve(b, lo, hi)
		for s := lo; s < hi; s++ {
			p.Shards[s] = &all[s]
			b.shard(&all[s], s, jobs.at(int(b.shards.group[s])), sc)
		}
		// The chunk's new reasons, written one after another, become one
		// string that each such shard's Reason is a slice of.
		text := string(sc.reason)
		start := 0
		for s := lo; s < hi; s++ {
			end := int(sc.reasonEnd[s-lo])
			if end < 0 {
				continue // a recent reason, set by shard
			}
			all[s].Reason, start = text[start:end], end
			sc.recent.add(all[s].Reason)
		}
		sc.reason, sc.reasonEnd = sc.reason[:0], sc.reasonEnd[:0]
	})
	p.Channels = b.channels()
	b.fillUpstream(p.Shards)
	for _, s := range b.sched.CriticalPath() {
		p.CriticalPath = append(p.CriticalPath, b.shardID.at(int(s)))
	}
	p.Classes = b.classUse(p.Shards)
	p.Stats = b.stats(p)
	return p
}

// shardScratch is the space one goroutine of assemble reuses from shard
// to shard, and the blocks it cuts the shards' small slices from.
type shardScratch struct {
	tasks []int32
	// reason holds the reasons of the chunk's shards written so far, shard
	// lo+i's ending at reasonEnd[i].
	// reasonEnd is -1 for a shard whose reason was among recent.
	reason    []byte
	reasonEnd []int32
	recent    recentReasons
	names     []string      // free part of the block of task names
	alts      []Alternative // free part of the block of alternatives
}

func newShardScratch() *shardScratch { return new(shardScratch) }

// reserve makes sc's blocks exactly what shards lo to hi-1 take.
func (sc *shardScratch) reserve(b *builder, lo, hi int) {
	names, alts := 0, 0
	for s := lo; s < hi; s++ {
		names += int(b.groups.size[b.shards.group[s]])
		alts += b.altCount(s)
	}
	sc.names, sc.alts = make([]string, names), make([]Alternative, alts)
	// Room for the chunk's reasons at the usual length (about 110 bytes),
	// so that the buffer does not grow step by step; kept from chunk to
	// chunk.
	if n := (hi - lo) * reasonBytes; cap(sc.reason) < n {
		sc.reason = make([]byte, 0, n)
	}
}

// reasonBytes is the room reserve makes for one shard's reason.
const reasonBytes = 128

// recentReasons are the last distinct reasons one goroutine of assemble
// made into strings, most recently used first. A shard whose reason
// equals one of them shares that string instead of adding its text again:
// reasons repeat (in the 10k benchmark plan a fifth of the shards are GPU
// tasks that only one class can run, all with the same 212-byte reason),
// and a few compares per shard cost less than a map of every reason.
type recentReasons [8]string

// find returns the recent reason equal to text, moved to the front.
func (r *recentReasons) find(text []byte) (string, bool) {
	for i, s := range r {
		if s != "" && s == string(text) {
			copy(r[1:i+1], r[:i])
			r[0] = s
			return s, true
		}
	}
	return "", false
}

// add puts reason s at the front, moving it there if it is among the
// recent ones, else dropping the least recently used.
func (r *recentReasons) add(s string) {
	i := 0
	for i < len(r)-1 && r[i] != s {
		i++
	}
	copy(r[1:i+1], r[:i])
	r[0] = s
}

// takeNames returns n task-name slots cut from sc's block (capacity n, so
// an append by a reader copies rather than overwrites a neighbour).
func (sc *shardScratch) takeNames(n int) []string {
	if len(sc.names) < n {
		sc.names = make([]string, n)
	}
	out := sc.names[:n:n]
	sc.names = sc.names[n:]
	return out
}

// takeAlts returns an empty slice of capacity n cut from sc's block.
func (sc *shardScratch) takeAlts(n int) []Alternative {
	if len(sc.alts) < n {
		sc.alts = make([]Alternative, n)
	}
	out := sc.alts[:0:n]
	sc.alts = sc.alts[n:]
	return out
}

// shard writes shard s into out, all but its Reason, which it appends to
// sc.reason.
func (b *builder) shard(out *Shard, s int, job string, sc *shardScratch) {
	gi := int(b.shards.group[s])
	c := int(b.sched.Class[s])
	sc.tasks = b.groups.appendTasks(sc.tasks[:0], gi)
	tasks := sc.tasks
	*out = Shard{
		ID:            b.shardID.at(s),
		Job:           job,
		Tasks:         sc.takeNames(len(tasks)),
		Class:         b.classes[c].Name,
		Type:          string(graph.TypeBatch),
		Kind:          string(b.dominantKind(tasks, c)),
		StartSeconds:  b.sched.Start[s],
		FinishSeconds: b.sched.Finish[s],
		Alternatives:  b.alternatives(s, sc),
	}
	for i, t := range tasks {
		task := b.g.Tasks[t]
		out.Tasks[i] = task.Name
		if task.Type == graph.TypeService {
			out.Type = string(graph.TypeService)
		}
	}
	out.Signature = b.g.Tasks[tasks[0]].Signature
	if len(tasks) > 1 {
		sigs := make([]string, len(tasks))
		for i, t := range tasks {
			sigs[i] = b.g.Tasks[t].Signature
		}
		out.Signature = strings.Join(sigs, "+")
	}
	out.Split = b.pieceOf(s)
	out.Resources, out.RuntimeSeconds = b.resources(s, tasks, c)
	start := len(sc.reason)
	sc.reason = b.appendReason(sc.reason, s, tasks)
	if r, ok := sc.recent.find(sc.reason[start:]); ok {
		out.Reason, sc.reason = r, sc.reason[:start]
		sc.reasonEnd = append(sc.reasonEnd, -1)
		return
	}
	sc.reasonEnd = append(sc.reasonEnd, int32(len(sc.reason)))
}

// dominantKind is the kind of the task with the most work on class c.
func (b *builder) dominantKind(tasks []int32, c int) graph.Kind {
	best := tasks[0]
	for _, t := range tasks[1:] {
		if b.work[int(t)*b.nc+c] > b.work[int(best)*b.nc+c] {
			best = t
		}
	}
	return b.kinds[best]
}

// alternatives lists shard s's predicted finish on every other class that
// can run it, in catalog order.
func (b *builder) alternatives(s int, sc *shardScratch) []Alternative {
	n := b.altCount(s)
	if n == 0 {
		return nil
	}
	out := sc.takeAlts(n)
	for c := 0; c < b.nc; c++ {
		f := b.sched.AltFinish(s, c)
		if c != int(b.sched.Class[s]) && !math.IsInf(f, 1) {
			out = append(out, Alternative{Class: b.classes[c].Name, FinishSeconds: f})
		}
	}
	return out
}

// altCount is the number of alternatives of shard s.
func (b *builder) altCount(s int) int {
	n := 0
	for c := 0; c < b.nc; c++ {
		if c != int(b.sched.Class[s]) && !math.IsInf(b.sched.AltFinish(s, c), 1) {
			n++
		}
	}
	return n
}

// pieceOf locates shard s in its split task, or returns nil.
func (b *builder) pieceOf(s int) *Split {
	gi := int(b.shards.group[s])
	sp := b.splitOfGroup(gi)
	if sp == nil {
		return nil
	}
	i, n := int(b.shards.piece[s]), int(b.shards.count[gi])
	return &Split{
		Task:  b.g.Tasks[sp.task].Name,
		Index: i, Count: n,
		Bytes: share(sp.bytes, i, n),
		Items: int(share(int64(sp.items), i, n)),
	}
}

// channels writes one channel per shard-level edge, in edge order.
func (b *builder) channels() []*Channel {
	p := b.sprob
	out := make([]*Channel, len(p.EdgeFrom))
	all := make([]Channel, len(out)) // one allocation for every channel
	width := idWidth(len(out))
	ids := channelIDs(len(out), width)
	parallel.Chunks(len(out), 1024, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			b.channel(&all[k], k, ids[k*(width+1):(k+1)*(width+1)])
			out[k] = &all[k]
		}
	})
	return out
}

// channel writes shard-level edge k as a channel with the given ID.
func (b *builder) channel(out *Channel, k int, id string) {
	p := b.sprob
	e := int(b.edgeOf[k])
	ge := b.g.Edges[e]
	from, to := int(p.EdgeFrom[k]), int(p.EdgeTo[k])
	src := BytesDeclared
	if ge.Bytes < 0 { // sized from the producer's predicted output
		src = BytesPredicted
	}
	*out = Channel{
		ID:       id,
		From:     b.shardID.at(from),
		To:       b.shardID.at(to),
		FromTask: ge.From, Output: ge.Output, ToTask: ge.To,
		Path:            inputPath(b.g.Tasks[b.to[e]], ge.From, ge.Output),
		Bytes:           int64(math.Round(p.EdgeBytes[k])),
		BytesSource:     src,
		Stream:          ge.Stream,
		TransferSeconds: p.Transfer(p.EdgeBytes[k], int(b.sched.Class[from]), int(b.sched.Class[to])),
	}
}

// channelIDs returns the IDs of n channels, "c" and the index
// zero-padded to width digits, concatenated in one string: channel k's is
// the (width+1) bytes from k*(width+1). Slices of one string cost one
// allocation instead of one per channel.
func channelIDs(n, width int) string {
	var ids strings.Builder // written once, its String not copied
	ids.Grow(n * (width + 1))
	var num [20]byte
	for k := 0; k < n; k++ {
		d := strconv.AppendInt(num[:0], int64(k), 10)
		ids.WriteByte('c')
		for i := len(d); i < width; i++ {
			ids.WriteByte('0')
		}
		ids.Write(d)
	}
	return ids.String()
}

// inputPath is where task t receives output `output` of task from, or "".
func inputPath(t *graph.Task, from, output string) string {
	if output == "" {
		return ""
	}
	for _, in := range t.Inputs {
		if in.Task == from && in.Output == output {
			return in.Path
		}
	}
	return ""
}

// fillUpstream sets each shard's Upstream: the distinct shards it has
// in-edges from, in shard order. The counting is done in the replayer's
// buffers (idle once the batching pass is over), so only the lists
// themselves, one block for every shard, are allocated.
func (b *builder) fillUpstream(out []*Shard) {
	r := &b.replayer
	ids := make([]string, r.countUpstream(b.sprob)) // every shard's list
	end := r.eachUpstream(b.sprob, func(pos, u int32) { ids[pos] = b.shardID.at(int(u)) })
	start := int32(0)
	for s, sh := range out {
		sh.Upstream = ids[start:end[s]:end[s]]
		start = end[s]
	}
}

// classUse summarises each catalog class, in catalog order.
func (b *builder) classUse(shards []*Shard) []*ClassUse {
	out := make([]*ClassUse, b.nc)
	for c, cl := range b.classes {
		out[c] = &ClassUse{Class: cl.Name, Instances: cl.Instances}
	}
	for s, sh := range shards {
		u := out[b.sched.Class[s]]
		u.Shards++
		u.BusySeconds += sh.RuntimeSeconds.Value
	}
	return out
}

func (b *builder) stats(p *Plan) Stats {
	st := Stats{Tasks: b.nt, Shards: len(p.Shards), Jobs: b.groups.len(), SplitTasks: len(b.splits)}
	for gi, n := range b.groups.fused {
		st.FusedTasks += int(n)
		if b.groups.batch[gi] >= 0 {
			st.BatchedTasks += int(b.groups.size[gi])
		}
	}
	for _, ch := range p.Channels {
		st.ChannelBytes += ch.Bytes
	}
	return st
}
