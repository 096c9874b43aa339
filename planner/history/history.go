// Package history holds observations of past task executions: what a task
// with a given signature used when it ran on a given class. The importer
// writes them from workflow traces, the feedback service from Nomad; the
// predictor learns from them.
package history

import "time"

// Record is one observed execution of one task (or one allocation of a
// shard). Sizes are bytes, times seconds, CPU MHz or percent of one core.
type Record struct {
	Graph     string `json:"graph,omitempty"`
	Run       string `json:"run,omitempty"`
	Shard     string `json:"shard,omitempty"`
	Task      string `json:"task"`
	Signature string `json:"signature"`

	// Executor is the executor class it ran on; empty for imported traces,
	// which ran on the catalog's reference class.
	Executor  string `json:"executor,omitempty"`
	Node      string `json:"node,omitempty"`
	NodeClass string `json:"node_class,omitempty"`
	// Concurrency is the number of other task records that ran on Node at
	// some time of this one's [Start, End) (FillConcurrency): a one-task
	// allocation is one record, each task of a fused shard is one (so an
	// allocation beside a fused shard counts each of its tasks it
	// overlapped); 0 when unknown.
	Concurrency int `json:"concurrency,omitempty"`

	Start          time.Time `json:"start,omitzero"`
	End            time.Time `json:"end,omitzero"`
	RuntimeSeconds float64   `json:"runtime_seconds"`

	// Cores is the number of cores used (avgCPU/100 where not recorded).
	Cores       float64 `json:"cores,omitempty"`
	CPUPercent  float64 `json:"cpu_percent,omitempty"` // mean, of one core
	CPUPeak     float64 `json:"cpu_peak_percent,omitempty"`
	CPUTicks    float64 `json:"cpu_ticks,omitempty"`
	CPUMHz      float64 `json:"cpu_mhz,omitempty"`      // clock of the machine
	MemoryBytes int64   `json:"memory_bytes,omitempty"` // peak resident
	ReadBytes   int64   `json:"read_bytes,omitempty"`
	WriteBytes  int64   `json:"written_bytes,omitempty"`
	InputBytes  int64   `json:"input_bytes,omitempty"` // data consumed
	// SharedInputBytes is the part of InputBytes that several tasks of the
	// run read (a reference database, an index); the rest is private to
	// this task. 0 when unknown or nothing is shared.
	SharedInputBytes int64 `json:"shared_input_bytes,omitempty"`
	OutputBytes      int64 `json:"output_bytes,omitempty"` // data produced
	GPUs             int   `json:"gpus,omitempty"`

	ExitCode  int  `json:"exit_code"`
	OOMKilled bool `json:"oom_killed,omitempty"`
	// Source says who wrote the record ("wfcommons:<file>", "nomad").
	Source string `json:"source,omitempty"`

	// Alloc is the Nomad allocation ID the feedback service observed; it
	// is the record's identity in the SQLite store. Empty for imports.
	Alloc string `json:"alloc,omitempty"`
	// MemoryLimitBytes is the memory the allocation was given (the larger
	// of Nomad's memory and memory_max), 0 when unknown.
	MemoryLimitBytes int64 `json:"memory_limit_bytes,omitempty"`
	// PredictedRuntimeSeconds and PredictedMemoryBytes are the planner's
	// predictions the execution was sized by (from the job's
	// shardwise_predicted_* meta), 0 when the job carried none.
	PredictedRuntimeSeconds float64 `json:"predicted_runtime_seconds,omitempty"`
	PredictedMemoryBytes    int64   `json:"predicted_memory_bytes,omitempty"`

	// ShardTasks is, for a task of a fused shard recorded on its own (the
	// feedback service, from the shard's task times), the number of tasks
	// its allocation ran one after another; 0 for a record of a whole
	// allocation or an imported task. Such a record's Start, End and
	// RuntimeSeconds are the task's own, and so are its signature and
	// input bytes; the figures Nomad measures of the allocation are not,
	// so they are left out (MemoryBytes, CPU, IO and GPUs are 0, and so are
	// the shard's predictions) but for its peak memory, which is
	// ShardMemoryBytes.
	ShardTasks int `json:"shard_tasks,omitempty"`
	// ShardMemoryBytes is the peak memory of the whole allocation a
	// ShardTasks record's task ran in (bytes; an upper bound of the
	// task's own peak, not the peak itself), 0 otherwise. MemoryBytes is
	// always one execution's own peak, which memory predictions learn from.
	ShardMemoryBytes int64 `json:"shard_memory_bytes,omitempty"`
}
