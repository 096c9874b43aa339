package plan

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// maxID is the longest shard or job ID: a DNS label (RFC 1123), which
// Nomad job IDs and Consul service names are safe within.
const maxID = 63

// maxIDName bounds the task-name part of a shard ID, leaving room for the
// index and for the graph and run in the job ID.
const maxIDName = 32

// Sanitize lowercases s and maps every run of characters outside [a-z0-9]
// to one '-', trims '-' from both ends and cuts the result to n bytes
// (again without a trailing '-'). An empty result becomes "x".
func Sanitize(s string, n int) string {
	var sb strings.Builder
	sb.Grow(len(s))
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && sb.Len() > 0 {
				sb.WriteByte('-')
			}
			sb.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	out := sb.String()
	if len(out) > n {
		out = strings.TrimRight(out[:n], "-")
	}
	if out == "" {
		return "x"
	}
	return out
}

// shardID returns "s<index>-<name>", the index zero-padded to width digits.
func shardID(index, width int, name string) string {
	num := strconv.Itoa(index)
	if pad := width - len(num); pad > 0 {
		num = strings.Repeat("0", pad) + num
	}
	return "s" + num + "-" + Sanitize(name, maxIDName)
}

// idWidth is the digits needed for indices below n, at least 3.
func idWidth(n int) int {
	return max(3, len(strconv.Itoa(max(n-1, 0))))
}

// jobPrefix returns the sanitised "<graph>-<run>" prefix of every job ID,
// shortened so that prefix + "-" + an ID of up to idLen bytes fits maxID.
// A shortened prefix ends in 8 hex digits of an FNV-1a hash of the full one,
// so that distinct graphs or runs keep distinct job IDs.
func jobPrefix(graphName, run string, idLen int) string {
	full := Sanitize(graphName+"-"+run, 1<<20)
	room := maxID - 1 - idLen
	if len(full) <= room {
		return full
	}
	h := fnv.New32a()
	h.Write([]byte(full))
	sum := strconv.FormatUint(uint64(h.Sum32())|1<<32, 16)[1:]
	keep := strings.TrimRight(full[:max(room-len(sum)-1, 0)], "-")
	if keep == "" {
		return sum
	}
	return keep + "-" + sum
}

// makeIDs names every shard and job.
func (b *builder) makeIDs() (jobs []string) {
	sh, gs := &b.shards, &b.groups
	width := idWidth(sh.len())
	b.shardID = make([]string, sh.len())
	longest := 0
	for s := range b.shardID {
		b.shardID[s] = shardID(s, width, b.g.Tasks[gs.head[sh.group[s]]].Name)
		longest = max(longest, len(b.shardID[s]))
	}
	prefix := jobPrefix(b.g.Name, b.opts.Run, longest)
	jobs = make([]string, gs.len())
	for gi := range jobs {
		jobs[gi] = prefix + "-" + b.shardID[sh.first[gi]]
	}
	return jobs
}
