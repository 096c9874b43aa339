package nomadjob

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/internal/parallel"
	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/sdk"
)

// Jobs builds one Nomad job per distinct Shard.Job of p, in order of first
// appearance, placing each on the shard's executor class from cat and
// running the shard's tasks from g with opts.Driver.
//
// A job has one task group and one task. Shards sharing a Job must be all
// the pieces of one split task; they become one group with count =
// Split.Count whose resources are the largest any piece asks for.
//
// Jobs returns an error naming the shard for a class missing from cat, a
// task missing from g, GPUs on a class without a device, memory_max on a
// class without oversubscription, malformed split pieces, an unknown
// driver, or predictions that are negative or not finite. It never returns
// a partial list.
func Jobs(p *plan.Plan, g *graph.Graph, cat *catalog.Catalog, opts Options) ([]*api.Job, error) {
	if p == nil || g == nil || cat == nil {
		return nil, fmt.Errorf("nomad jobs: plan, graph and catalog are required")
	}
	o, err := opts.resolve(p.Driver)
	if err != nil {
		return nil, fmt.Errorf("nomad jobs: %w", err)
	}
	if p.Priority < 0 || p.Priority > 100 {
		return nil, fmt.Errorf("nomad jobs: priority %d: want 1..100, or 0 for Nomad's default", p.Priority)
	}
	us, err := units(p)
	if err != nil {
		return nil, fmt.Errorf("nomad jobs: %w", err)
	}
	// Jobs are built on every core, each goroutine with its own builder
	// (its caches); the error is the first in job order.
	jobs := make([]*api.Job, len(us))
	errs := make([]error, len(us))
	newBuilder := func() *builder { return &builder{plan: p, graph: g, cat: cat, opts: o} }
	parallel.ChunksWith(len(us), 64, newBuilder, func(b *builder, lo, hi int) {
		for i := lo; i < hi; i++ {
			jobs[i], errs[i] = b.job(us[i])
		}
	})
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("nomad jobs: job %s: %s: %w", us[i].job, us[i].label(), err)
		}
	}
	return jobs, nil
}

// builder holds what every job of one plan is built from.
type builder struct {
	plan  *plan.Plan
	graph *graph.Graph
	cat   *catalog.Catalog
	opts  Options
	// splits maps split pieces' shard IDs to their Split (built on first use).
	splits map[string]*plan.Split
}

// job builds the Nomad job of one unit.
func (b *builder) job(u *unit) (*api.Job, error) {
	s := u.first()
	class := b.cat.Class(s.Class)
	if class == nil {
		return nil, fmt.Errorf("class %q is not in the catalog (have %s)", s.Class, strings.Join(b.cat.Names(), ", "))
	}
	if err := checkTargets(class); err != nil {
		return nil, err
	}
	jobType, err := shardType(s.Type)
	if err != nil {
		return nil, err
	}
	tasks, err := b.tasks(s)
	if err != nil {
		return nil, err
	}
	res := maxResources(u.shards)
	task, err := b.task(u, tasks, class, res)
	if err != nil {
		return nil, err
	}
	meta := b.meta(u, tasks)
	group := &api.TaskGroup{
		Name:             new(groupName(u)),
		Count:            new(len(u.shards)),
		Constraints:      groupConstraints(class),
		Tasks:            []*api.Task{task},
		RestartPolicy:    restartPolicy(jobType),
		ReschedulePolicy: reschedulePolicy(jobType),
		EphemeralDisk:    ephemeralDisk(res.DiskMiB),
		Meta:             meta,
	}
	if err := checkName("group", *group.Name); err != nil {
		return nil, err
	}
	return b.wrap(u, jobType, class, group, maps.Clone(meta)), nil
}

// wrap puts group into a job with the plan's job-level settings.
func (b *builder) wrap(u *unit, jobType string, class *catalog.Class, group *api.TaskGroup, meta map[string]string) *api.Job {
	j := &api.Job{
		ID:          new(u.job),
		Name:        new(u.job),
		Type:        new(jobType),
		Datacenters: datacenters(b.plan, class),
		Meta:        meta,
		TaskGroups:  []*api.TaskGroup{group},
	}
	if b.plan.Priority > 0 {
		j.Priority = new(b.plan.Priority)
	}
	if b.plan.Region != "" {
		j.Region = new(b.plan.Region)
	}
	if b.plan.Namespace != "" {
		j.Namespace = new(b.plan.Namespace)
	}
	if class.Placement.NodePool != "" {
		j.NodePool = new(class.Placement.NodePool)
	}
	return j
}

