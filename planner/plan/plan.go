// Package plan defines the shard plan: the stable JSON document that says
// which shards a graph was cut into, which executor class each shard runs
// on, what it is predicted to need, and which channels join the shards. It
// is the contract between the planner (which builds it), the translator
// (which turns it into Nomad jobs) and the launcher and feedback stages
// (which run it and compare it with what happened).
//
// Compatibility: fields are only ever added within one SchemaVersion; a
// field's meaning or unit never changes without a new version. Times and
// durations are float seconds, sizes are bytes or MiB as the field name
// says, CPU is MHz.
package plan

import (
	"fmt"

	"github.com/shardwise/shardwise/planner/predict"
)

// SchemaVersion identifies the document layout.
const SchemaVersion = "shardwise.plan/v1"

// Plan is a graph cut into shards and placed on executor classes.
type Plan struct {
	Schema string `json:"schema"`
	Graph  string `json:"graph"`
	// Run identifies this plan's run; job names and job meta carry it.
	Run         string   `json:"run"`
	Datacenters []string `json:"datacenters,omitempty"`
	Region      string   `json:"region,omitempty"`
	Namespace   string   `json:"namespace,omitempty"`
	Priority    int      `json:"priority,omitempty"`
	Driver      string   `json:"driver,omitempty"`

	Shards   []*Shard   `json:"shards"`
	Channels []*Channel `json:"channels"`

	// MakespanSeconds is the predicted time from the first shard's start to
	// the last shard's finish, transfers and start-up latency included.
	MakespanSeconds float64 `json:"makespan_seconds"`
	// CriticalPath lists the shard IDs on the longest path of the schedule.
	CriticalPath []string `json:"critical_path"`
	// Baseline is the best plan that runs every task on one class.
	Baseline *Baseline `json:"baseline,omitempty"`
	// Classes summarises use of each executor class.
	Classes []*ClassUse `json:"classes"`

	// Stats counts the decomposition's decisions.
	Stats Stats `json:"stats"`

	// Algorithm names the scheduler that placed the shards: "heft" (list
	// scheduling without insertion) or "heft-insertion".
	Algorithm string `json:"algorithm,omitempty"`
	// Method is the baseline method that made the plan ("heft",
	// "single:CLASS"; see BuildMethod); empty for Shardwise's own plan.
	Method string `json:"method,omitempty"`
	// Guard records the robust guard's decision between Shardwise's plan
	// and the per-task plan (one task per allocation) from the same
	// predictions (planner.Pipeline): the
	// method kept, each one's worst regret and its makespans at p10, p50
	// and p90. Empty when the guard did not run.
	Guard string `json:"guard,omitempty"`
}

// Shard is a unit of placement: one Nomad task group. It holds either one
// or more tasks run one after another (a fused chain, or a batch of
// independent siblings that wait for the same upstream shards), or one
// piece of a split data-parallel task.
type Shard struct {
	// ID is unique in the plan and safe in a Nomad job ID ([a-z0-9-]).
	ID string `json:"id"`
	// Job is the Nomad job ID the shard is submitted in. Pieces of one split
	// task share a job (one group with count = Split.Count); every other
	// shard has a job of its own.
	Job string `json:"job"`
	// Tasks are the graph tasks the shard runs, in dependency order.
	Tasks []string `json:"tasks"`
	// Signature is the task signature (history key) of the shard's tasks,
	// joined with "+" when fused.
	Signature string `json:"signature"`
	Split     *Split `json:"split,omitempty"`
	Class     string `json:"class"`
	// Type is the Nomad job type: "batch" or "service".
	Type string `json:"type"`
	// Kind is the dominant workload profile (cpu, memory, io, gpu, latency).
	Kind string `json:"kind"`

	Resources Resources `json:"resources"`

	// Predicted schedule, in seconds from the plan's start.
	StartSeconds   float64  `json:"start_seconds"`
	FinishSeconds  float64  `json:"finish_seconds"`
	RuntimeSeconds Estimate `json:"runtime_seconds"`

	// Upstream lists the shard IDs this shard waits for.
	Upstream []string `json:"upstream"`
	// Reason says in words why this class was chosen.
	Reason string `json:"reason"`
	// Alternatives gives the predicted finish time on each other feasible
	// class, for the reader to judge the choice.
	Alternatives []Alternative `json:"alternatives,omitempty"`
}

// Split locates a shard within its data-parallel task.
type Split struct {
	Task  string `json:"task"`
	Index int    `json:"index"`
	Count int    `json:"count"`
	// Bytes and Items are this piece's share of the declared input.
	Bytes int64 `json:"bytes,omitempty"`
	Items int   `json:"items,omitempty"`
}

// Resources is what the shard's Nomad task asks for.
type Resources struct {
	CPU          Estimate `json:"cpu_mhz"`
	Cores        int      `json:"cores,omitempty"`
	MemoryMiB    Estimate `json:"memory_mib"`
	MemoryMaxMiB int64    `json:"memory_max_mib,omitempty"`
	DiskMiB      int64    `json:"disk_mib"`
	GPUs         int      `json:"gpus,omitempty"`
	GPUMemoryMiB int64    `json:"gpu_memory_mib,omitempty"`
	IOBytes      Estimate `json:"io_bytes"`
}

// Estimate is a predicted quantity with where it came from. A shard has
// four, so it is kept to 24 bytes: Source is a byte, Observations 32 bits.
type Estimate struct {
	Value float64 `json:"value"`
	// Uncertainty is the relative standard error (0.2 = ±20%).
	Uncertainty float64 `json:"uncertainty"`
	// Source is where Value came from: "history", "hint" or "default" in
	// JSON.
	Source Source `json:"source"`
	// Observations is the number of history records behind a history value.
	Observations int32 `json:"observations,omitempty"`
}

