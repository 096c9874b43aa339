package feedback

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/shardwise/shardwise/planner/history"
)

// ErrDiskFull is wrapped by every store error caused by a full file system
// (SQLITE_FULL or ENOSPC). The transaction that hit it was rolled back: the
// database holds what was committed before and still opens.
var ErrDiskFull = errors.New("disk full")

// ErrNewerSchema is wrapped by Open when the file was written by a newer
// Shardwise whose schema this build does not know.
var ErrNewerSchema = errors.New("history store has a newer schema")

// Store is the history store: one SQLite database (WAL journal) holding one
// record per allocation, the event cursor of the feedback service and the
// running usage of allocations being sampled. It is safe for concurrent use
// by one process; other processes may read it while one writes.
type Store struct {
	db   *sql.DB
	path string
}

// Usage is the running resource usage of one allocation, summed over the
// samples taken so far. CPU is percent of one core; ticks are Nomad's
// TotalTicks (MHz in use); memory is bytes.
type Usage struct {
	Samples        int
	CPUPercentSum  float64
	CPUPercentPeak float64
	CPUTicksSum    float64
	MemoryPeak     int64
}

// Open opens the store at path, creating it when missing, and migrates it
// to SchemaVersion. It fails wrapping ErrNewerSchema for a newer file,
// ErrDiskFull when the migration cannot be written, and otherwise with
// the SQLite error naming path.
func Open(ctx context.Context, path string) (*Store, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + url.Values{
		"_pragma": {"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)"},
		"_txlock": {"immediate"},
	}.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open history store %s: %w", path, err)
	}
	// One connection: writes are serialised in-process, and a reader
	// never sees SQLITE_BUSY from its own writer.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// OpenExisting opens the store at path like Open, but fails wrapping
// fs.ErrNotExist when there is no file there (a reader's typo must not
// create an empty store).
func OpenExisting(ctx context.Context, path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open history store: %w", err)
	}
	return Open(ctx, path)
}

// Path returns the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Close checkpoints the WAL and closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return s.wrap("close", err)
	}
	return nil
}

// Version returns the schema version of the open database.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, s.wrap("read schema version", err)
	}
	return v, nil
}

// migrate applies the migrations after the file's version, one
// transaction each.
func (s *Store) migrate(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return s.wrap("open", err)
	}
	if mode != "wal" {
		return fmt.Errorf("open history store %s: journal mode is %q, want wal", s.path, mode)
	}
	v, err := s.Version(ctx)
	if err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("open history store %s: version %d, this build knows %d: %w", s.path, v, len(migrations), ErrNewerSchema)
	}
	for ; v < len(migrations); v++ {
		if err := s.migrateTo(ctx, v+1); err != nil {
			return err
		}
	}
	return nil
}

// migrateTo runs migration v-1 and sets user_version to v atomically.
func (s *Store) migrateTo(ctx context.Context, v int) error {
	return s.inTx(ctx, fmt.Sprintf("migrate to schema version %d", v), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(v))
		return err
	})
}

// inTx runs fn in a transaction, committing when it returns nil; errors
// are wrapped with what.
func (s *Store) inTx(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(what, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return s.wrap(what, err)
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(what, err)
	}
	return nil
}

// wrap names the store and the operation, and marks full-disk errors.
func (s *Store) wrap(what string, err error) error {
	if isDiskFull(err) {
		return fmt.Errorf("history store %s: %s: %w: %w", s.path, what, ErrDiskFull, err)
	}
	return fmt.Errorf("history store %s: %s: %w", s.path, what, err)
}

// isDiskFull reports whether err is SQLITE_FULL or an ENOSPC.
func isDiskFull(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}

// RecordID is the store key of r: its allocation ID, or
// "<alloc>/<task>" for a task of a fused shard recorded on its own
// (ShardTasks > 0), else "<source>/<run>/<task>" so that importing one
// trace twice writes no duplicates.
func RecordID(r *history.Record) string {
	if r.Alloc != "" {
		if r.ShardTasks > 0 {
			return r.Alloc + "/" + r.Task
		}
		return r.Alloc
	}
	return r.Source + "/" + r.Run + "/" + r.Task
}

