package sdk

import (
	"regexp"
	"strings"
)

// UpstreamGoneMarker starts the tag the shard driver puts in the error of
// a task whose input is lost for good: its producer allocation completed,
// but no plugin serves the channel any more (the producer's node or data
// lost, or the data deleted after ConsumedRetention). The error reaches
// Nomad as the task's exit message (the Terminated task event's Message,
// Details["exit_message"] and DisplayMessage), where the launcher finds
// the tag (ParseUpstreamGone) and runs the producer again instead of
// retrying the consumer in vain. The tag is the contract; the words
// around it are for people and may change.
const UpstreamGoneMarker = "[shardwise-upstream-gone"

// UpstreamGoneTag returns the tag naming producer shard shard and its
// completed allocation alloc (a Nomad UUID) whose output is gone:
// "[shardwise-upstream-gone shard=s000-gen alloc=UUID]". Shard IDs hold no
// spaces, quotes or brackets (translator IDs), so the tag survives the %q
// quoting of Nomad's DisplayMessage unchanged.
func UpstreamGoneTag(shard, alloc string) string {
	return UpstreamGoneMarker + " shard=" + shard + " alloc=" + alloc + "]"
}

// UpstreamGone is one producer whose output a task found gone.
type UpstreamGone struct {
	// Shard is the producing shard's ID; Alloc the completed allocation
	// the consumer was told to read from (its from_alloc).
	Shard, Alloc string
}

var upstreamGoneRE = regexp.MustCompile(regexp.QuoteMeta(UpstreamGoneMarker) + ` shard=([^\s\]"\\]+) alloc=([^\s\]"\\]*)\]`)

// ParseUpstreamGone returns the producers the UpstreamGoneTag tags in
// msg name, in order, each once; nil when msg holds none.
func ParseUpstreamGone(msg string) []UpstreamGone {
	if !strings.Contains(msg, UpstreamGoneMarker) {
		return nil
	}
	var out []UpstreamGone
	seen := map[UpstreamGone]bool{}
	for _, m := range upstreamGoneRE.FindAllStringSubmatch(msg, -1) {
		g := UpstreamGone{Shard: m[1], Alloc: m[2]}
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}
