package plan

import (
	"hash/fnv"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
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
	return string(appendSanitized(make([]byte, 0, len(s)), s, n))
}

// appendSanitized appends Sanitize(s, n) to dst.
func appendSanitized(dst []byte, s string, n int) []byte {
	start := len(dst)
	dash := false
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
		} else {
			r = unicode.ToLower(r) // as strings.ToLower maps each rune
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && len(dst) > start {
				dst = append(dst, '-')
			}
			dst = append(dst, byte(r))
			dash = false
			continue
		}
		dash = true
	}
	if len(dst)-start > n {
		dst = dst[:start+n]
		for len(dst) > start && dst[len(dst)-1] == '-' {
			dst = dst[:len(dst)-1]
		}
	}
	if len(dst) == start {
		dst = append(dst, 'x')
	}
	return dst
}

// shardID returns "s<index>-<name>", the index zero-padded to width digits.
func shardID(index, width int, name string) string {
	return string(appendShardID(nil, index, width, name))
}

// appendShardID appends shardID(index, width, name) to dst.
func appendShardID(dst []byte, index, width int, name string) []byte {
	dst = append(dst, 's')
	dst = appendPadded(dst, index, width)
	dst = append(dst, '-')
	return appendSanitized(dst, name, maxIDName)
}

// appendPadded appends i in decimal, zero-padded to width digits.
func appendPadded(dst []byte, i, width int) []byte {
	var num [20]byte
	d := strconv.AppendInt(num[:0], int64(i), 10)
	for k := len(d); k < width; k++ {
		dst = append(dst, '0')
	}
	return append(dst, d...)
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

// makeIDs names every shard and job. The IDs are slices of two strings
// (one for the shards', one for the jobs'), two allocations in all.
func (b *builder) makeIDs() (jobs []string) {
	sh, gs := &b.shards, &b.groups
	width := idWidth(sh.len())
	ends := make([]int, sh.len())
	var buf []byte
	longest := 0
	for s := range ends {
		at := len(buf)
		buf = appendShardID(buf, s, width, b.g.Tasks[gs.head[sh.group[s]]].Name)
		ends[s] = len(buf)
		longest = max(longest, len(buf)-at)
	}
	all := string(buf)
	b.shardID = make([]string, sh.len())
	for s, end := range ends {
		start := 0
		if s > 0 {
			start = ends[s-1]
		}
		b.shardID[s] = all[start:end]
	}
	prefix := jobPrefix(b.g.Name, b.opts.Run, longest)
	jobs = make([]string, gs.len())
	buf = buf[:0]
	jobEnds := ends[:0]
	for gi := range jobs {
		buf = append(append(append(buf, prefix...), '-'), b.shardID[sh.first[gi]]...)
		jobEnds = append(jobEnds, len(buf))
	}
	alljobs := string(buf)
	for gi, end := range jobEnds {
		start := 0
		if gi > 0 {
			start = jobEnds[gi-1]
		}
		jobs[gi] = alljobs[start:end]
	}
	return jobs
}
