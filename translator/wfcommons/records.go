package wfcommons

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
)

// result assembles the Result of a built graph: records, metadata and
// warnings.
func (b *builder) result() *Result {
	tr := b.tr
	res := &Result{
		Graph: b.g, Schema: tr.schema, Name: tr.name, RuntimeSystem: tr.system,
		Path: tr.file, MakespanSeconds: tr.makespan,
		Family: family(tr.file, tr.name),
	}
	res.Warnings = append(res.Warnings, tr.warnings...)
	if tr.executedAt != "" {
		if at, ok := ParseTime(tr.executedAt); ok {
			res.ExecutedAt = at
		} else {
			res.Warnings = append(res.Warnings, fmt.Sprintf("executedAt %q is in no known date format; ExecutedAt left zero", tr.executedAt))
		}
	}
	var c counts
	for i, t := range tr.tasks {
		if t.exec == nil {
			c.unexecuted++
			continue
		}
		res.Records = append(res.Records, b.record(i, t, &c))
	}
	history.FillConcurrency(res.Records)
	res.Warnings = append(res.Warnings, c.warnings(tr, b)...)
	return res
}

// counts tallies per-task oddities, reported as one warning each.
type counts struct {
	executed, unexecuted, memoryZero, multiNode, unknownNode, badStart int
	// withMemory counts executed tasks with a memory field; zeroRuntime
	// those whose runtime is 0.
	withMemory, zeroRuntime int
	// tinyMemory counts memories below MinMemoryBytes, the smallest being
	// tinyMin bytes (task tinyTask).
	tinyMemory                    int
	tinyMin                       int64
	tinyTask                      string
	disagree                      int
	disagreeTask, disagreeExample string
}

// MinMemoryBytes is the least peak memory Import believes of a process
// (1 MiB): a smaller figure (3,508 bytes for an alignment) is in another
// unit or not a measurement, and a record keeping it would size the
// task's memory down to nothing. Such records leave memory unset.
const MinMemoryBytes = 1 << 20

func (c counts) warnings(tr *trace, b *builder) []string {
	var w []string
	add := func(n int, format string) {
		if n > 0 {
			w = append(w, fmt.Sprintf(format, n))
		}
	}
	add(c.unexecuted, "%d tasks have no execution record: no history record, and their stand-in sleeps 0 s")
	add(c.memoryZero, "%d tasks have memoryInBytes 0 (not measured): their records leave memory unset")
	if c.executed > 0 && c.withMemory == 0 {
		w = append(w, fmt.Sprintf("no task records its memory (memoryInBytes or memory): the records leave memory unset, so plans size it from other history or the default %d MiB", predict.DefaultMemoryMiB))
	}
	if c.tinyMemory > 0 {
		w = append(w, fmt.Sprintf("%d tasks record a peak memory below 1 MiB (the least %d bytes, task %s), too little for a process: probably another unit; their records leave memory unset",
			c.tinyMemory, c.tinyMin, c.tinyTask))
	}
	add(c.zeroRuntime, "%d tasks have runtimeInSeconds 0: their stand-ins sleep 0 s and their records say they took no time")
	if c.disagree > 0 {
		w = append(w, fmt.Sprintf("%d tasks give byte and legacy KB fields that disagree (first: task %s, %s): the byte fields are used",
			c.disagree, c.disagreeTask, c.disagreeExample))
	}
	if b.oneSided > 0 {
		w = append(w, fmt.Sprintf("%d dependencies appear in only one of the parents and children lists (first: %s): each is imported", b.oneSided, b.oneSidedExample))
	}
	add(b.byAltID, "%d parents or children name a task by its id rather than its name: resolved by id")
	add(c.multiNode, "%d tasks list several machines: their records name the first")
	add(c.unknownNode, "%d tasks ran on a machine not described in the machines list: their records have no CPU speed")
	add(c.badStart, "%d tasks have an executedAt in no known date format: their records have no start and end")
	add(tr.missingFiles, "%d file references have no entry in workflow.specification.files: their size is taken as 0")
	renamed := 0
	for i, t := range tr.tasks {
		if b.names[i] != t.id {
			renamed++
		}
	}
	add(renamed, "%d task ids are not HCL identifiers and were renamed; env "+EnvTraceTask+" keeps each id")
	return w
}

// record is the history record of executed trace task i.
func (b *builder) record(i int, t *task, c *counts) history.Record {
	e := t.exec
	r := history.Record{
		Graph: b.g.Name, Run: b.run(), Task: b.names[i], Signature: b.g.Tasks[i].Signature,
		Node: e.node, RuntimeSeconds: e.runtime * b.opts.TimeScale, Cores: cores(e), CPUPercent: e.avgCPU,
		MemoryBytes: e.memory, ReadBytes: e.read, WriteBytes: e.written,
		InputBytes: sumBytes(t.inputs), SharedInputBytes: b.sharedBytes(t), OutputBytes: sumBytes(t.outputs),
		Source: "wfcommons:" + filepath.Base(b.tr.file),
	}
	c.executed++
	if e.memoryZero {
		c.memoryZero++
	}
	if e.hasMemory {
		c.withMemory++
	}
	if e.memory > 0 && e.memory < MinMemoryBytes {
		if c.tinyMemory == 0 || e.memory < c.tinyMin {
			c.tinyMin, c.tinyTask = e.memory, t.id
		}
		c.tinyMemory++
		r.MemoryBytes = 0
	}
	if e.runtime == 0 {
		c.zeroRuntime++
	}
	if e.disagree != "" {
		if c.disagree == 0 {
			c.disagreeTask, c.disagreeExample = t.id, e.disagree
		}
		c.disagree++
	}
	if e.nodes > 1 {
		c.multiNode++
	}
	if e.node != "" {
		if m, ok := b.tr.machines[e.node]; ok {
			r.CPUMHz = m.mhz
		} else {
			c.unknownNode++
		}
	}
	if e.executedAt != "" {
		if start, ok := ParseTime(e.executedAt); ok {
			r.Start = start
			r.End = start.Add(time.Duration(math.Round(r.RuntimeSeconds * float64(time.Second))))
		} else {
			c.badStart++
		}
	}
	return r
}

// run names the recorded run: Nextflow's runName, else the file's stem.
func (b *builder) run() string {
	if b.tr.runName != "" {
		return b.tr.runName
	}
	return stem(b.tr.file)
}

// family is the file's base name up to its first "-", or name.
func family(path, name string) string {
	if f, _, ok := strings.Cut(stem(path), "-"); ok && f != "" {
		return f
	}
	return name
}

// timeLayouts are the executedAt formats seen in WfCommons traces, tried in
// order: RFC 3339 ("2020-12-25T20:10:08+00:00", fractions allowed), compact
// ISO 8601 ("20200401T050758+0000"), Montage's month-day-year
// ("03-23-21T05:57:15Z"), and zoneless ISO forms (read as UTC).
var timeLayouts = []string{
	time.RFC3339Nano,
	"20060102T150405Z0700",
	"01-02-06T15:04:05Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z0700",
}

// ParseTime parses a WfCommons executedAt value in any of the formats the
// traces use. It reports false, never an error, for anything else.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
