package feedback

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/history"
	"github.com/shardwise/shardwise/planner/predict"
	"github.com/shardwise/shardwise/sdk"
)

// fusedManifest is the manifest of fusedAlloc's shard: three tasks of two
// signatures, the first reading a shared reference.
const fusedManifest = `[{"task":"fetch","signature":"fetch","input_bytes":3000,"shared_input_bytes":1000},` +
	`{"task":"align","signature":"align","input_bytes":2000},{"task":"index","signature":"align"}]`

// fusedT0 is when fusedAlloc's task started, Unix 1767225600.
var fusedT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fusedTimes is a times file of fusedAlloc's three tasks: 2.25 s, 4.5 s
// and 0.125 s, from 0.5 s after the allocation's task started.
const fusedTimes = "0 1767225600.500000000\n1 1767225602.750000000\n2 1767225607.250000000\n3 1767225607.375000000\n"

// fusedAlloc is the complete allocation of a fused shard of three tasks on
// node n1 under the shard driver (whose usage is measured, UsageMeasured),
// whose job meta is meta plus the manifest (when manifest != "").
func fusedAlloc(manifest string, exit int) *api.Allocation {
	meta := map[string]string{sdk.MetaGraph: "g", sdk.MetaRun: "r", sdk.MetaShard: "s1",
		sdk.MetaSignature: "fetch+align+align", sdk.MetaClass: "cpu-heavy", sdk.MetaPredictedRuntime: "9",
		sdk.MetaPredictedMemory: "300", sdk.MetaInputBytes: "4000"}
	if manifest != "" {
		meta[sdk.MetaTasks] = manifest
	}
	return &api.Allocation{
		ID: "alloc-f", Name: "j.s1[0]", TaskGroup: "s1", NodeName: "n1",
		Job: &api.Job{Meta: meta, TaskGroups: []*api.TaskGroup{{Name: new("s1"), Meta: meta, Tasks: []*api.Task{{Name: "s1", Driver: "shard"}}}}},
		TaskStates: map[string]*api.TaskState{"s1": {State: "dead", Failed: exit != 0, StartedAt: fusedT0,
			FinishedAt: fusedT0.Add(8 * time.Second),
			Events:     []*api.TaskEvent{{Type: api.TaskTerminated, ExitCode: exit}}}},
		AllocatedResources: &api.AllocatedResources{Tasks: map[string]*api.AllocatedTaskResources{
			"s1": {Memory: api.AllocatedMemoryResources{MemoryMB: 512}}}},
	}
}

// fusedRecord is BuildRecord's one record of fusedAlloc, which peaked at
// 200 MiB.
func fusedRecord(t *testing.T, manifest string, exit int) (history.Record, map[string]string) {
	t.Helper()
	a := fusedAlloc(manifest, exit)
	r, ok := BuildRecord(a, Usage{Samples: 4, CPUPercentSum: 400, CPUPercentPeak: 150, MemoryPeak: 200 << 20},
		NodeInfo{Class: "big", CPUMHz: 2500}, &IOReport{ReadBytes: 7000})
	if !ok {
		t.Fatal("not a Shardwise allocation")
	}
	return r, allocMeta(a)
}