// tasks resolves the shard's task names in g, in the shard's order.
func (b *builder) tasks(s *plan.Shard) ([]*graph.Task, error) {
	if len(s.Tasks) == 0 {
		return nil, fmt.Errorf("no tasks")
	}
	out := make([]*graph.Task, len(s.Tasks))
	for i, name := range s.Tasks {
		t := b.graph.Task(name)
		if t == nil {
			return nil, fmt.Errorf("unknown task %q: not in graph %s", name, b.graph.Name)
		}
		out[i] = t
	}
	return out, nil
}

// meta returns the shardwise_* meta shared by the job and its group; tasks
// are the first shard's.
func (b *builder) meta(u *unit, tasks []*graph.Task) map[string]string {
	s := u.first()
	m := map[string]string{
		sdk.MetaGraph:     b.plan.Graph,
		sdk.MetaRun:       b.plan.Run,
		sdk.MetaShard:     strings.Join(u.ids(), ","),
		sdk.MetaSignature: MetaSignatureOf(s.Signature),
		sdk.MetaClass:     s.Class,
		sdk.MetaUpstream:  strings.Join(upstream(u), ","),
	}
	if sp := u.split(); sp != nil {
		m[sdk.MetaSplitTask] = sp.Task
	}
	maps.Copy(m, predictionMeta(u))
	if mf, ok := b.taskManifest(u, tasks); ok {
		m[sdk.MetaTasks] = mf
	}
	return m
}

// taskManifest returns the sdk.MetaTasks meta of a unit that is one fused
// shard whose script times its tasks (sdk.TimesTasks), for the feedback
// service to record each task on its own; false for any other unit, for a
// task without a signature, or when the manifest would be over MaxInline
// (task signatures of kilobytes): the shard is then recorded as one.
func (b *builder) taskManifest(u *unit, tasks []*graph.Task) (string, bool) {
	if len(u.shards) != 1 || u.shards[0].Split != nil || !sdk.TimesTasks(len(tasks)) {
		return "", false
	}
	m := make(sdk.TaskManifest, len(tasks))
	var chans map[edgeKey]int64 // built on the first undeclared edge
	for k, t := range tasks {
		if t.Signature == "" { // the feedback service needs each task's
			return "", false
		}
		m[k] = sdk.ManifestTask{Task: t.Name, Signature: t.Signature,
			InputBytes: b.taskInputBytes(u, t, &chans), SharedInputBytes: t.SharedInputBytes}
	}
	v := sdk.EncodeTaskManifest(m)
	return v, len(v) <= MaxInline
}

// edgeKey names a graph edge by its ends and output; with to empty, the
// output any task reads.
type edgeKey struct{ from, output, to string }

// taskInputBytes is the data task t of unit u reads, bytes: its declared
// input size (Task.InputBytes), else the sum over its incoming edges of
// the declared size, or for an edge from another job of undeclared size
// the bytes of the plan's channel carrying it (sized from the producer's
// predicted output); an undeclared edge within the shard counts 0. *chans
// indexes u's input channels, built when first needed.
func (b *builder) taskInputBytes(u *unit, t *graph.Task, chans *map[edgeKey]int64) int64 {
	if t.InputBytes > 0 {
		return t.InputBytes
	}
	i := b.graph.Index(t.Name)
	if i < 0 {
		return 0
	}
	var sum int64
	for _, ei := range b.graph.InIdx(i) {
		e := b.graph.Edges[ei]
		if e.Bytes >= 0 {
			sum += e.Bytes
			continue
		}
		if *chans == nil {
			*chans = make(map[edgeKey]int64, len(u.inputs))
			for _, c := range u.inputs {
				(*chans)[edgeKey{c.FromTask, c.Output, c.ToTask}] = max(c.Bytes, 0)
				if _, ok := (*chans)[edgeKey{c.FromTask, c.Output, ""}]; !ok {
					(*chans)[edgeKey{c.FromTask, c.Output, ""}] = max(c.Bytes, 0)
				}
			}
		}
		// attachChannels keeps one channel of two tasks of u reading one
		// output at one path: the second reader's edge has none of its own.
		n, ok := (*chans)[edgeKey{e.From, e.Output, e.To}]
		if !ok {
			n = (*chans)[edgeKey{e.From, e.Output, ""}]
		}
		sum += n
	}
	return sum
}

