package feedback

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/sdk"
)

// Per-task records of fused shards. A fused shard runs its tasks one after
// the other in one allocation, so Nomad reports one task, one runtime and
// one peak memory for all of them. Recorded as one record (signature
// "a+b+c"), the next plan would learn nothing of a, b or c. The shard's
// script writes the time at each boundary between its tasks
// (sdk.TaskTimesFile) and its job names the tasks (sdk.MetaTasks), so the
// service writes one record per task instead, each with the task's own
// signature, input bytes, start, end and runtime, on the allocation's node
// and class (Concurrency is then counted per task, as for any record).
// What Nomad measured of the whole allocation is not any one task's: the
// peak memory is kept as ShardMemoryBytes (MemoryBytes stays 0, so the
// memory predictor never learns a shard's peak as a task's); CPU, IO, GPUs
// and the shard's predictions are left out.

// timesSlack is how far a task time may lie outside the allocation's
// StartedAt..FinishedAt (both read on the same node as the script's date,
// but rounded by Nomad) before the times file is taken for another run's.
const timesSlack = time.Second

// HasTaskManifest reports whether the job meta names a fused shard's tasks
// (sdk.MetaTasks): its allocation is recorded one record per task when its
// task times can be read.
func HasTaskManifest(meta map[string]string) bool { return meta[sdk.MetaTasks] != "" }

// TaskRecords splits shard, the record BuildRecord made of the allocation
// of a fused shard whose job carries meta, into one record per task of the
// job's manifest (sdk.MetaTasks), timed by times (the allocation's
// sdk.TaskTimesFile). Each record is keyed <alloc>/<task> (RecordID) with
// ShardTasks set; see the comment above for which fields it keeps.
//
// It returns an error, and no records, when the manifest is missing or
// invalid (sdk.ParseTaskManifest), its signatures do not make the shard's,
// the allocation did not succeed (its times stop at the failed task), the
// times do not parse for the manifest's tasks (sdk.ParseTaskBoundaries: a
// file of an older script with whole seconds, a boundary beyond the
// manifest's last task, too few boundaries), or they lie outside the
// allocation's run. The caller then keeps shard as the one record.
func TaskRecords(shard history.Record, meta map[string]string, times []byte) ([]history.Record, error) {
	if !HasTaskManifest(meta) {
		return nil, fmt.Errorf("job has no %s meta", sdk.MetaTasks)
	}
	m, err := sdk.ParseTaskManifest(meta[sdk.MetaTasks])
	if err != nil {
		return nil, err
	}
	if err := checkSignatures(shard.Signature, m); err != nil {
		return nil, err
	}
	if !shard.OK() {
		return nil, fmt.Errorf("allocation did not succeed (exit code %d, OOM-killed %v): its task times stop at the failed task", shard.ExitCode, shard.OOMKilled)
	}
	at, err := sdk.ParseTaskBoundaries(times, len(m))
	if err != nil {
		return nil, fmt.Errorf("%s for %d tasks: %w", sdk.TaskTimesFile, len(m), err)
	}
	bounds := make([]time.Time, len(at))
	for k, s := range at {
		bounds[k] = unixTime(s)
	}
	if err := checkWithin(bounds, shard.Start, shard.End); err != nil {
		return nil, err
	}
	out := make([]history.Record, len(m))
	for k, t := range m {
		out[k] = history.Record{
			Graph: shard.Graph, Run: shard.Run, Shard: shard.Shard,
			Task: t.Task, Signature: t.Signature, Executor: shard.Executor,
			Node: shard.Node, NodeClass: shard.NodeClass, CPUMHz: shard.CPUMHz,
			Start: bounds[k], End: bounds[k+1], RuntimeSeconds: at[k+1] - at[k],
			InputBytes: t.InputBytes, SharedInputBytes: t.SharedInputBytes,
			Source: shard.Source, Alloc: shard.Alloc, MemoryLimitBytes: shard.MemoryLimitBytes,
			ShardTasks: len(m), ShardMemoryBytes: shard.MemoryBytes,
		}
	}
	return out, nil
}

// checkSignatures checks that the manifest's signatures, joined with "+"
// as the planner joins a fused shard's, are the shard's signature. A
// signature the translator shortened ("a+...+z (N tasks, sha256:...)",
// for meta over its inline limit) is checked by its task count only.
func checkSignatures(shardSig string, m sdk.TaskManifest) error {
	sigs := make([]string, len(m))
	for k, t := range m {
		sigs[k] = t.Signature
	}
	joined := strings.Join(sigs, "+")
	if shardSig == joined {
		return nil
	}
	if strings.Contains(shardSig, "+...+") && strings.Contains(shardSig, fmt.Sprintf(" (%d tasks, ", len(m))) {
		return nil
	}
	return fmt.Errorf("meta %s: signatures %q do not make the shard's signature %q", sdk.MetaTasks, joined, shardSig)
}

// checkWithin checks that the task boundaries lie within the allocation's
// run [start, end] (give or take timesSlack); a zero start or end is not
// checked.
func checkWithin(bounds []time.Time, start, end time.Time) error {
	first, last := bounds[0], bounds[len(bounds)-1]
	if !start.IsZero() && first.Before(start.Add(-timesSlack)) {
		return fmt.Errorf("%s: first task started at %s, before the allocation's task started at %s",
			sdk.TaskTimesFile, first.Format(time.RFC3339Nano), start.Format(time.RFC3339Nano))
	}
	if !end.IsZero() && last.After(end.Add(timesSlack)) {
		return fmt.Errorf("%s: last task ended at %s, after the allocation's task finished at %s",
			sdk.TaskTimesFile, last.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
	}
	return nil
}

// unixTime converts Unix seconds to a UTC time, to the microsecond (a
// float64 of today's Unix seconds holds about that much).
func unixTime(s float64) time.Time {
	sec, frac := math.Modf(s)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC()
}
