package sdk

// Job and group meta keys. translator/nomadjob writes every one of them on
// each job and its group; shardwise_shard and shardwise_upstream are comma
// lists of shard IDs (the pieces of a split task in NOMAD_ALLOC_INDEX
// order). The feedback service reads them back to build history records.
const (
	MetaGraph     = "shardwise_graph"
	MetaRun       = "shardwise_run"
	MetaShard     = "shardwise_shard"
	MetaSignature = "shardwise_signature"
	MetaClass     = "shardwise_class"
	MetaUpstream  = "shardwise_upstream"
	// MetaSplitTask names the split task; set only on split jobs.
	MetaSplitTask = "shardwise_split_task"
)

// Prediction meta keys, read back by the feedback service to compare each
// allocation with its plan. Like shardwise_shard they are comma lists, one
// element per allocation index, on every job and its group. All are
// optional to a reader.
const (
	// MetaPredictedRuntime is the shard's predicted runtime on its class,
	// in seconds.
	MetaPredictedRuntime = "shardwise_predicted_runtime_seconds"
	// MetaPredictedMemory is the shard's predicted peak memory, in MiB.
	MetaPredictedMemory = "shardwise_predicted_memory_mib"
	// MetaInputBytes and MetaOutputBytes are the bytes the plan's channels
	// carry into and out of the shard from and to other jobs (a split
	// piece without input channels: its share of the input); a usage
	// report of the shard driver overrides them in the feedback service.
	MetaInputBytes  = "shardwise_input_bytes"
	MetaOutputBytes = "shardwise_output_bytes"
)

// MetaTasks is the task manifest of a fused shard whose script times its
// tasks (TimesTasks): what the feedback service needs to write one history
// record per task from the TaskTimesFile. Its value is a TaskManifest as
// JSON (EncodeTaskManifest, ParseTaskManifest). Set by translator/nomadjob
// on the job and its group of such shards only; optional to a reader.
const MetaTasks = "shardwise_tasks"

// MetaAttempt is the job meta key holding the launcher's attempt number,
// set on resubmitted jobs only.
const MetaAttempt = "shardwise_attempt"

// MetaRole marks the launcher job of a detached run (`shardwise run
// -detach`), with the value RoleLauncher; that job also carries
// shardwise_run and shardwise_graph, so that status and stop find it with
// the run's shard jobs.
const (
	MetaRole     = "shardwise_role"
	RoleLauncher = "launcher"
)