// Batch is what one step of the feedback service commits at once.
type Batch struct {
	// Records are upserted by RecordID; their samples are dropped.
	Records []history.Record
	// Usage replaces the stored running usage of these allocations.
	Usage map[string]Usage
	// EventIndex, when non-zero, becomes the stored value of the event
	// cursor named Cursor.
	EventIndex uint64
	// Cursor names the event cursor EventIndex advances: "" is the cursor
	// of a service recording every run; a service restricted to one run
	// keeps its own (RunCursor), so that it never moves a shared
	// service's cursor past allocations it chose not to record.
	Cursor string
}

// RunCursor is the name of the event cursor of a service restricted to
// run (Config.Run).
func RunCursor(run string) string { return "run/" + run }

// cursorKey is the state table key of the named cursor.
func cursorKey(name string) string {
	if name == "" {
		return "event_index"
	}
	return "event_index/" + name
}

// Put upserts records (see Commit).
func (s *Store) Put(ctx context.Context, records []history.Record) error {
	return s.Commit(ctx, Batch{Records: records})
}

// Commit writes b in one transaction: every record is upserted by RecordID
// (a record already stored is replaced, never duplicated), the running
// usage of recorded allocations is deleted, b.Usage is saved and the event
// cursor advanced. An invalid record (history.Record.Check) fails the
// whole batch before anything is written.
func (s *Store) Commit(ctx context.Context, b Batch) error {
	for i := range b.Records {
		if err := b.Records[i].Check(); err != nil {
			return fmt.Errorf("history store %s: record %d: %w", s.path, i, err)
		}
	}
	now := time.Now().UnixNano()
	return s.inTx(ctx, "commit", func(tx *sql.Tx) error {
		if err := putRecords(ctx, tx, b.Records, now); err != nil {
			return err
		}
		if err := putUsage(ctx, tx, b.Usage, now); err != nil {
			return err
		}
		if b.EventIndex == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO state (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, cursorKey(b.Cursor), strconv.FormatUint(b.EventIndex, 10))
		return err
	})
}

func putRecords(ctx context.Context, tx *sql.Tx, recs []history.Record, now int64) error {
	if len(recs) == 0 {
		return nil
	}
	ins, err := tx.PrepareContext(ctx, upsertSQL)
	if err != nil {
		return err
	}
	defer ins.Close()
	del, err := tx.PrepareContext(ctx, `DELETE FROM samples WHERE alloc = ?`)
	if err != nil {
		return err
	}
	defer del.Close()
	for i := range recs {
		r := &recs[i]
		if _, err := ins.ExecContext(ctx, append([]any{RecordID(r), now}, recordArgs(r)...)...); err != nil {
			return fmt.Errorf("record %s: %w", RecordID(r), err)
		}
		if r.Alloc != "" {
			if _, err := del.ExecContext(ctx, r.Alloc); err != nil {
				return err
			}
		}
	}
	return nil
}

func putUsage(ctx context.Context, tx *sql.Tx, usage map[string]Usage, now int64) error {
	for alloc, u := range usage {
		_, err := tx.ExecContext(ctx, `INSERT INTO samples (alloc, n, cpu_percent_sum, cpu_percent_peak,
			cpu_ticks_sum, memory_peak_bytes, updated_unix_ns) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (alloc) DO UPDATE SET n = excluded.n, cpu_percent_sum = excluded.cpu_percent_sum,
			cpu_percent_peak = excluded.cpu_percent_peak, cpu_ticks_sum = excluded.cpu_ticks_sum,
			memory_peak_bytes = excluded.memory_peak_bytes, updated_unix_ns = excluded.updated_unix_ns`,
			alloc, u.Samples, u.CPUPercentSum, u.CPUPercentPeak, u.CPUTicksSum, u.MemoryPeak, now)
		if err != nil {
			return fmt.Errorf("usage of %s: %w", alloc, err)
		}
	}
	return nil
}

