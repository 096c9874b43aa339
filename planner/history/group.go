package history

import "sort"

// OK reports whether the execution succeeded (exit code 0, not OOM-killed).
// Only successful records describe a task's normal runtime.
func (r *Record) OK() bool { return r.ExitCode == 0 && !r.OOMKilled }

// CoresUsed returns the cores the execution kept busy: Cores when recorded,
// else CPUPercent/100 (the WfCommons avgCPU convention), else 0.
func (r *Record) CoresUsed() float64 {
	if r.Cores > 0 {
		return r.Cores
	}
	return r.CPUPercent / 100
}

// IOBytes returns the bytes read plus written.
func (r *Record) IOBytes() int64 { return r.ReadBytes + r.WriteBytes }

// ProducedBytes returns the data the execution produced for downstream
// tasks: OutputBytes when recorded, else the bytes written.
func (r *Record) ProducedBytes() int64 {
	if r.OutputBytes > 0 {
		return r.OutputBytes
	}
	return r.WriteBytes
}

// Group is the records of one signature, in input order.
type Group struct {
	Signature string
	Records   []Record
}

// BySignature groups records by Signature. Groups come in order of first
// appearance; each group keeps its records' input order. The records are
// copied, so the groups do not alias the input.
func BySignature(records []Record) []Group {
	index := map[string]int{}
	var out []Group
	for _, r := range records {
		i, ok := index[r.Signature]
		if !ok {
			i = len(out)
			index[r.Signature] = i
			out = append(out, Group{Signature: r.Signature})
		}
		out[i].Records = append(out[i].Records, r)
	}
	return out
}

// Successful returns the records for which OK is true, in order.
func Successful(records []Record) []Record {
	out := make([]Record, 0, len(records))
	for _, r := range records {
		if r.OK() {
			out = append(out, r)
		}
	}
	return out
}

// Signatures returns the distinct signatures of records, sorted.
func Signatures(records []Record) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range records {
		if !seen[r.Signature] {
			seen[r.Signature] = true
			out = append(out, r.Signature)
		}
	}
	sort.Strings(out)
	return out
}

// FillConcurrency sets each record's Concurrency to the number of other
// records on the same Node whose [Start, End) overlaps its own. Records
// without a Node or a Start and End keep theirs. It sorts a copy of the
// indices per node by start and sweeps, O(n log n + overlaps).
func FillConcurrency(recs []Record) {
	byNode := map[string][]int{}
	for i := range recs {
		r := &recs[i]
		if r.Node == "" || r.Start.IsZero() || r.End.IsZero() {
			continue
		}
		byNode[r.Node] = append(byNode[r.Node], i)
	}
	for _, idx := range byNode {
		sort.Slice(idx, func(a, b int) bool { return recs[idx[a]].Start.Before(recs[idx[b]].Start) })
		for a, i := range idx {
			for _, j := range idx[a+1:] {
				if !recs[j].Start.Before(recs[i].End) {
					break
				}
				recs[i].Concurrency++
				recs[j].Concurrency++
			}
		}
	}
}
