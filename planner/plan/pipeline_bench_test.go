package plan_test

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/planner/predict"
)

// benchPlan times what `shardwise plan` does after parsing: predict every
// task on every class of the embedded default catalog (from the graph's
// hints; no history), then decompose and place. Graph generation (Topcuoglu
// et al. 2002 generator: alpha 1, out-degree 3, CCR 0.5, beta 1) is outside
// the timed loop. Besides time and memory per plan it reports cpu-ms/op,
// the process's CPU time (user and system, garbage collection included)
// per plan, which a shared machine does not inflate the way it does wall
// time, and KiB/task, the memory allocated per plan divided by the tasks.
func benchPlan(b *testing.B, n int) {
	g, err := synth.Generate(synth.Params{Tasks: n, Alpha: 1, OutDegree: 3, CCR: 0.5, Beta: 1, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	cat := catalog.Default()
	b.ReportAllocs()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	cpu0, alloc0 := cpuTime(), ms.TotalAlloc
	for b.Loop() {
		pred, err := predict.New(cat, nil)
		if err != nil {
			b.Fatal(err)
		}
		tb, err := pred.Predict(g)
		if err != nil {
			b.Fatal(err)
		}
		p, err := plan.Build(g, cat, tb, plan.Options{Run: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if p.Stats.Tasks != n {
			b.Fatalf("planned %d tasks, want %d", p.Stats.Tasks, n)
		}
	}
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(ms.TotalAlloc-alloc0)/1024/float64(b.N)/float64(n), "KiB/task")
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkPlan1k(b *testing.B)   { benchPlan(b, 1_000) }
func BenchmarkPlan10k(b *testing.B)  { benchPlan(b, 10_000) }
func BenchmarkPlan100k(b *testing.B) { benchPlan(b, 100_000) }
