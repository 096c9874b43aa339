package simulate

import (
	"fmt"
	"math"
	"slices"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
)

// model is a plan resolved against a catalog: indices instead of names,
// runtimes with noise applied, transfer times computed. It is validated
// once and read-only during the simulation.
type model struct {
	ids []string
	// class[i] indexes classes for shard i.
	class []int
	// classes are the catalog classes the plan uses, in catalog order.
	classes []*catalog.Class
	// startup[c] is class c's start-up latency in seconds.
	startup []float64
	// runtime[i] is shard i's runtime in seconds: the plan's prediction,
	// or its actual runtime (Options.Actual), noise applied.
	runtime []float64
	// waiters[i] are the shards that list shard i in Upstream (deduplicated).
	waiters [][]int
	// out[i] are the indices of the channels shard i produces.
	out [][]int
	// pending[i] is the number of distinct upstream shards plus incoming
	// channels shard i waits for.
	pending []int

	chanID    []string
	chanTo    []int
	chanFrom  []int
	chanBytes []int64
	chanSecs  []float64 // transfer time in seconds, with the planned classes
	bytes     int64

	// Late binding (Options.Binder): the shards, the actual runtimes, the
	// position of each class by name, each shard's noise factor and the
	// split totals, to recompute a runtime when a shard moves. The class
	// of a shard (class[i]) changes when the binder moves it.
	binder     Binder
	shards     []*plan.Shard
	act        Actual
	classPos   map[string]int
	noise      []float64
	splitItems map[string]int
	splitBytes map[string]int64
}

func newModel(p *plan.Plan, cat *catalog.Catalog, opts Options) (*model, error) {
	if opts.Binder != nil && opts.Actual == nil {
		return nil, fmt.Errorf("%w: late binding (Options.Binder) needs Options.Actual", ErrInvalid)
	}
	m, err := resolve(p, cat, opts.Binder != nil)
	if err != nil {
		return nil, err
	}
	return m.forRun(opts)
}

// resolve builds the part of the model that depends only on p and cat:
// shards, classes, dependencies and channels, checked, with the plan's
// runtimes. movable keeps every class with instances (a binder may move
// a shard to any), else only the classes the plan uses.
func resolve(p *plan.Plan, cat *catalog.Catalog, movable bool) (*model, error) {
	m := &model{shards: p.Shards}
	index, err := m.addShards(p, cat, movable)
	if err != nil {
		return nil, err
	}
	if err := m.addUpstream(p, index); err != nil {
		return nil, err
	}
	if err := m.addChannels(p, index); err != nil {
		return nil, err
	}
	if err := m.checkAcyclic(); err != nil {
		return nil, err
	}
	m.splitItems, m.splitBytes = splitTotals(p)
	return m, nil
}

// forRun returns a copy of m, as resolve left it, for one run with opts:
// its own runtimes (the actual ones with opts.Actual, noise applied) and
// its own classes (a binder moves shards); the rest is shared and only
// read.
func (m *model) forRun(opts Options) (*model, error) {
	r := *m
	r.binder, r.act = opts.Binder, opts.Actual
	r.runtime = slices.Clone(m.runtime)
	if opts.Binder != nil {
		r.class = slices.Clone(m.class)
	}
	if opts.Actual != nil {
		if err := r.applyActual(); err != nil {
			return nil, err
		}
	}
	r.applyNoise(opts)
	return &r, nil
}

