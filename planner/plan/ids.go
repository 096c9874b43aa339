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
// (one for the shards', one for the jobs'), each written once into a
// strings.Builder sized up front, kept with where each ID ends (idList).
func (b *builder) makeIDs() (jobs idList) {
	sh, gs := &b.shards, &b.groups
	width := idWidth(sh.len())
	// A sanitised name is at most its length (every byte kept stands for
	// at least one of the name's) and maxIDName, and at least "x"; an
	// index takes width digits (idWidth covers every index).
	bound := 0
	for s := 0; s < sh.len(); s++ {
		name := b.g.Tasks[gs.head[sh.group[s]]].Name
		bound += len("s-") + width + max(1, min(len(name), maxIDName))
	}
	var ids strings.Builder
	ids.Grow(bound)
	ends := make([]int32, sh.len())
	var tmp [64]byte
	longest := 0
	for s := range ends {
		id := appendShardID(tmp[:0], s, width, b.g.Tasks[gs.head[sh.group[s]]].Name)
		ids.Write(id)
		ends[s] = int32(ids.Len())
		longest = max(longest, len(id))
	}
	b.shardID = idList{text: ids.String(), ends: ends}
	prefix := jobPrefix(b.g.Name, b.opts.Run, longest)
	size := 0
	for gi := 0; gi < gs.len(); gi++ {
		size += len(prefix) + 1 + len(b.shardID.at(int(sh.first[gi])))
	}
	var all strings.Builder
	all.Grow(size)
	jobs.ends = make([]int32, gs.len())
	for gi := range jobs.ends {
		all.WriteString(prefix)
		all.WriteByte('-')
		all.WriteString(b.shardID.at(int(sh.first[gi])))
		jobs.ends[gi] = int32(all.Len())
	}
	jobs.text = all.String()
	return jobs
}

// idList is a list of IDs kept as one string and where each ends, 4 bytes
// per ID rather than a 16-byte string header each: ID i is
// text[ends[i-1]:ends[i]] (from 0 for the first).
type idList struct {
	text string
	ends []int32
}

// at returns ID i.
func (l idList) at(i int) string {
	start := int32(0)
	if i > 0 {
		start = l.ends[i-1]
	}
	return l.text[start:l.ends[i]]
}