// Source is where an estimate came from. It is a byte rather than a
// string so that an Estimate stays small; in JSON it is the word, "" for
// SourceUnknown.
type Source uint8

const (
	// SourceUnknown is the zero value: no source recorded.
	SourceUnknown Source = iota
	// SourceHistory: fitted from history records (predict.FromHistory).
	SourceHistory
	// SourceHint: the graph's hints (predict.FromHint).
	SourceHint
	// SourceDefault: the predictor's defaults (predict.FromDefault).
	SourceDefault
)

var sourceNames = [...]string{SourceUnknown: "", SourceHistory: "history", SourceHint: "hint", SourceDefault: "default"}

// SourceOf returns the Source of a prediction's source: SourceHistory,
// SourceHint or SourceDefault, and SourceUnknown for any other.
func SourceOf(s predict.Source) Source {
	switch s {
	case predict.FromHistory:
		return SourceHistory
	case predict.FromHint:
		return SourceHint
	case predict.FromDefault:
		return SourceDefault
	}
	return SourceUnknown
}

// String returns "history", "hint", "default", or "" for SourceUnknown
// (and for a value outside these, which UnmarshalText never makes).
func (s Source) String() string { return enumWord(sourceNames[:], uint8(s)) }

// MarshalText writes s as its String.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads "history", "hint", "default" or "", and returns an
// error naming any other word.
func (s *Source) UnmarshalText(text []byte) error {
	i, err := parseEnum(sourceNames[:], text, "estimate source")
	if err == nil {
		*s = Source(i)
	}
	return err
}

// enumWord returns names[i], or "" when i is past them: the JSON word of
// a one-byte enumeration (Source, BytesSource).
func enumWord(names []string, i uint8) string {
	if int(i) < len(names) {
		return names[i]
	}
	return ""
}

// parseEnum returns the index of text among names, or an error naming the
// field, the word and the words it takes.
func parseEnum(names []string, text []byte, field string) (uint8, error) {
	for i, name := range names {
		if string(text) == name {
			return uint8(i), nil
		}
	}
	return 0, fmt.Errorf("plan: %s %q: want one of %q", field, text, names[1:])
}

// Channel is a data edge between two shards.
type Channel struct {
	ID   string `json:"id"`
	From string `json:"from"` // shard ID
	To   string `json:"to"`   // shard ID
	// FromTask and Output name the producing task's output ("" for a plain
	// dependency); ToTask is the consuming task.
	FromTask string `json:"from_task"`
	Output   string `json:"output,omitempty"`
	ToTask   string `json:"to_task"`
	Path     string `json:"path,omitempty"`
	Bytes    int64  `json:"bytes"`
	// BytesSource says where Bytes came from: "declared" or "predicted"
	// in JSON.
	BytesSource     BytesSource `json:"bytes_source"`
	Stream          bool        `json:"stream,omitempty"`
	TransferSeconds float64     `json:"transfer_seconds"`
}

// BytesSource is where a channel's size came from. It is a byte rather
// than a string so that a plan's many channels stay small (a channel per
// graph edge); in JSON it is the word, "" for BytesUnknown.
type BytesSource uint8

const (
	// BytesUnknown is the zero value: no source recorded.
	BytesUnknown BytesSource = iota
	// BytesDeclared: the graph declares the edge's size.
	BytesDeclared
	// BytesPredicted: the producer's predicted output, shared among its
	// outputs of undeclared size.
	BytesPredicted
)

var bytesSourceNames = [...]string{BytesUnknown: "", BytesDeclared: "declared", BytesPredicted: "predicted"}

// String returns "declared", "predicted", or "" for BytesUnknown (and for
// a value outside these, which UnmarshalText never makes).
func (s BytesSource) String() string { return enumWord(bytesSourceNames[:], uint8(s)) }

// MarshalText writes s as its String.
func (s BytesSource) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads "declared", "predicted" or "", and returns an error
// naming any other word.
func (s *BytesSource) UnmarshalText(text []byte) error {
	i, err := parseEnum(bytesSourceNames[:], text, "bytes_source")
	if err == nil {
		*s = BytesSource(i)
	}
	return err
}

// Alternative is the predicted outcome of placing a shard on another class.
type Alternative struct {
	Class         string  `json:"class"`
	FinishSeconds float64 `json:"finish_seconds"`
}

// Baseline is the makespan of the best single-class plan.
type Baseline struct {
	Class           string  `json:"class"`
	MakespanSeconds float64 `json:"makespan_seconds"`
	// Speedup is Baseline.MakespanSeconds / Plan.MakespanSeconds.
	Speedup float64 `json:"speedup"`
}

// ClassUse summarises one executor class in the plan.
type ClassUse struct {
	Class  string `json:"class"`
	Shards int    `json:"shards"`
	// BusySeconds is the sum of predicted shard runtimes on the class.
	BusySeconds float64 `json:"busy_seconds"`
	Instances   int     `json:"instances"`
}

// Stats counts what decomposition did.
type Stats struct {
	Tasks      int `json:"tasks"`
	Shards     int `json:"shards"`
	Jobs       int `json:"jobs"`
	FusedTasks int `json:"fused_tasks"`
	// BatchedTasks counts the tasks in shards that batch independent
	// siblings (tasks that wait for the same upstream shards), which share
	// one allocation and its start-up.
	BatchedTasks int   `json:"batched_tasks"`
	SplitTasks   int   `json:"split_tasks"`
	ChannelBytes int64 `json:"channel_bytes"`
}
