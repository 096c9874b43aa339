package launcher

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/sdk"
)

// Node attributes the launcher places by.
const (
	attrNodeID    = "${node.unique.id}"
	attrNodeClass = "${node.class}"
)

// maxAffinityWeight is Nomad's largest affinity weight.
const maxAffinityWeight = 100

// nodeBytes returns, for unit u about to be submitted, the bytes its
// shards read over non-streaming channels from each node that ran the
// upstream shard; a channel of unknown size counts one byte, so that a
// plain dependency still draws the shard to its upstream's node.
func (t *tracker) nodeBytes(u *unit, channels []*plan.Channel) map[string]int64 {
	own := map[string]bool{}
	for _, s := range u.shards {
		own[s.ID] = true
	}
	out := map[string]int64{}
	for _, c := range channels {
		if c.Stream || !own[c.To] || own[c.From] {
			continue
		}
		up := t.byID[c.From]
		if up == nil {
			continue
		}
		a, ok := up.bestAlloc(up.pieceOf(c.From))
		if !ok || a.NodeID == "" {
			continue
		}
		out[a.NodeID] += max(c.Bytes, 1)
	}
	return out
}

// pieceOf returns the allocation index of the unit's shard id.
func (u *unit) pieceOf(id string) int {
	for i, s := range u.shards {
		if s.ID == id {
			return i
		}
	}
	return 0
}

// nodeClass returns the node class the job is constrained to by a
// "${node.class} = X" constraint on the job or its group, or "" when it
// has none (any node serves it).
func nodeClass(j *api.Job) string {
	cons := slices.Clone(j.Constraints)
	for _, tg := range j.TaskGroups {
		cons = append(cons, tg.Constraints...)
	}
	for _, c := range cons {
		if c == nil || strings.TrimSpace(c.LTarget) != attrNodeClass {
			continue
		}
		if c.Operand == "=" || c.Operand == "==" || c.Operand == "is" {
			return c.RTarget
		}
	}
	return ""
}

// affinities returns one ${node.unique.id} affinity per node in bytes
// whose class serves the job (classOf(node) == class, any node when class
// is ""), weighted 1..100 by the node's share of the bytes, heaviest
// first. Nodes whose class is unknown are skipped.
func affinities(bytes map[string]int64, class string, classOf func(nodeID string) (string, bool)) []*api.Affinity {
	var total int64
	nodes := make([]string, 0, len(bytes))
	for _, n := range slices.Sorted(maps.Keys(bytes)) {
		c, ok := classOf(n)
		if !ok || (class != "" && c != class) {
			continue
		}
		nodes = append(nodes, n)
		total += bytes[n]
	}
	slices.SortStableFunc(nodes, func(a, b string) int { return cmp.Compare(bytes[b], bytes[a]) })
	out := make([]*api.Affinity, 0, len(nodes))
	for _, n := range nodes {
		w := int8(max(1, math.Round(maxAffinityWeight*float64(bytes[n])/float64(total))))
		out = append(out, &api.Affinity{LTarget: attrNodeID, Operand: "=", RTarget: n, Weight: &w})
	}
	return out
}

// withSubmission returns a copy of j, not sharing the parts it changes,
// whose group also carries affs, whose meta records the attempt
// (shardwise_attempt, set from the second attempt on) and, with failFast,
// whose group neither restarts nor reschedules a failed task.
func withSubmission(j *api.Job, affs []*api.Affinity, attempt int, failFast bool) *api.Job {
	c := *j
	c.TaskGroups = slices.Clone(j.TaskGroups)
	if len(c.TaskGroups) > 0 && (len(affs) > 0 || failFast) {
		tg := *c.TaskGroups[0]
		tg.Affinities = append(slices.Clone(tg.Affinities), affs...)
		if failFast {
			tg.RestartPolicy = &api.RestartPolicy{Attempts: new(0), Mode: new(api.RestartPolicyModeFail)}
			tg.ReschedulePolicy = &api.ReschedulePolicy{Attempts: new(0), Unlimited: new(false)}
		}
		c.TaskGroups[0] = &tg
	}
	if attempt > 1 {
		c.Meta = maps.Clone(j.Meta)
		if c.Meta == nil {
			c.Meta = map[string]string{}
		}
		c.Meta[sdk.MetaAttempt] = strconv.Itoa(attempt)
	}
	return &c
}
