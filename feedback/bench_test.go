package feedback

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
)

// benchRecords returns n synthetic Nomad records over 200 signatures and
// the default catalog's classes, with varying input sizes.
func benchRecords(n int, classes []string) []history.Record {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]history.Record, n)
	for i := range out {
		sig := i % 200
		in := int64(1+i%17) << 26
		out[i] = history.Record{
			Alloc: fmt.Sprintf("alloc-%08d", i), Graph: "bench", Run: fmt.Sprintf("run-%d", i/1000),
			Shard: fmt.Sprintf("s%d", i%1000), Task: fmt.Sprintf("t%d", i%1000), Signature: fmt.Sprintf("sig-%03d", sig),
			Executor: classes[i%len(classes)], Node: "node-1", NodeClass: classes[i%len(classes)],
			Start: t0.Add(time.Duration(i) * time.Second), End: t0.Add(time.Duration(i)*time.Second + 30*time.Second),
			RuntimeSeconds: 5 + float64(in>>26)*1.5 + float64(sig%7), Cores: 1 + float64(sig%4), CPUPercent: 100 + float64(sig%4)*100,
			CPUPeak: 400, CPUTicks: 2000, CPUMHz: 2500, MemoryBytes: int64(200+sig) << 20, InputBytes: in,
			OutputBytes: in / 2, MemoryLimitBytes: 1 << 30, PredictedRuntimeSeconds: 20, PredictedMemoryBytes: 512 << 20,
			Source: SourceNomad,
		}
	}
	return out
}

// BenchmarkStoreIngest commits records in batches of 100 (a busy event
// batch) and reports records per second.
func BenchmarkStoreIngest(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const batch = 100
	recs := benchRecords(b.N*batch, catalog.Default().Names())
	b.ResetTimer()
	for i := range b.N {
		if err := s.Commit(ctx, Batch{Records: recs[i*batch : (i+1)*batch], EventIndex: uint64(i + 1)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkRefit100k reads 100,000 records from the store and refits the
// predictor from them: the closed loop's cost before each re-plan.
func BenchmarkRefit100k(b *testing.B) {
	ctx := context.Background()
	cat := catalog.Default()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	recs := benchRecords(100_000, cat.Names())
	for i := 0; i < len(recs); i += 5000 {
		if err := s.Put(ctx, recs[i:i+5000]); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		got, err := s.Records(ctx)
		if err != nil || len(got) != len(recs) {
			b.Fatalf("%d records, %v", len(got), err)
		}
		if _, err := predict.New(cat, got); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefitLean100k is BenchmarkRefit100k through FitRecords, as
// Advisor.Predictor reads.
func BenchmarkRefitLean100k(b *testing.B) {
	ctx := context.Background()
	cat := catalog.Default()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	recs := benchRecords(100_000, cat.Names())
	for i := 0; i < len(recs); i += 5000 {
		if err := s.Put(ctx, recs[i:i+5000]); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		got, err := s.FitRecords(ctx)
		if err != nil || len(got) != len(recs) {
			b.Fatalf("%d records, %v", len(got), err)
		}
		if _, err := predict.New(cat, got); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFit100k is BenchmarkRefit100k without the read: predict.New
// alone on 100,000 records.
func BenchmarkFit100k(b *testing.B) {
	cat := catalog.Default()
	recs := benchRecords(100_000, cat.Names())
	b.ResetTimer()
	for range b.N {
		if _, err := predict.New(cat, recs); err != nil {
			b.Fatal(err)
		}
	}
}