// addShards indexes the shards, resolves their classes and checks their
// runtimes. It returns the shard index by ID.
func (m *model) addShards(p *plan.Plan, cat *catalog.Catalog, movable bool) (map[string]int, error) {
	n := len(p.Shards)
	index := make(map[string]int, n)
	m.ids = make([]string, n)
	m.class = make([]int, n)
	m.runtime = make([]float64, n)
	m.waiters = make([][]int, n)
	m.out = make([][]int, n)
	m.pending = make([]int, n)
	used := map[string]bool{}
	if movable {
		// A shard may move to any class with instances.
		for _, cl := range cat.Classes {
			used[cl.Name] = cl.Instances > 0
		}
	}
	for i, sh := range p.Shards {
		if sh == nil {
			return nil, fmt.Errorf("%w: shard %d is nil", ErrInvalid, i)
		}
		if _, dup := index[sh.ID]; dup {
			return nil, fmt.Errorf("%w: shard ID %q is used twice", ErrUnknownShard, sh.ID)
		}
		index[sh.ID] = i
		m.ids[i] = sh.ID
		if cat.Class(sh.Class) == nil {
			return nil, fmt.Errorf("shard %s: %w %q (catalog has %v)", sh.ID, ErrUnknownClass, sh.Class, cat.Names())
		}
		used[sh.Class] = true
		rt := sh.RuntimeSeconds.Value
		if rt < 0 || math.IsNaN(rt) || math.IsInf(rt, 0) {
			return nil, fmt.Errorf("shard %s: %w: runtime %v s", sh.ID, ErrInvalid, rt)
		}
		m.runtime[i] = rt
		if st := sh.StartSeconds; math.IsNaN(st) || math.IsInf(st, 0) {
			return nil, fmt.Errorf("shard %s: %w: start %v s", sh.ID, ErrInvalid, st)
		}
	}
	if err := m.addClasses(cat, used); err != nil {
		return nil, err
	}
	pos := make(map[string]int, len(m.classes))
	for c, cl := range m.classes {
		pos[cl.Name] = c
	}
	m.classPos = pos
	for i, sh := range p.Shards {
		m.class[i] = pos[sh.Class]
	}
	return index, nil
}

// addClasses keeps the used classes in catalog order and checks them.
func (m *model) addClasses(cat *catalog.Catalog, used map[string]bool) error {
	for _, cl := range cat.Classes {
		if !used[cl.Name] {
			continue
		}
		if cl.Instances <= 0 {
			return fmt.Errorf("class %s: %w (instances = %d)", cl.Name, ErrInstances, cl.Instances)
		}
		su := cl.Startup.Seconds()
		if su < 0 {
			return fmt.Errorf("class %s: %w: start-up latency %v", cl.Name, ErrInvalid, cl.Startup)
		}
		used[cl.Name] = false // a class defined twice counts once
		m.classes = append(m.classes, cl)
		m.startup = append(m.startup, su)
	}
	return nil
}

// addUpstream records each shard's Upstream, ignoring repeats.
func (m *model) addUpstream(p *plan.Plan, index map[string]int) error {
	for i, sh := range p.Shards {
		seen := map[int]bool{}
		for _, up := range sh.Upstream {
			u, ok := index[up]
			if !ok {
				return fmt.Errorf("shard %s: upstream %w %q", sh.ID, ErrUnknownShard, up)
			}
			if u == i {
				return &CycleError{Shards: []string{sh.ID, sh.ID}}
			}
			if seen[u] {
				continue
			}
			seen[u] = true
			m.waiters[u] = append(m.waiters[u], i)
			m.pending[i]++
		}
	}
	return nil
}

// addChannels resolves each channel's ends and computes its transfer time.
func (m *model) addChannels(p *plan.Plan, index map[string]int) error {
	n := len(p.Channels)
	m.chanID, m.chanTo, m.chanFrom = make([]string, 0, n), make([]int, 0, n), make([]int, 0, n)
	m.chanBytes, m.chanSecs = make([]int64, 0, n), make([]float64, 0, n)
	for k, ch := range p.Channels {
		if ch == nil {
			return fmt.Errorf("%w: channel %d is nil", ErrInvalid, k)
		}
		from, ok := index[ch.From]
		if !ok {
			return fmt.Errorf("channel %s: from %w %q", ch.ID, ErrUnknownShard, ch.From)
		}
		to, ok := index[ch.To]
		if !ok {
			return fmt.Errorf("channel %s: to %w %q", ch.ID, ErrUnknownShard, ch.To)
		}
		if from == to {
			return &CycleError{Shards: []string{ch.From, ch.To}}
		}
		secs, err := m.transferSeconds(ch, from, to)
		if err != nil {
			return err
		}
		m.out[from] = append(m.out[from], len(m.chanID))
		m.pending[to]++
		m.chanID = append(m.chanID, ch.ID)
		m.chanTo = append(m.chanTo, to)
		m.chanFrom = append(m.chanFrom, from)
		m.chanBytes = append(m.chanBytes, ch.Bytes)
		m.chanSecs = append(m.chanSecs, secs)
		m.bytes += ch.Bytes
	}
	return nil
}

