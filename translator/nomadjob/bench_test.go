package nomadjob

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/sdk"
)

// synthetic returns a plan of n single-shard jobs over the fixture catalog:
// classes in turn (cpu, mem, gpu, svc, cores), every fourth shard fusing
// three tasks, each shard fed by a channel from the one before it.
func synthetic(tb testing.TB, n int) (*plan.Plan, *graph.Graph) {
	g := graph.New("synth")
	classes := []string{"cpu", "mem", "gpu", "svc", "cores"}
	p := &plan.Plan{Schema: plan.SchemaVersion, Graph: "synth", Run: "bench", Datacenters: []string{"dc1"}}
	for i := 0; i < n; i++ {
		fused := 1
		if i%4 == 0 {
			fused = 3
		}
		var names []string
		for k := 0; k < fused; k++ {
			name := fmt.Sprintf("t%d-%d", i, k)
			err := g.AddTask(&graph.Task{Name: name, Command: "/usr/bin/tool",
				Args: []string{"--in", fmt.Sprintf("data/%d", i), awkward},
				Env:  map[string]string{"LEVEL": fmt.Sprint(k)}})
			if err != nil {
				tb.Fatal(err)
			}
			names = append(names, name)
		}
		s := shard(fmt.Sprintf("s%d", i), classes[i%len(classes)], names...)
		if s.Class == "gpu" {
			s.Resources.GPUs = 1
		}
		if s.Class == "svc" {
			s.Type = "service"
		}
		if s.Class == "cores" {
			s.Resources.Cores = 2
		}
		if i > 0 {
			s.Upstream = []string{fmt.Sprintf("s%d", i-1)}
			p.Channels = append(p.Channels, &plan.Channel{ID: fmt.Sprintf("c%d", i), From: s.Upstream[0], To: s.ID,
				FromTask: fmt.Sprintf("t%d-0", i-1), ToTask: names[0], Bytes: 1 << 20})
		}
		p.Shards = append(p.Shards, s)
	}
	return p, g
}

// emit builds the jobs and writes each as HCL and JSON to w.
func emit(b *testing.B, p *plan.Plan, g *graph.Graph, opts Options, w io.Writer) {
	jobs, err := Jobs(p, g, testCatalog(), opts)
	if err != nil {
		b.Fatal(err)
	}
	for _, j := range jobs {
		if err := WriteHCL(w, j); err != nil {
			b.Fatal(err)
		}
		if err := WriteJSON(w, j); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmit1000 builds 1,000 jobs and writes each as HCL and JSON
// (to io.Discard). Target: <= 100 ms per iteration.
func BenchmarkEmit1000(b *testing.B) {
	for _, driver := range []string{sdk.DriverRawExec, sdk.DriverShard} {
		b.Run(driver, func(b *testing.B) {
			p, g := synthetic(b, 1000)
			b.ReportAllocs()
			for b.Loop() {
				emit(b, p, g, Options{Driver: driver}, io.Discard)
			}
		})
	}
}

// BenchmarkEmit1000Stages times each stage alone on the same plan.
func BenchmarkEmit1000Stages(b *testing.B) {
	p, g := synthetic(b, 1000)
	jobs, err := Jobs(p, g, testCatalog(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	stages := []struct {
		name string
		run  func(*api.Job) error
	}{
		{"hcl", func(j *api.Job) error { return WriteHCL(io.Discard, j) }},
		{"json", func(j *api.Job) error { return WriteJSON(io.Discard, j) }},
		// The hclwrite Body-API writer WriteHCL replaced, for comparison.
		{"hcl-hclwrite", func(j *api.Job) error { return refWriteHCL(io.Discard, j) }},
	}
	b.Run("jobs", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Jobs(p, g, testCatalog(), Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, st := range stages {
		b.Run(st.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, j := range jobs {
					if err := st.run(j); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkWriteDir1000 writes 2,000 files (1,000 jobs) into a new folder.
func BenchmarkWriteDir1000(b *testing.B) {
	p, g := synthetic(b, 1000)
	jobs, err := Jobs(p, g, testCatalog(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	base := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		if err := WriteDir(filepath.Join(base, fmt.Sprint(i)), jobs, HCL|JSON); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteFiles writes the job files of 10,000 synthetic jobs (HCL
// only, as `plan -out` does) into a new folder per iteration. "render-N"
// is writeFiles with N goroutines, each rendering a job and creating its
// file; "create-N" creates the same files, rendered beforehand, from N
// goroutines: the file system's share alone, and whether it creates files
// in one folder in parallel. The folders are removed only after every
// case, since creating files right after many were removed costs this
// machine's file system several times more (docs/benchmarks.md); run it
// with -count 1.
func BenchmarkWriteFiles(b *testing.B) {
	p, g := synthetic(b, 10_000)
	jobs, err := Jobs(p, g, testCatalog(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, len(jobs))
	data := make([][]byte, len(jobs))
	for i, j := range jobs {
		var buf bytes.Buffer
		if err := WriteHCL(&buf, j); err != nil {
			b.Fatal(err)
		}
		names[i], data[i] = *j.ID+HCLSuffix, buf.Bytes()
	}
	base, k := b.TempDir(), 0
	newDir := func(b *testing.B) string {
		b.StopTimer()
		defer b.StartTimer()
		k++
		dir := filepath.Join(base, fmt.Sprint(k))
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		return dir
	}
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("render-%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := writeFiles(newDir(b), jobs, HCL, n); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("create-%d", n), func(b *testing.B) {
			for b.Loop() {
				dir := newDir(b)
				var next atomic.Int64
				var wg sync.WaitGroup
				for range n {
					wg.Go(func() {
						for i := next.Add(1) - 1; i < int64(len(names)); i = next.Add(1) - 1 {
							if err := createFile(filepath.Join(dir, names[i]), data[i]); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
			}
		})
	}
}