// recordArgs returns r's values in recordColumns order.
func recordArgs(r *history.Record) []any {
	return []any{r.Graph, r.Run, r.Shard, r.Task, r.Signature, r.Executor, r.Node, r.NodeClass,
		unixNano(r.Start), unixNano(r.End), r.RuntimeSeconds, r.Cores, r.CPUPercent, r.CPUPeak,
		r.CPUTicks, r.CPUMHz, r.MemoryBytes, r.ReadBytes, r.WriteBytes, r.InputBytes,
		r.OutputBytes, r.GPUs, r.ExitCode, r.OOMKilled, r.Source, r.Alloc, r.MemoryLimitBytes,
		r.PredictedRuntimeSeconds, r.PredictedMemoryBytes, r.SharedInputBytes, r.ShardTasks,
		r.ShardMemoryBytes}
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// Records returns every stored record in the order first written, each
// record's Concurrency counted from the stored records on its node that
// overlap it (history.FillConcurrency). It implements history.Source.
func (s *Store) Records(ctx context.Context) ([]history.Record, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+recordColumns+` FROM records ORDER BY rowid`)
	if err != nil {
		return nil, s.wrap("read records", err)
	}
	defer rows.Close()
	var out []history.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, s.wrap("read records", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("read records", err)
	}
	history.FillConcurrency(out)
	return out, nil
}

func scanRecord(rows *sql.Rows) (history.Record, error) {
	var r history.Record
	var start, end int64
	err := rows.Scan(&r.Graph, &r.Run, &r.Shard, &r.Task, &r.Signature, &r.Executor, &r.Node, &r.NodeClass,
		&start, &end, &r.RuntimeSeconds, &r.Cores, &r.CPUPercent, &r.CPUPeak,
		&r.CPUTicks, &r.CPUMHz, &r.MemoryBytes, &r.ReadBytes, &r.WriteBytes, &r.InputBytes,
		&r.OutputBytes, &r.GPUs, &r.ExitCode, &r.OOMKilled, &r.Source, &r.Alloc, &r.MemoryLimitBytes,
		&r.PredictedRuntimeSeconds, &r.PredictedMemoryBytes, &r.SharedInputBytes, &r.ShardTasks,
		&r.ShardMemoryBytes)
	r.Start, r.End = fromUnixNano(start), fromUnixNano(end)
	return r, err
}

// Count returns the number of stored records.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM records`).Scan(&n); err != nil {
		return 0, s.wrap("count records", err)
	}
	return n, nil
}

// Has reports whether a record with this id (see RecordID) is stored, or
// for an allocation ID any record of that allocation (the per-task records
// of a fused shard).
func (s *Store) Has(ctx context.Context, id string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM records WHERE id = ? OR (alloc = ? AND alloc <> '') LIMIT 1`, id, id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, s.wrap("look up record", err)
	}
	return true, nil
}

// EventIndex returns the stored event cursor of a service recording every
// run: the index of the last Nomad event batch whose effects were
// committed, 0 when none.
func (s *Store) EventIndex(ctx context.Context) (uint64, error) {
	return s.CursorIndex(ctx, "")
}

// CursorIndex returns the stored value of the named event cursor (see
// Batch.Cursor), 0 when none.
func (s *Store) CursorIndex(ctx context.Context, name string) (uint64, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM state WHERE key = ?`, cursorKey(name)).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, s.wrap("read event index", err)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("history store %s: bad event index %q: %w", s.path, v, err)
	}
	return n, nil
}