func TestTaskRecordsExact(t *testing.T) {
	shard, meta := fusedRecord(t, fusedManifest, 0)
	got, err := TaskRecords(shard, meta, []byte(fusedTimes))
	if err != nil {
		t.Fatal(err)
	}
	at := func(s float64) time.Time { return fusedT0.Add(time.Duration(s * float64(time.Second))) }
	base := history.Record{Graph: "g", Run: "r", Shard: "s1", Executor: "cpu-heavy", Node: "n1", NodeClass: "big",
		CPUMHz: 2500, Source: SourceNomad, Alloc: "alloc-f", MemoryLimitBytes: 512 << 20,
		ShardTasks: 3, ShardMemoryBytes: 200 << 20}
	want := []history.Record{base, base, base}
	want[0].Task, want[0].Signature, want[0].Start, want[0].End, want[0].RuntimeSeconds = "fetch", "fetch", at(0.5), at(2.75), 2.25
	want[0].InputBytes, want[0].SharedInputBytes = 3000, 1000
	want[1].Task, want[1].Signature, want[1].Start, want[1].End, want[1].RuntimeSeconds = "align", "align", at(2.75), at(7.25), 4.5
	want[1].InputBytes = 2000
	want[2].Task, want[2].Signature, want[2].Start, want[2].End, want[2].RuntimeSeconds = "index", "align", at(7.25), at(7.375), 0.125
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("records:\n got %+v\nwant %+v", got, want)
	}
	for i := range got {
		if err := got[i].Check(); err != nil {
			t.Errorf("record %d: %v", i, err)
		}
	}
	if ids := []string{RecordID(&got[0]), RecordID(&got[2])}; ids[0] != "alloc-f/fetch" || ids[1] != "alloc-f/index" {
		t.Errorf("record IDs %q, want <alloc>/<task>", ids)
	}
}

func TestTaskRecordsBadInput(t *testing.T) {
	one := `[{"task":"fetch","signature":"fetch"}]`
	for _, tc := range []struct {
		name, manifest, times string
		exit                  int
		want                  string // in the error
	}{
		{"no manifest", "", fusedTimes, 0, "no shardwise_tasks meta"},
		{"manifest not JSON", `[{"task":"fetch"`, fusedTimes, 0, "meta shardwise_tasks: unexpected end of JSON input"},
		{"manifest of one task", one, fusedTimes, 0, "meta shardwise_tasks: 1 tasks, want 2 to 64"},
		{"task named twice", strings.Replace(fusedManifest, `"index"`, `"fetch"`, 1), fusedTimes, 0, `task 2: task "fetch" named twice`},
		{"task without signature", strings.Replace(fusedManifest, `"signature":"fetch"`, `"signature":""`, 1), fusedTimes, 0, `task 0: task "fetch" has no signature`},
		{"negative bytes", strings.Replace(fusedManifest, "2000", "-2000", 1), fusedTimes, 0, `task 1: task "align": negative input bytes`},
		{"manifest of another shard", strings.Replace(fusedManifest, `"signature":"fetch"`, `"signature":"bwa"`, 1), fusedTimes, 0,
			`signatures "bwa+align+align" do not make the shard's signature "fetch+align+align"`},
		{"failed allocation", fusedManifest, "0 1767225600.5\n1 1767225602.75\n", 1, "allocation did not succeed (exit code 1"},
		{"missing file", fusedManifest, "", 0, "shardwise-task-times for 3 tasks: task times: 0 boundaries, want 4"},
		{"malformed line", fusedManifest, strings.Replace(fusedTimes, "1 1767225602.750000000", "1767225602.75", 1), 0,
			`line 2: "1767225602.75", want boundary 1 of 3`},
		{"whole seconds (an older date)", fusedManifest, "0 1767225600\n1 1767225602\n2 1767225607\n3 1767225607\n", 0, "whole seconds only"},
		{"a task the manifest does not know", fusedManifest, fusedTimes + "4 1767225607.5\n", 0, `line 5: "4 1767225607.5", want boundary 4 of 3`},
		{"a task missing", fusedManifest, "0 1767225600.5\n1 1767225602.75\n2 1767225607.25\n", 0, "3 boundaries, want 4"},
		{"times of an earlier run", fusedManifest, strings.ReplaceAll(fusedTimes, "17672256", "17672255"), 0, "before the allocation's task started"},
		{"times after the allocation", fusedManifest, strings.Replace(fusedTimes, "3 1767225607.375", "3 1767225609.5", 1), 0, "after the allocation's task finished"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shard, meta := fusedRecord(t, tc.manifest, tc.exit)
			recs, err := TaskRecords(shard, meta, []byte(tc.times))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("TaskRecords = %d records, error %v; want an error with %q", len(recs), err, tc.want)
			}
			if recs != nil {
				t.Errorf("%d records with the error, want none", len(recs))
			}
		})
	}
}

