package runstate

import (
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/plan"
)

// Version is the format of the stored state. A launcher refuses to resume
// a state of another version (ErrIncompatible) rather than misread it.
const Version = 1

// Status is where a run stands as a whole.
type Status string

// Run statuses.
const (
	// Running: the run has not ended; a holder drives it, or none does
	// (its launcher died) and it waits to be resumed.
	Running Status = "running"
	// Complete: every shard completed.
	Complete Status = "complete"
	// Failed: a shard failed for good, or the run could not go on.
	Failed Status = "failed"
	// Stopped: stopped by its launcher (Ctrl-C) or by `shardwise stop`.
	Stopped Status = "stopped"
)

// Ended reports whether a run in status s will not be driven again.
func (s Status) Ended() bool { return s != Running }

// Spec is everything needed to continue a run, written once when the run
// starts and never changed.
type Spec struct {
	// Plan is the run's plan as first made.
	Plan *plan.Plan `json:"plan"`
	// Jobs are the Nomad jobs of the plan (nomadjob.Jobs), one per
	// distinct plan.Shard.Job, as first translated.
	Jobs []*api.Job `json:"jobs"`
	// Options are the run options that shape how it is driven.
	Options Options `json:"options"`
	// Inputs are what the plan was made from, so that a resumed run can
	// re-plan its remaining shards as the first launcher would have.
	Inputs Inputs `json:"inputs"`
}

// Options are the launcher options a resumed run keeps.
type Options struct {
	Retries    int  `json:"retries"`
	FailFast   bool `json:"fail_fast,omitempty"`
	NoLocality bool `json:"no_locality,omitempty"`
	// PlacementTimeout is in nanoseconds (a time.Duration).
	PlacementTimeout time.Duration `json:"placement_timeout,omitempty"`
	// NoReplan is set when the run was started with re-planning off.
	NoReplan bool `json:"no_replan,omitempty"`
	// RegisterConcurrency is the run's -register-concurrency; 0 (a state
	// written before it was stored) means the launcher's default.
	RegisterConcurrency int `json:"register_concurrency,omitempty"`
}

// Inputs are the files and values the plan was made from.
type Inputs struct {
	// GraphPath is the graph file's path on the machine that started the
	// run (for messages); Graph is its content.
	GraphPath string `json:"graph_path,omitempty"`
	Graph     []byte `json:"graph,omitempty"`
	// Vars are the -var values; VarFiles the -var-file contents by path.
	Vars     map[string]string `json:"vars,omitempty"`
	VarFiles map[string][]byte `json:"var_files,omitempty"`
	// Catalog is the executor catalog file's content; empty for the
	// default catalog.
	Catalog []byte `json:"catalog,omitempty"`
	// History lists the history files and stores the plan read, as paths
	// on the machine that started the run.
	History []string `json:"history,omitempty"`
	// Driver is the task driver chosen for the jobs.
	Driver string `json:"driver,omitempty"`
}

// Lease says who drives a run and until when, unless renewed.
type Lease struct {
	// ID is unique to one launcher process.
	ID string `json:"id"`
	// Name says in words who holds it: "host pid 1234" or the Nomad
	// allocation of a detached launcher.
	Name     string    `json:"name"`
	Acquired time.Time `json:"acquired"`
	Expires  time.Time `json:"expires"`
}

// Live reports whether the lease is held at now.
func (l *Lease) Live(now time.Time) bool { return l != nil && now.Before(l.Expires) }

// Progress is what the run has done so far, written as it happens.
type Progress struct {
	// Units is each job's progress, by job ID; a job not listed was never
	// registered by a launcher that recorded it (Nomad may still have it:
	// a launcher can die between registering a job and recording it).
	Units map[string]*Unit `json:"units,omitempty"`
	// Replans and Resizes are the moves and memory raises decided so far,
	// in order.
	Replans []Replan `json:"replans,omitempty"`
	Resizes []Resize `json:"resizes,omitempty"`
	// Reruns are the producer jobs run again because a consumer found
	// their outputs gone, in order. States written before it was recorded
	// lack it.
	Reruns []Rerun `json:"reruns,omitempty"`
	// Stopped lists the jobs a launcher stopped when the run ended.
	Stopped []string `json:"stopped,omitempty"`
	// DoneShards counts the plan's shards complete.
	DoneShards int `json:"done_shards"`
}