// MetaSignatureOf is the shardwise_signature meta of a shard of
// signature sig: sig itself, or, when sig is longer than MaxInline (a
// fused shard of thousands of tasks joins their signatures with "+"), its
// first and last parts, the number of parts and a SHA-256 prefix of the
// whole: "a+...+z (20000 tasks, sha256:0123456789abcdef)". Nomad exports
// every meta value to the task's environment (NOMAD_META_*), where a
// string over 128 KiB makes exec fail with E2BIG; the short form still
// tells equal signatures apart.
func MetaSignatureOf(sig string) string {
	if len(sig) <= MaxInline {
		return sig
	}
	parts := strings.Split(sig, "+")
	sum := sha256.Sum256([]byte(sig))
	return fmt.Sprintf("%s+...+%s (%d tasks, sha256:%x)", parts[0], parts[len(parts)-1], len(parts), sum[:8])
}

// predictionMeta returns the unit's prediction meta: per piece, the
// predicted runtime (seconds, to the millisecond) and memory (MiB,
// rounded up), and the bytes of the channels entering and leaving it.
func predictionMeta(u *unit) map[string]string {
	n := len(u.shards)
	rt, mem, in, out := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, s := range u.shards {
		rt[i] = strconv.FormatFloat(math.Round(s.RuntimeSeconds.Value*1000)/1000, 'f', -1, 64)
		mem[i] = strconv.FormatFloat(math.Ceil(s.Resources.MemoryMiB.Value), 'f', -1, 64)
		inBytes, outBytes := channelBytes(u, s.ID)
		if inBytes == 0 && s.Split != nil {
			inBytes = s.Split.Bytes
		}
		in[i], out[i] = strconv.FormatInt(inBytes, 10), strconv.FormatInt(outBytes, 10)
	}
	return map[string]string{
		sdk.MetaPredictedRuntime: strings.Join(rt, ","),
		sdk.MetaPredictedMemory:  strings.Join(mem, ","),
		sdk.MetaInputBytes:       strings.Join(in, ","),
		sdk.MetaOutputBytes:      strings.Join(out, ","),
	}
}

// channelBytes sums the bytes of the unit's channels from other jobs into
// shard id and from shard id to other jobs.
func channelBytes(u *unit, id string) (in, out int64) {
	for _, c := range u.inputs {
		if c.To == id {
			in += max(c.Bytes, 0)
		}
	}
	for _, c := range u.outputs {
		if c.From == id {
			out += max(c.Bytes, 0)
		}
	}
	return in, out
}

// upstream returns the shards the unit waits for, first appearance first,
// without duplicates or the unit's own pieces.
func upstream(u *unit) []string {
	own := map[string]bool{}
	for _, s := range u.shards {
		own[s.ID] = true
	}
	var out []string
	for _, s := range u.shards {
		for _, up := range s.Upstream {
			if !own[up] {
				own[up] = true
				out = append(out, up)
			}
		}
	}
	return out
}

// groupName is the shard ID, or the split task's name for a split job
// (whose pieces have IDs of their own).
func groupName(u *unit) string {
	if sp := u.split(); sp != nil {
		return sp.Task
	}
	return u.first().ID
}

// shardType maps a shard's Type to a Nomad job type; empty means batch.
func shardType(t string) (string, error) {
	switch t {
	case "", string(graph.TypeBatch):
		return "batch", nil
	case string(graph.TypeService):
		return "service", nil
	}
	return "", fmt.Errorf("type %q: want batch or service", t)
}

// checkName rejects group and task names Nomad refuses.
func checkName(what, name string) error {
	if name == "" {
		return fmt.Errorf("empty %s name", what)
	}
	if strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%s name %s: contains a slash or NUL", what, strconv.Quote(name))
	}
	return nil
}

// datacenters returns the class's datacenters, or the plan's when the class
// names none; nil leaves Nomad's default ("*").
func datacenters(p *plan.Plan, class *catalog.Class) []string {
	if len(class.Placement.Datacenters) > 0 {
		return append([]string(nil), class.Placement.Datacenters...)
	}
	if len(p.Datacenters) > 0 {
		return append([]string(nil), p.Datacenters...)
	}
	return nil
}
