package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/evaluate/synth"
	"github.com/shardwise/shardwise/translator/hclwriter"
)

// synthGraphFile writes a synthetic graph of n tasks (Topcuoglu et al. 2002
// generator: alpha 1, out-degree 3, CCR 0.5, beta 1, seed 1) as a graph
// file in dir and returns its path.
func synthGraphFile(tb testing.TB, dir string, n int) string {
	tb.Helper()
	g, err := synth.Generate(synth.Params{Tasks: n, Alpha: 1, OutDegree: 3, CCR: 0.5, Beta: 1, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	src, err := hclwriter.Encode(g)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("synth-%d.hcl", n))
	if err := os.WriteFile(path, src, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// planCommand runs `shardwise plan` with args, failing tb on a non-zero
// exit.
func planCommand(tb testing.TB, args ...string) {
	tb.Helper()
	if code := run(append([]string{"plan", "-run", "bench"}, args...), io.Discard, io.Discard); code != 0 {
		tb.Fatalf("shardwise plan %v: exit %d", args, code)
	}
}

// BenchmarkPlanCommand times the whole `shardwise plan` command path on
// synthetic graph files of 10,000 and 100,000 tasks: read and parse the
// file, predict, plan, print the table; and with -out also build every
// shard's Nomad job and write it as HCL (NAME.nomad.hcl). It reports each in
// seconds and the 100k/10k ratios (10 for linear growth).
func BenchmarkPlanCommand(b *testing.B) {
	dir := b.TempDir()
	small, large := synthGraphFile(b, dir, 10_000), synthGraphFile(b, dir, 100_000)
	var t, c [4]time.Duration
	runs := 0
	for b.Loop() {
		runs++
		out := filepath.Join(dir, fmt.Sprintf("jobs-%d", runs)) // new each run: see BenchmarkPlanBinary
		for i, args := range [][]string{{small}, {"-out", out + "-10k", small}, {large}, {"-out", out + "-100k", large}} {
			start, c0 := time.Now(), cpuTime()
			planCommand(b, args...)
			t[i] += time.Since(start)
			c[i] += cpuTime() - c0
		}
	}
	per := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) }
	for i, name := range []string{"plan-10k", "plan-out-10k", "plan-100k", "plan-out-100k"} {
		b.ReportMetric(per(t[i]), "s-"+name)
		b.ReportMetric(per(c[i]), "cpu-s-"+name)
	}
	b.ReportMetric(float64(t[2])/float64(t[0]), "ratio-plan-100k/10k")
	b.ReportMetric(float64(t[3])/float64(t[1]), "ratio-plan-out-100k/10k")
}

// BenchmarkPlanCommand10k is the 10,000-task half alone, for profiling:
// "plan" without -out, "out" with it (NAME.nomad.hcl per job) and
// "out-json" with -out -out-json (NAME.json too). After each -out run, out
// of the timing, a plain loop of os.WriteFile writes the same files into
// a new folder (plainWrite): its time, reported as s-plain-write, is what
// the file system alone takes for them in the same run. Every run writes
// into a new folder, all removed at the end (see BenchmarkPlanBinary).
func BenchmarkPlanCommand10k(b *testing.B) {
	dir := b.TempDir()
	g := synthGraphFile(b, dir, 10_000)
	b.Run("plan", func(b *testing.B) {
		for b.Loop() {
			planCommand(b, g)
		}
	})
	runs := 0
	for _, c := range []struct {
		name string
		json bool
	}{{"out", false}, {"out-json", true}} {
		b.Run(c.name, func(b *testing.B) {
			var plain time.Duration
			for b.Loop() {
				runs++
				out := filepath.Join(dir, fmt.Sprintf("jobs-%d", runs))
				args := []string{"-out", out, g}
				if c.json {
					args = []string{"-out", out, "-out-json", g}
				}
				planCommand(b, args...)
				b.StopTimer()
				plain += plainWrite(b, out, filepath.Join(dir, fmt.Sprintf("plain-%d", runs)))
				b.StartTimer()
			}
			b.ReportMetric(plain.Seconds()/float64(b.N), "s-plain-write")
		})
	}
}

// plainWrite reads every file in from and writes the files, one
// os.WriteFile each, into a new folder to, returning how long the writing
// took.
func plainWrite(tb testing.TB, from, to string) time.Duration {
	tb.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		tb.Fatal(err)
	}
	data := make([][]byte, len(entries))
	for i, e := range entries {
		if data[i], err = os.ReadFile(filepath.Join(from, e.Name())); err != nil {
			tb.Fatal(err)
		}
	}
	start := time.Now()
	if err := os.Mkdir(to, 0o755); err != nil {
		tb.Fatal(err)
	}
	for i, e := range entries {
		if err := os.WriteFile(filepath.Join(to, e.Name()), data[i], 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return time.Since(start)
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

// BenchmarkPlanBinary times the command as a user runs it: this package is
// built once (go build), and each run starts the binary as a process,
// `shardwise plan -run bench [-out DIR] FILE` on the synthetic graph files
// of BenchmarkPlanCommand, with its output to a file. Process start-up and
// package initialisation, the collector from a fresh heap and the writes
// to stdout are in the figure; the in-process benchmarks above, which
// print to io.Discard, leave them out (they missed a system call per cell
// of the table, a third of `plan`'s wall time at 10,000 tasks). It reports
// the wall time per run (ns/op), the child's user and system CPU time and
// its peak resident memory. SHARDWISE_PLAN_BINARY names a binary to time
// instead of building one (to compare two builds, run alternately).
//
// Each -out run writes into a new folder, and all are removed only at the
// end: this machine's / is ext4 without a journal, which does not reuse
// an inode within 60 s of its removal (360 s while its inode table block
// is unwritten) and checks every such free inode of the group on each
// creation, so creating 9,855 files right after removing as many took
// several times longer than into a settled folder (docs/benchmarks.md).
func BenchmarkPlanBinary(b *testing.B) {
	dir := b.TempDir()
	bin := os.Getenv("SHARDWISE_PLAN_BINARY")
	if bin == "" {
		bin = filepath.Join(dir, "shardwise")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			b.Fatalf("go build: %v\n%s", err, out)
		}
	}
	graphs := map[int]string{}
	runs := 0
	for _, n := range []int{10_000, 100_000} {
		for _, c := range []struct {
			name string
			out  bool
		}{{"plan", false}, {"out", true}} {
			b.Run(fmt.Sprintf("%s-%dk", c.name, n/1000), func(b *testing.B) {
				if graphs[n] == "" {
					graphs[n] = synthGraphFile(b, dir, n)
				}
				var user, sys time.Duration
				var rss int64
				for b.Loop() {
					b.StopTimer()
					args := []string{"plan", "-run", "bench", graphs[n]}
					if c.out {
						runs++
						args = []string{"plan", "-run", "bench", "-out", filepath.Join(dir, fmt.Sprintf("jobs-%d", runs)), graphs[n]}
					}
					stdout, err := os.Create(filepath.Join(dir, "stdout"))
					if err != nil {
						b.Fatal(err)
					}
					var stderr bytes.Buffer
					cmd := exec.Command(bin, args...)
					cmd.Stdout, cmd.Stderr = stdout, &stderr
					b.StartTimer()
					err = cmd.Run()
					b.StopTimer()
					stdout.Close()
					if err != nil {
						b.Fatalf("%s %v: %v\n%s", bin, args, err, stderr.Bytes())
					}
					user += cmd.ProcessState.UserTime()
					sys += cmd.ProcessState.SystemTime()
					if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
						rss = max(rss, ru.Maxrss)
					}
					b.StartTimer()
				}
				b.ReportMetric(user.Seconds()/float64(b.N), "user-s/op")
				b.ReportMetric(sys.Seconds()/float64(b.N), "sys-s/op")
				b.ReportMetric(float64(rss)/1024, "max-rss-MiB")
			})
		}
	}
}