// transferSeconds is ch.Bytes / min(producer bandwidth, consumer bandwidth)
// in seconds, 0 for an empty channel.
func (m *model) transferSeconds(ch *plan.Channel, from, to int) (float64, error) {
	if ch.Bytes < 0 {
		return 0, fmt.Errorf("channel %s: %w: %d bytes", ch.ID, ErrInvalid, ch.Bytes)
	}
	if ch.Bytes == 0 {
		return 0, nil
	}
	bw := math.Inf(1)
	for _, c := range []*catalog.Class{m.classes[m.class[from]], m.classes[m.class[to]]} {
		if !(c.BandwidthBytes > 0) || math.IsInf(c.BandwidthBytes, 0) {
			return 0, fmt.Errorf("channel %s carries %d bytes but class %s: %w (bandwidth %v bytes/s)",
				ch.ID, ch.Bytes, c.Name, ErrBandwidth, c.BandwidthBytes)
		}
		bw = math.Min(bw, c.BandwidthBytes)
	}
	return float64(ch.Bytes) / bw, nil
}

// checkAcyclic runs Kahn's algorithm over Upstream and channel edges and,
// if some shards cannot be ordered, returns a *CycleError naming one cycle.
func (m *model) checkAcyclic() error {
	n := len(m.ids)
	indeg := append([]int(nil), m.pending...)
	queue := make([]int, 0, n)
	for i := 0; i < n; i++ {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	done := 0
	for len(queue) > 0 {
		i := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		done++
		for _, j := range m.succ(i) {
			indeg[j]--
			if indeg[j] == 0 {
				queue = append(queue, j)
			}
		}
	}
	if done == n {
		return nil
	}
	return m.findCycle(indeg)
}

// succ returns the shards that wait on shard i, one entry per edge.
func (m *model) succ(i int) []int {
	out := append([]int(nil), m.waiters[i]...)
	for _, k := range m.out[i] {
		out = append(out, m.chanTo[k])
	}
	return out
}

// findCycle returns one cycle among the shards Kahn's algorithm could not
// order (indeg > 0). It first drops, repeatedly, those with no successor
// left (shards downstream of a cycle but on none); every shard that remains
// then has a remaining successor, so walking successors from any of them
// must repeat a shard, and the walk from the first repeat is a cycle.
func (m *model) findCycle(indeg []int) *CycleError {
	left := make([]bool, len(indeg))
	for i, d := range indeg {
		left[i] = d > 0
	}
	for changed := true; changed; {
		changed = false
		for i := range left {
			if left[i] && !m.hasLeftSucc(i, left) {
				left[i], changed = false, true
			}
		}
	}
	start := 0
	for !left[start] {
		start++
	}
	path := graph.WalkCycle(start, func(cur int) int {
		for _, j := range m.succ(cur) {
			if left[j] {
				return j
			}
		}
		return cur
	})
	ce := &CycleError{}
	for _, i := range path {
		ce.Shards = append(ce.Shards, m.ids[i])
	}
	ce.Shards = append(ce.Shards, m.ids[path[0]])
	return ce
}

func (m *model) hasLeftSucc(i int, left []bool) bool {
	for _, j := range m.succ(i) {
		if left[j] {
			return true
		}
	}
	return false
}