// The store keys per-task records <alloc>/<task>, finds them by their
// allocation (so the service records an allocation once), keeps the
// shard's peak apart from the task's memory, and counts each task's
// concurrency over its own interval.
func TestStoreTaskRecords(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	shard, meta := fusedRecord(t, fusedManifest, 0)
	tasks, err := TaskRecords(shard, meta, []byte(fusedTimes))
	if err != nil {
		t.Fatal(err)
	}
	// Another allocation on n1 from 3 s to 5 s overlaps "align" only.
	other := history.Record{Alloc: "alloc-o", Source: SourceNomad, Task: "o", Signature: "o", Node: "n1",
		Start: fusedT0.Add(3 * time.Second), End: fusedT0.Add(5 * time.Second), RuntimeSeconds: 2, MemoryBytes: 1 << 20}
	if err := s.Put(ctx, append(tasks, other)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(ctx); err != nil || n != 4 {
		t.Fatalf("count %d, %v; want 4", n, err)
	}
	for id, want := range map[string]bool{"alloc-f": true, "alloc-f/align": true, "alloc-o": true, "alloc-x": false, "": false} {
		if got, err := s.Has(ctx, id); err != nil || got != want {
			t.Errorf("Has(%q) = %v, %v; want %v", id, got, err, want)
		}
	}
	recs, err := s.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conc := map[string]int{}
	for _, r := range recs {
		conc[r.Task] = r.Concurrency
		if r.Alloc == "alloc-f" && (r.MemoryBytes != 0 || r.ShardMemoryBytes != 200<<20 || r.ShardTasks != 3) {
			t.Errorf("%s: memory %d, shard memory %d, shard tasks %d; want 0, 200 MiB, 3", r.Task, r.MemoryBytes, r.ShardMemoryBytes, r.ShardTasks)
		}
	}
	if want := map[string]int{"fetch": 0, "align": 1, "index": 0, "o": 1}; !reflect.DeepEqual(conc, want) {
		t.Errorf("concurrency %v, want %v", conc, want)
	}
}

// The next plan's predictions of a fused shard's tasks come from their
// per-task records: with the shard's one record (signature
// "fetch+align+align") history says nothing of fetch or align, so their
// runtimes are defaults; with the per-task records they are each task's
// own. Memory is not learned from the shard's peak.
func TestPredictionsFromTaskRecords(t *testing.T) {
	g := graph.New("g")
	for _, tk := range []*graph.Task{{Name: "fetch", Signature: "fetch", Command: "x"},
		{Name: "align", Signature: "align", Command: "x"}, {Name: "index", Signature: "align", Command: "x"}} {
		if err := g.AddTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	cat := catalog.Default()
	c := slices.Index(cat.Names(), "cpu-heavy")
	shard, meta := fusedRecord(t, fusedManifest, 0)
	tasks, err := TaskRecords(shard, meta, []byte(fusedTimes))
	if err != nil {
		t.Fatal(err)
	}
	predictFrom := func(recs []history.Record) *predict.Table {
		p, err := predict.New(cat, recs)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := p.Predict(g)
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	before, after := predictFrom([]history.Record{shard}), predictFrom(tasks)
	for i, task := range []string{"fetch", "align"} {
		if rt := before.Need(i, c).Runtime; rt.Source != predict.FromDefault {
			t.Errorf("%s from the shard's one record: runtime from %s, want default", task, rt.Source)
		}
	}
	rt := after.Need(0, c).Runtime
	if rt.Source != predict.FromHistory || rt.N != 1 || rt.Value < 2 || rt.Value > 2.5 {
		t.Errorf("fetch from per-task records: runtime %.3f s from %s (%d records), want about 2.25 s from history (1)", rt.Value, rt.Source, rt.N)
	}
	if rt := after.Need(1, c).Runtime; rt.Source != predict.FromHistory || rt.N != 2 {
		t.Errorf("align from per-task records: runtime from %s (%d records), want history (2)", rt.Source, rt.N)
	}
	t.Logf("fetch runtime on cpu-heavy: %.3f s (%s) from the shard record, %.3f s (%s) from per-task records",
		before.Need(0, c).Runtime.Value, before.Need(0, c).Runtime.Source, rt.Value, rt.Source)
	for i, task := range []string{"fetch", "align"} {
		if m := after.Need(i, c).MemoryMiB; m.Source == predict.FromHistory {
			t.Errorf("%s: memory %.0f MiB learned from history, whose only figure is the shard's 200 MiB peak", task, m.Value)
		}
	}
}

// The service keeps a fused shard's one record when its task times cannot
// be read or used, and says so in its log; with usable times it writes
// the per-task records, and an allocation without a manifest is recorded
// as before, without a word.
func TestPerTaskFallsBackAndLogs(t *testing.T) {
	c, err := api.NewClient(api.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var logged strings.Builder
	svc, err := New(Config{Client: c, Store: s, Logger: hclog.New(&hclog.LoggerOptions{Output: &logged, Level: hclog.Info})})
	if err != nil {
		t.Fatal(err)
	}
	const fallback = "fused shard recorded as one record, not one per task"
	for _, tc := range []struct {
		name, manifest, times string
		readErr               error
		records               int
		log                   string // "" for no fallback line
	}{
		{"usable times", fusedManifest, fusedTimes, nil, 3, ""},
		{"no manifest", "", "", nil, 1, ""},
		{"times file missing", fusedManifest, "", errors.New("read alloc/shardwise-task-times: Unexpected response code: 404 (file does not exist)"), 1, "file does not exist"},
		{"whole seconds", fusedManifest, "0 1767225600\n1 1767225602\n2 1767225607\n3 1767225607\n", nil, 1, "whole seconds only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logged.Reset()
			a := fusedAlloc(tc.manifest, 0)
			shard, _ := fusedRecord(t, tc.manifest, 0)
			recs := svc.perTask(a, shard, []byte(tc.times), tc.readErr)
			if len(recs) != tc.records {
				t.Fatalf("%d records, want %d", len(recs), tc.records)
			}
			if tc.records == 1 && !reflect.DeepEqual(recs[0], shard) {
				t.Errorf("fallback record %+v, want the shard's %+v", recs[0], shard)
			}
			got := logged.String()
			if tc.log == "" && strings.Contains(got, fallback) {
				t.Errorf("log says %q, want no fallback", got)
			}
			if tc.log != "" && (!strings.Contains(got, fallback) || !strings.Contains(got, tc.log) || !strings.Contains(got, "alloc-f")) {
				t.Errorf("log %q, want the fallback for alloc-f saying %q", got, tc.log)
			}
		})
	}
}

// The metrics of a fused shard recorded task by task count each record
// but observe the allocation once, from the shard's own record: its
// runtime error and memory ratio (the plan predicted the shard, and the
// per-task records carry no predictions, so they were lost) and one lag
// (one per task before, each from that task's end).
func TestMetricsOfTaskRecordsObserveTheShardOnce(t *testing.T) {
	c, err := api.NewClient(api.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc, err := New(Config{Client: c, Store: s, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	shard, meta := fusedRecord(t, fusedManifest, 0)
	tasks, err := TaskRecords(shard, meta, []byte(fusedTimes))
	if err != nil {
		t.Fatal(err)
	}
	svc.noteRecorded(shard, tasks, fusedT0.Add(time.Minute))
	scrape := scrapeMetrics(t, svc.Metrics())
	for _, want := range []string{
		`shardwise_feedback_records_ingested_total{executor="cpu-heavy"} 3`,
		`shardwise_feedback_runtime_error_ratio_count{executor="cpu-heavy",signature="fetch+align+align"} 1`,
		`shardwise_feedback_memory_ratio_count{executor="cpu-heavy",signature="fetch+align+align"} 1`,
		`shardwise_feedback_event_lag_seconds_count 1`,
	} {
		if !strings.Contains(scrape, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
