package evaluate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/shardwise/shardwise/planner/history"
)

// RunFingerprint identifies the recorded run records come from by what it
// measured, whatever file or schema version carried it: the sorted
// multiset of its tasks' (task type, recorded runtime in seconds, exit
// code) triples. Two exports of one run (WfCommons schema 1.4 and 1.5)
// give the same fingerprint; two runs of one workflow do not, since their
// runtimes differ (to the microsecond the traces record). It is "" for no
// records, which matches nothing.
func RunFingerprint(records []history.Record) string {
	if len(records) == 0 {
		return ""
	}
	keys := make([]string, len(records))
	for i, r := range records {
		keys[i] = r.Signature + "\x00" + strconv.FormatFloat(r.RuntimeSeconds, 'g', -1, 64) + "\x00" + strconv.Itoa(r.ExitCode)
	}
	sort.Strings(keys)
	return strings.Join(keys, "\x01")
}

// SameRun reports whether records a and b measured one run: the same
// non-empty RunFingerprint (a copy of the run under another file name or
// schema, whatever the records' Run names say).
func SameRun(a, b []history.Record) bool {
	fa := RunFingerprint(a)
	return fa != "" && fa == RunFingerprint(b)
}

// Duplicate is a trace left out of the evaluation because another trace
// records the same run.
type Duplicate struct {
	// Dropped is the name of the trace left out, Kept the one that stays.
	Dropped, Kept string
	// Why says how they were found to be one run and why Kept was kept.
	Why string
}

// DistinctRuns returns ins with one input per recorded run (inputs
// without records, such as synthetic graphs, all stay) and the inputs it
// dropped. Of the inputs that are one run (SameRun on their records) it
// keeps the one of the newest WfCommons schema version, the first in ins
// among equals, so each run counts once in the plan-quality means and in
// the training sets of the other runs of its family. Order is kept.
func DistinctRuns(ins []*Input) (kept []*Input, dropped []Duplicate) {
	gone := make([]bool, len(ins))
	for i, a := range ins {
		if gone[i] || len(a.Records) == 0 {
			continue
		}
		best := i
		var same []int
		for j := i + 1; j < len(ins); j++ {
			if !gone[j] && a.Family == ins[j].Family && SameRun(a.Records, ins[j].Records) {
				same = append(same, j)
				if newerSchema(ins[j].Schema, ins[best].Schema) {
					best = j
				}
			}
		}
		for _, j := range append(same, i) {
			if j == best {
				continue
			}
			gone[j] = true
			dropped = append(dropped, Duplicate{Dropped: ins[j].Name, Kept: ins[best].Name, Why: why(ins[j], ins[best])})
		}
	}
	for i, in := range ins {
		if !gone[i] {
			kept = append(kept, in)
		}
	}
	return kept, dropped
}

// newerSchema reports whether version a ("1.5") is newer than b ("1.4"),
// comparing dot-separated numbers; a missing or unparsable part counts
// as 0.
func newerSchema(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		x, y := part(pa, i), part(pb, i)
		if x != y {
			return x > y
		}
	}
	return false
}

func part(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	n, _ := strconv.Atoi(parts[i])
	return n
}

// why explains why dropped was left out for kept.
func why(dropped, kept *Input) string {
	same := fmt.Sprintf("same run (the same %d task records: types, recorded runtimes and exit codes)", len(dropped.Records))
	if newerSchema(kept.Schema, dropped.Schema) {
		return fmt.Sprintf("%s; the newer schema %s is kept over %s", same, kept.Schema, schemaOr(dropped.Schema))
	}
	return same + "; same schema, the first listed is kept"
}

func schemaOr(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