// Unit is one job's progress.
type Unit struct {
	// Attempts counts the launcher's registrations of the job.
	Attempts int `json:"attempts"`
	// State is the job's state as the launcher last judged it
	// ("submitted", "running", "complete", "failed", ...).
	State string `json:"state"`
	// Since is the job's modify index at its latest registration.
	Since uint64 `json:"since,omitempty"`
	// MemoryMiB, when set, is the memory the job's task asks for after an
	// OOM retry.
	MemoryMiB int `json:"memory_mib,omitempty"`
	// Job is set when the job was re-planned: the job to register instead
	// of the spec's.
	Job *api.Job `json:"job,omitempty"`
	// Shards are the re-planned job's shards, in allocation index order.
	Shards []*plan.Shard `json:"shards,omitempty"`
	// Note says why the job was re-planned.
	Note string `json:"note,omitempty"`
	// Reruns counts the job's runs again after a consumer found its
	// outputs gone; Holds the times the job (a consumer) was held until
	// such a producer ran again; Free the registrations, of Attempts, that
	// these caused and that do not count against the launcher's retries.
	// States written before they were recorded lack them (zero).
	Reruns int `json:"reruns,omitempty"`
	Holds  int `json:"holds,omitempty"`
	Free   int `json:"free_attempts,omitempty"`
	// Submitted and Finished are when the launcher first registered the
	// job and saw it end.
	Submitted time.Time `json:"submitted"`
	Finished  time.Time `json:"finished"`
	// Pieces say how each allocation index ran, once the job ended, so
	// that the run's summary survives Nomad's garbage collection of the
	// job.
	Pieces []Piece `json:"pieces,omitempty"`
}

// Piece is how one allocation index of a job ran.
type Piece struct {
	// State is the piece's own state ("complete", "failed", "stopped"):
	// a split job's pieces end differently when the job fails or is
	// stopped. States written before it was recorded lack it; a reader
	// then takes the job's (Unit.State).
	State     string `json:"state,omitempty"`
	Alloc     string `json:"alloc,omitempty"`
	NodeID    string `json:"node_id,omitempty"`
	Node      string `json:"node,omitempty"`
	NodeClass string `json:"node_class,omitempty"`
	// Actual is the allocation's run time.
	Actual time.Duration `json:"actual,omitempty"`
	// TaskSeconds are a fused shard's per-task runtimes in seconds
	// (launcher.ShardResult.TaskSeconds), when they were read.
	TaskSeconds []float64 `json:"task_seconds,omitempty"`
}

// Replan is one move of a job to another executor class, made before its
// first registration.
type Replan struct {
	Job    string   `json:"job"`
	Shards []string `json:"shards"`
	// From and To are the executor classes before and after.
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}

// Rerun is one run again of a producer job whose outputs a consumer
// found gone (its node or channel data lost).
type Rerun struct {
	Job string `json:"job"`
	// Shards are the job's shards whose outputs were found gone; the
	// whole job (Pieces allocation indexes) runs again.
	Shards []string `json:"shards"`
	Pieces int      `json:"pieces"`
	// Consumer is the shard that found them gone.
	Consumer string `json:"consumer"`
	// Rerun counts the job's runs again so far (1 for the first).
	Rerun int       `json:"rerun"`
	Time  time.Time `json:"time"`
}

// Resize is one memory raise of a job's retry after an OOM kill.
type Resize struct {
	Job   string `json:"job"`
	Shard string `json:"shard"`
	// Alloc is the OOM-killed allocation.
	Alloc string `json:"alloc"`
	// Attempt is the registration that was OOM-killed (1 for the first).
	Attempt int `json:"attempt"`
	// FromMiB and ToMiB are the task's memory before and for the retry.
	FromMiB int `json:"from_mib"`
	ToMiB   int `json:"to_mib"`
}

// Head is the small, often written part of a run's state.
type Head struct {
	Version int    `json:"version"`
	Run     string `json:"run"`
	Graph   string `json:"graph"`
	Status  Status `json:"status"`
	// Reason says why the run ended, when it did not complete.
	Reason  string    `json:"reason,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Holder is the launcher driving the run; nil or expired when none.
	Holder *Lease `json:"holder,omitempty"`
	// Shards is the plan's shard count; Predicted its makespan, seconds.
	Shards    int     `json:"shards"`
	Predicted float64 `json:"predicted_seconds"`

	Spec blobRef `json:"spec"`
	// Progress is inline when small; else ProgressRef names its chunks.
	Progress    *Progress `json:"progress,omitempty"`
	ProgressRef *blobRef  `json:"progress_ref,omitempty"`
	// Gen counts head writes; it names each generation of progress
	// chunks.
	Gen uint64 `json:"gen"`

	// index is the head variable's modify index, for check-and-set.
	index uint64
	// namespace is where the head was read from.
	namespace string
}

// blobRef names a blob's chunk variables and its digest.
type blobRef struct {
	Paths  []string `json:"paths"`
	SHA256 string   `json:"sha256"`
	// Bytes is the blob's compressed size.
	Bytes int `json:"bytes"`
}

// Holds reports whether lease id holds the run at now.
func (h *Head) Holds(id string, now time.Time) bool {
	return h.Holder != nil && h.Holder.ID == id && h.Holder.Live(now)
}

// Driven reports whether a live launcher holds the run at now.
func (h *Head) Driven(now time.Time) bool { return h.Holder.Live(now) }