// RunningUsage returns the stored running usage of every allocation still being
// sampled, by allocation ID.
func (s *Store) RunningUsage(ctx context.Context) (map[string]Usage, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT alloc, n, cpu_percent_sum, cpu_percent_peak,
		cpu_ticks_sum, memory_peak_bytes FROM samples`)
	if err != nil {
		return nil, s.wrap("read usage", err)
	}
	defer rows.Close()
	out := map[string]Usage{}
	for rows.Next() {
		var id string
		var u Usage
		if err := rows.Scan(&id, &u.Samples, &u.CPUPercentSum, &u.CPUPercentPeak, &u.CPUTicksSum, &u.MemoryPeak); err != nil {
			return nil, s.wrap("read usage", err)
		}
		out[id] = u
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("read usage", err)
	}
	return out, nil
}

// IntegrityCheck runs PRAGMA integrity_check and returns an error carrying
// its findings unless the database is sound.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	var res string
	if err := s.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return s.wrap("integrity check", err)
	}
	if res != "ok" {
		return fmt.Errorf("history store %s: integrity check: %s", s.path, res)
	}
	return nil
}

// LoadHistory reads the records of every path in order through
// history.LoadAll over Sources(paths).
func LoadHistory(ctx context.Context, paths ...string) ([]history.Record, error) {
	return history.LoadAll(ctx, Sources(paths...)...)
}

// Sources returns the history.Source of each path: a path ending in .db,
// .sqlite or .sqlite3 is a history store (which must exist), anything else
// a JSON Lines file (history.File).
func Sources(paths ...string) []history.Source {
	out := make([]history.Source, len(paths))
	for i, p := range paths {
		if IsStorePath(p) {
			out[i] = StoreFile(p)
		} else {
			out[i] = history.File(p)
		}
	}
	return out
}

// StoreFile is the history store at a path, as a history.Source that opens
// it (it must exist) for each read.
type StoreFile string

// Records opens the store, reads every record and closes it.
func (f StoreFile) Records(ctx context.Context) ([]history.Record, error) {
	s, err := OpenExisting(ctx, string(f))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Records(ctx)
}

// IsStorePath reports whether path names a SQLite history store by its
// extension (.db, .sqlite, .sqlite3).
func IsStorePath(path string) bool {
	for _, ext := range []string{".db", ".sqlite", ".sqlite3"} {
		if len(path) > len(ext) && path[len(path)-len(ext):] == ext {
			return true
		}
	}
	return false
}

var _ history.Source = (*Store)(nil)

// fitColumns are the columns the predictor reads (see predict.New).
const fitColumns = `signature, executor, run, runtime_seconds, cores, cpu_percent, cpu_mhz,
	memory_bytes, read_bytes, written_bytes, input_bytes, shared_input_bytes, output_bytes, gpus,
	exit_code, oom_killed`

// FitRecords returns every stored record with only the fields the
// predictor fits on set (signature, executor, run, runtime, CPU, memory,
// IO, input and shared input bytes, GPUs, exit code, OOM), in the order first written. It reads about half
// as much as Records; use it to refit predict.New from a large store.
func (s *Store) FitRecords(ctx context.Context) ([]history.Record, error) {
	n, err := s.Count(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+fitColumns+` FROM records ORDER BY rowid`)
	if err != nil {
		return nil, s.wrap("read records", err)
	}
	defer rows.Close()
	out := make([]history.Record, 0, n)
	names := map[string]string{} // signatures and executors repeat: share them
	for rows.Next() {
		var r history.Record
		var sig, exec, run []byte
		if err := rows.Scan(&sig, &exec, &run, &r.RuntimeSeconds, &r.Cores, &r.CPUPercent, &r.CPUMHz,
			&r.MemoryBytes, &r.ReadBytes, &r.WriteBytes, &r.InputBytes, &r.SharedInputBytes, &r.OutputBytes,
			&r.GPUs, &r.ExitCode, &r.OOMKilled); err != nil {
			return nil, s.wrap("read records", err)
		}
		r.Signature, r.Executor, r.Run = intern(names, sig), intern(names, exec), intern(names, run)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("read records", err)
	}
	return out, nil
}

// intern returns b as a string, shared with earlier equal ones.
func intern(names map[string]string, b []byte) string {
	if s, ok := names[string(b)]; ok {
		return s
	}
	s := string(b)
	names[s] = s
	return s
}
