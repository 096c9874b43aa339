package feedback

// The history store's schema. Each entry of migrations takes the database
// from version i to i+1 (PRAGMA user_version), inside one transaction, so
// a failed migration leaves the previous version intact. Never edit a
// released migration: append a new one.
var migrations = []string{
	// 1: records keyed by id (the allocation ID, or source/run/task for
	// imported records) and a key-value state table (the event cursor).
	`CREATE TABLE records (
		id               TEXT PRIMARY KEY,
		graph            TEXT NOT NULL DEFAULT '',
		run              TEXT NOT NULL DEFAULT '',
		shard            TEXT NOT NULL DEFAULT '',
		task             TEXT NOT NULL DEFAULT '',
		signature        TEXT NOT NULL,
		executor         TEXT NOT NULL DEFAULT '',
		node             TEXT NOT NULL DEFAULT '',
		node_class       TEXT NOT NULL DEFAULT '',
		start_unix_ns    INTEGER NOT NULL DEFAULT 0,
		end_unix_ns      INTEGER NOT NULL DEFAULT 0,
		runtime_seconds  REAL NOT NULL DEFAULT 0,
		cores            REAL NOT NULL DEFAULT 0,
		cpu_percent      REAL NOT NULL DEFAULT 0,
		cpu_peak_percent REAL NOT NULL DEFAULT 0,
		cpu_ticks        REAL NOT NULL DEFAULT 0,
		cpu_mhz          REAL NOT NULL DEFAULT 0,
		memory_bytes     INTEGER NOT NULL DEFAULT 0,
		read_bytes       INTEGER NOT NULL DEFAULT 0,
		written_bytes    INTEGER NOT NULL DEFAULT 0,
		input_bytes      INTEGER NOT NULL DEFAULT 0,
		output_bytes     INTEGER NOT NULL DEFAULT 0,
		gpus             INTEGER NOT NULL DEFAULT 0,
		exit_code        INTEGER NOT NULL DEFAULT 0,
		oom_killed       INTEGER NOT NULL DEFAULT 0,
		source           TEXT NOT NULL DEFAULT '',
		ingested_unix_ns INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX records_signature ON records (signature);
	CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,

	// 2: the allocation ID as a column of its own, the memory limit and
	// the predictions a record was sized by, and the running usage of
	// allocations still being sampled (so a restart loses no peaks).
	`ALTER TABLE records ADD COLUMN alloc TEXT NOT NULL DEFAULT '';
	ALTER TABLE records ADD COLUMN memory_limit_bytes INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE records ADD COLUMN predicted_runtime_seconds REAL NOT NULL DEFAULT 0;
	ALTER TABLE records ADD COLUMN predicted_memory_bytes INTEGER NOT NULL DEFAULT 0;
	UPDATE records SET alloc = id WHERE source = 'nomad';
	CREATE TABLE samples (
		alloc              TEXT PRIMARY KEY,
		n                  INTEGER NOT NULL,
		cpu_percent_sum    REAL NOT NULL,
		cpu_percent_peak   REAL NOT NULL,
		cpu_ticks_sum      REAL NOT NULL,
		memory_peak_bytes  INTEGER NOT NULL,
		updated_unix_ns    INTEGER NOT NULL
	);`,

	// 3: the part of a record's input that other tasks of its run read too
	// (history.Record.SharedInputBytes, the predictor's second feature).
	`ALTER TABLE records ADD COLUMN shared_input_bytes INTEGER NOT NULL DEFAULT 0;`,

	// 4: the tasks of a fused shard recorded one record each (keyed
	// <alloc>/<task>, history.Record.ShardTasks), with the allocation's peak
	// memory apart from the task's own; looked up by allocation.
	`ALTER TABLE records ADD COLUMN shard_tasks INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE records ADD COLUMN shard_memory_bytes INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX records_alloc ON records (alloc);`,
}

// SchemaVersion is the schema version this build writes.
var SchemaVersion = len(migrations)

// recordColumns are the columns of records that hold a history.Record, in
// the order scanRecord and recordArgs use.
const recordColumns = `graph, run, shard, task, signature, executor, node, node_class,
	start_unix_ns, end_unix_ns, runtime_seconds, cores, cpu_percent, cpu_peak_percent,
	cpu_ticks, cpu_mhz, memory_bytes, read_bytes, written_bytes, input_bytes,
	output_bytes, gpus, exit_code, oom_killed, source, alloc, memory_limit_bytes,
	predicted_runtime_seconds, predicted_memory_bytes, shared_input_bytes, shard_tasks,
	shard_memory_bytes`

// upsertSQL inserts one record or, when its id is stored, replaces the
// stored values: writing a record twice leaves one row.
const upsertSQL = `INSERT INTO records (id, ingested_unix_ns, ` + recordColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET
	graph = excluded.graph, run = excluded.run, shard = excluded.shard, task = excluded.task,
	signature = excluded.signature, executor = excluded.executor, node = excluded.node,
	node_class = excluded.node_class, start_unix_ns = excluded.start_unix_ns,
	end_unix_ns = excluded.end_unix_ns, runtime_seconds = excluded.runtime_seconds,
	cores = excluded.cores, cpu_percent = excluded.cpu_percent,
	cpu_peak_percent = excluded.cpu_peak_percent, cpu_ticks = excluded.cpu_ticks,
	cpu_mhz = excluded.cpu_mhz, memory_bytes = excluded.memory_bytes,
	read_bytes = excluded.read_bytes, written_bytes = excluded.written_bytes,
	input_bytes = excluded.input_bytes, output_bytes = excluded.output_bytes,
	gpus = excluded.gpus, exit_code = excluded.exit_code, oom_killed = excluded.oom_killed,
	source = excluded.source, alloc = excluded.alloc,
	memory_limit_bytes = excluded.memory_limit_bytes,
	predicted_runtime_seconds = excluded.predicted_runtime_seconds,
	predicted_memory_bytes = excluded.predicted_memory_bytes,
	shared_input_bytes = excluded.shared_input_bytes, shard_tasks = excluded.shard_tasks,
	shard_memory_bytes = excluded.shard_memory_bytes`
