package wfcommons

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/shardwise/shardwise/translator/hclwriter"
)

// synthTrace returns a WfFormat 1.5 trace of n tasks shaped like the
// Pegasus traces: layers of width tasks, each task after the first layer
// reading the files of two tasks of the layer before (about 2n edges), with
// an execution record per task.
func synthTrace(tb testing.TB, n, width int) []byte {
	tb.Helper()
	type file struct {
		ID   string  `json:"id"`
		Size float64 `json:"sizeInBytes"`
	}
	type spec struct {
		ID       string   `json:"id"`
		Name     string   `json:"name"`
		Parents  []string `json:"parents"`
		Children []string `json:"children"`
		In       []string `json:"inputFiles"`
		Out      []string `json:"outputFiles"`
	}
	type exec struct {
		ID      string         `json:"id"`
		Runtime float64        `json:"runtimeInSeconds"`
		Command map[string]any `json:"command"`
		AvgCPU  float64        `json:"avgCPU"`
		Memory  float64        `json:"memoryInBytes"`
	}
	id := func(i int) string { return fmt.Sprintf("stage%d_ID%07d", (i/width)%7, i) }
	specs := make([]spec, n)
	files := make([]file, 0, n+width)
	execs := make([]exec, n)
	for i := range n {
		s := &specs[i]
		s.ID, s.Name = id(i), id(i)
		s.Parents, s.Children = []string{}, []string{}
		s.Out = []string{s.ID + ".out"}
		files = append(files, file{ID: s.ID + ".out", Size: float64(1000 + i%5000)})
		if i < width {
			s.In = []string{s.ID + ".in"}
			files = append(files, file{ID: s.ID + ".in", Size: 4096})
		} else {
			for _, p := range []int{i - width, i - width + 1 - width*((i+1)%width/width)} {
				if p < 0 || p >= i || (len(s.Parents) > 0 && id(p) == s.Parents[0]) {
					continue
				}
				s.Parents = append(s.Parents, id(p))
				s.In = append(s.In, id(p)+".out")
				specs[p].Children = append(specs[p].Children, s.ID)
			}
		}
		execs[i] = exec{ID: s.ID, Runtime: float64(1 + i%97), AvgCPU: 90,
			Memory: float64(64<<20 + i%1000), Command: map[string]any{"program": fmt.Sprintf("stage%d", (i/width)%7), "arguments": []string{"-x"}}}
	}
	doc := map[string]any{
		"name": fmt.Sprintf("synth-%d", n), "schemaVersion": "1.5",
		"runtimeSystem": map[string]string{"name": "Pegasus", "version": "5.0"},
		"workflow": map[string]any{
			"specification": map[string]any{"tasks": specs, "files": files},
			"execution":     map[string]any{"makespanInSeconds": 1000, "executedAt": "2021-03-23T05:57:15Z", "tasks": execs},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// importBytes runs what `shardwise import wfcommons` does short of the
// file system: parse the trace, then encode the graph and the records.
func importBytes(tb testing.TB, data []byte) (graphHCL, hist []byte) {
	tb.Helper()
	res, err := Parse(data, "synth.json", Options{})
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := hclwriter.Write(&buf, res.Graph); err != nil {
		tb.Fatal(err)
	}
	h, err := historyLines(res)
	if err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), h
}

// allocatedBytes returns the bytes fn allocates.
func allocatedBytes(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestImportLinearMemory checks that importing grows linearly with the
// trace and stays lean: 8x the tasks must allocate at most 10x the bytes,
// and at most 48 KiB a task. (Allocation counts, unlike times, do not
// depend on the machine's load.) The graph writer built on hclwrite's Body
// API, which walked every block already written for each new one, took
// 11.4x and 458 KiB a task, and its time grew quadratically.
func TestImportLinearMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 22,500 synthetic tasks")
	}
	const n1, n2 = 2_500, 20_000
	small, large := synthTrace(t, n1, 50), synthTrace(t, n2, 50)
	a := allocatedBytes(func() { importBytes(t, small) })
	b := allocatedBytes(func() { importBytes(t, large) })
	ratio := float64(b) / float64(a)
	perTask := b / n2 >> 10
	t.Logf("%d tasks: %d MiB allocated; %d tasks: %d MiB (%.1fx, %d KiB a task)", n1, a>>20, n2, b>>20, ratio, perTask)
	if ratio > 10 {
		t.Errorf("8x the tasks allocated %.1fx the bytes, want at most 10x (linear)", ratio)
	}
	if perTask > 48 {
		t.Errorf("import allocated %d KiB a task, want at most 48 KiB", perTask)
	}
}

// BenchmarkImportScaling imports synthetic traces of 10,000 and 100,000
// tasks in each iteration and reports the time of each and their ratio
// (10 for linear growth).
func BenchmarkImportScaling(b *testing.B) {
	small, large := synthTrace(b, 10_000, 100), synthTrace(b, 100_000, 100)
	b.ReportMetric(float64(len(large))/1e6, "MB-trace-100k")
	var tSmall, tLarge, cSmall, cLarge time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start, c0 := time.Now(), cpuTime()
		importBytes(b, small)
		mid, c1 := time.Now(), cpuTime()
		importBytes(b, large)
		tSmall += mid.Sub(start)
		tLarge += time.Since(mid)
		cSmall += c1 - c0
		cLarge += cpuTime() - c1
	}
	n := float64(b.N)
	b.ReportMetric(tSmall.Seconds()/n, "s-10k")
	b.ReportMetric(tLarge.Seconds()/n, "s-100k")
	b.ReportMetric(cSmall.Seconds()/n, "cpu-s-10k")
	b.ReportMetric(cLarge.Seconds()/n, "cpu-s-100k")
	b.ReportMetric(float64(tLarge)/float64(tSmall), "ratio-100k/10k")
}

// cpuTime is the CPU time (user and system) this process has used: the
// machine the figures come from is shared, so wall time alone overstates
// what a run costs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
