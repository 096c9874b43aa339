package feedback

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/history"
)

func sampleRecords() []history.Record {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return []history.Record{
		{Alloc: "a1", Graph: "g", Run: "r1", Shard: "s1", Task: "align", Signature: "align", Executor: "cpu",
			Node: "n1", NodeClass: "cpu", Start: t0, End: t0.Add(90 * time.Second), RuntimeSeconds: 90,
			Cores: 1.5, CPUPercent: 150, CPUPeak: 190, CPUTicks: 3000, CPUMHz: 2000, MemoryBytes: 1 << 30,
			ReadBytes: 5, WriteBytes: 6, InputBytes: 7, SharedInputBytes: 3, OutputBytes: 8, MemoryLimitBytes: 2 << 30,
			PredictedRuntimeSeconds: 80, PredictedMemoryBytes: 1 << 30, Source: SourceNomad},
		{Alloc: "a2", Task: "sort", Signature: "sort", RuntimeSeconds: 3, ExitCode: 137, OOMKilled: true,
			MemoryBytes: 64 << 20, Source: SourceNomad},
		{Task: "t9", Signature: "sig9", RuntimeSeconds: 1, Source: "wfcommons:x.json"},
	}
}

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreRoundTripAndIdempotentUpsert(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	want := sampleRecords()
	for range 3 { // replaying the same records writes no duplicates
		if err := s.Put(ctx, want); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	// An update replaces the row in place (same order, same count).
	upd := want[1]
	upd.RuntimeSeconds = 4
	if err := s.Put(ctx, []history.Record{upd}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Records(ctx)
	if len(got) != 3 || got[1].RuntimeSeconds != 4 {
		t.Fatalf("after update: %+v", got)
	}
}

// TestStoreCountsConcurrency: records read back carry how many other
// stored records ran on their node while they ran.
func TestStoreCountsConcurrency(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	recs := []history.Record{
		{Alloc: "x1", Task: "a", Signature: "a", Node: "n1", Start: t0, End: t0.Add(10 * time.Second), Source: SourceNomad},
		{Alloc: "x2", Task: "b", Signature: "a", Node: "n1", Start: t0.Add(5 * time.Second), End: t0.Add(20 * time.Second), Source: SourceNomad},
		{Alloc: "x3", Task: "c", Signature: "a", Node: "n2", Start: t0, End: t0.Add(20 * time.Second), Source: SourceNomad},
	}
	if err := s.Put(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{1, 1, 0} {
		if got[i].Concurrency != want {
			t.Errorf("%s: concurrency %d, want %d", got[i].Task, got[i].Concurrency, want)
		}
	}
}

func TestStoreRejectsBadRecordAtomically(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	recs := sampleRecords()
	recs[2].RuntimeSeconds = -1
	err := s.Put(ctx, recs)
	if err == nil || !strings.Contains(err.Error(), "runtime_seconds") {
		t.Fatalf("err = %v", err)
	}
	if n, _ := s.Count(ctx); n != 0 {
		t.Fatalf("%d records written from a bad batch", n)
	}
}

func TestStoreWALAndCursor(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	if v, _ := s.EventIndex(ctx); v != 0 {
		t.Fatalf("fresh cursor %d", v)
	}
	u := map[string]Usage{"a1": {Samples: 2, CPUPercentSum: 150, CPUPercentPeak: 100, MemoryPeak: 42}, "a3": {Samples: 1}}
	if err := s.Commit(ctx, Batch{Usage: u, EventIndex: 17}); err != nil {
		t.Fatal(err)
	}
	got, err := s.RunningUsage(ctx)
	if err != nil || !reflect.DeepEqual(got, u) {
		t.Fatalf("usage = %+v, %v", got, err)
	}
	// Recording a1 drops its running usage in the same transaction.
	if err := s.Commit(ctx, Batch{Records: sampleRecords()[:1], EventIndex: 18}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.RunningUsage(ctx)
	if _, ok := got["a1"]; ok || len(got) != 1 {
		t.Fatalf("usage after record = %+v", got)
	}
	if v, _ := s.EventIndex(ctx); v != 18 {
		t.Fatalf("cursor %d, want 18", v)
	}
}

// TestStoreMigratesVersion1 builds a database at schema version 1 (as the
// first release wrote it), then opens it: the migration keeps the rows and
// fills the alloc column of Nomad records.
func TestStoreMigratesVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{migrations[0], "PRAGMA user_version = 1",
		`INSERT INTO records (id, task, signature, runtime_seconds, source) VALUES ('alloc-1', 't', 'sig', 12.5, 'nomad')`,
		`INSERT INTO records (id, task, signature, runtime_seconds, source) VALUES ('wf/r/t2', 't2', 'sig', 3, 'wf')`,
		`INSERT INTO state (key, value) VALUES ('event_index', '99')`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.Version(ctx); v != SchemaVersion {
		t.Fatalf("version %d, want %d", v, SchemaVersion)
	}
	recs, err := s.Records(ctx)
	if err != nil || len(recs) != 2 {
		t.Fatalf("records %+v, %v", recs, err)
	}
	if recs[0].Alloc != "alloc-1" || recs[1].Alloc != "" || recs[0].RuntimeSeconds != 12.5 {
		t.Fatalf("migrated records %+v", recs)
	}
	if v, _ := s.EventIndex(ctx); v != 99 {
		t.Fatalf("cursor %d after migration", v)
	}
	// Replaying the old record by its alloc ID still writes no duplicate.
	if err := s.Put(ctx, []history.Record{{Alloc: "alloc-1", Task: "t", Signature: "sig", Source: SourceNomad}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx); n != 2 {
		t.Fatalf("%d records", n)
	}
}

func TestStoreRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.db.Exec("PRAGMA user_version = 999")
	s.Close()
	if _, err := Open(ctx, path); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("err = %v, want ErrNewerSchema", err)
	}
}

func TestLoadHistoryReadsStoreAndJSONL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	recs := sampleRecords()
	jsonl := filepath.Join(dir, "h.jsonl")
	if err := history.Write(jsonl, recs[2:]); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "h.db")
	s, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, recs[:2]); err != nil {
		t.Fatal(err)
	}
	s.Close()
	got, err := LoadHistory(ctx, db, jsonl)
	if err != nil || !reflect.DeepEqual(got, append(recs[:2:2], recs[2])) {
		t.Fatalf("LoadHistory = %+v, %v", got, err)
	}
	if _, err := LoadHistory(ctx, filepath.Join(dir, "missing.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing store: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("reading a missing store created it")
	}
}

// TestStoreDiskFull fills a 1 MiB tmpfs (root only) until a commit fails:
// the error wraps ErrDiskFull, and once space is back the database opens,
// passes integrity_check and holds exactly the batches committed before.
func TestStoreDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	ctx := context.Background()
	path := filepath.Join(dir, "h.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	committed, ferr := fillUntilFull(ctx, s)
	if !errors.Is(ferr, ErrDiskFull) || !strings.Contains(ferr.Error(), "disk full") {
		t.Fatalf("err = %v, want ErrDiskFull", ferr)
	}
	t.Logf("after %d records: %v", committed, ferr)
	s.Close()
	if out, err := exec.Command("mount", "-o", "remount,size=16m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, out)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx); n != committed {
		t.Fatalf("%d records after the failure, want the %d committed", n, committed)
	}
	if err := s.Put(ctx, sampleRecords()); err != nil {
		t.Fatalf("store unusable after space came back: %v", err)
	}
}

// fillUntilFull commits 100-record batches with 4 KiB of text each until a
// commit fails; it returns the records committed and the error.
func fillUntilFull(ctx context.Context, s *Store) (int, error) {
	pad := strings.Repeat("x", 4096)
	for n := 0; n < 1<<20; {
		batch := make([]history.Record, 100)
		for i := range batch {
			batch[i] = history.Record{Alloc: "a-" + strconv.Itoa(n+i), Task: pad, Signature: "s"}
		}
		if err := s.Put(ctx, batch); err != nil {
			return n, err
		}
		n += len(batch)
	}
	return 0, errors.New("never filled")
}

// FitRecords sets every field predict.New reads: the advisor's refit
// must learn what the planner learns from Records. The run (median of
// per-run medians) and the shared input bytes (the second size feature,
// carried by per-task records of fused shards too) were left out.
func TestFitRecordsCarryWhatThePredictorReads(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	r := history.Record{Alloc: "a1", Run: "r1", Task: "t", Signature: "sig", Executor: "cpu-heavy", RuntimeSeconds: 5,
		Cores: 2, CPUPercent: 150, CPUMHz: 2500, MemoryBytes: 1 << 20, ReadBytes: 1, WriteBytes: 2,
		InputBytes: 3000, SharedInputBytes: 1000, OutputBytes: 4, GPUs: 1, Source: SourceNomad}
	if err := s.Put(ctx, []history.Record{r}); err != nil {
		t.Fatal(err)
	}
	got, err := s.FitRecords(ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("%+v, %v", got, err)
	}
	want := history.Record{Run: "r1", Signature: "sig", Executor: "cpu-heavy", RuntimeSeconds: 5,
		Cores: 2, CPUPercent: 150, CPUMHz: 2500, MemoryBytes: 1 << 20, ReadBytes: 1, WriteBytes: 2,
		InputBytes: 3000, SharedInputBytes: 1000, OutputBytes: 4, GPUs: 1}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("FitRecords %+v, want %+v", got[0], want)
	}
}
