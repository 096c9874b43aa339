package wfcommons

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/translator/hclreader"
)

func replayImport(t *testing.T, work string) *Result {
	t.Helper()
	res, err := ImportOptions(filepath.Join("testdata", "tiny-nextflow.json"),
		Options{TimeScale: 0.01, Replay: &Replay{Catalog: catalog.Default(), Work: work}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestReplayTasksCarryTheirTimeAndSpeedTable(t *testing.T) {
	res := replayImport(t, "")
	prep, align := res.Graph.Tasks[0], res.Graph.Tasks[1]
	if prep.Env[EnvReplaySeconds] != "0.125" || align.Env[EnvReplaySeconds] != "0.6" {
		t.Errorf("replay seconds %q, %q; want the scaled runtimes 0.125 and 0.6", prep.Env[EnvReplaySeconds], align.Env[EnvReplaySeconds])
	}
	// prep is cpu-bound, align memory-bound: each carries its profile's speeds.
	if !strings.Contains(prep.Env[EnvReplaySpeeds], "memory-intensive=0.8 ") ||
		!strings.Contains(align.Env[EnvReplaySpeeds], "memory-intensive=1.6 ") {
		t.Errorf("speed tables %q / %q", prep.Env[EnvReplaySpeeds], align.Env[EnvReplaySpeeds])
	}
	for _, task := range res.Graph.Tasks {
		if task.Hints.Cores != 1 || task.Env[EnvReplayNodeClass] != "${node.class}" || task.Command != "/bin/sh" {
			t.Errorf("task %s: cores %d, node class env %q, command %q", task.Name, task.Hints.Cores, task.Env[EnvReplayNodeClass], task.Command)
		}
	}
	if prep.Hints.Runtime != 125*time.Millisecond || res.Records[0].RuntimeSeconds != 0.125 {
		t.Errorf("hint %v, record %v s: want both scaled to 0.125 s", prep.Hints.Runtime, res.Records[0].RuntimeSeconds)
	}
}

// The graph written to graph.hcl reads back with ${node.class} intact, for
// Nomad (not the graph language) to interpolate.
func TestReplayGraphRoundTrips(t *testing.T) {
	res := replayImport(t, WorkWrite)
	dir := filepath.Join(t.TempDir(), "out")
	if err := WriteDir(dir, res); err != nil {
		t.Fatal(err)
	}
	g, diags := hclreader.ParseFile(filepath.Join(dir, GraphFile), hclreader.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for i, task := range g.Tasks {
		want := res.Graph.Tasks[i]
		for _, k := range []string{EnvReplayNodeClass, EnvReplaySpeeds, EnvReplaySeconds, EnvReplayWrite} {
			if task.Env[k] != want.Env[k] {
				t.Errorf("task %s env %s = %q after reading back, want %q", task.Name, k, task.Env[k], want.Env[k])
			}
		}
		if task.Args[1] != want.Args[1] {
			t.Errorf("task %s script changed on reading back:\n%s", task.Name, task.Args[1])
		}
	}
}

// The script divides the time by the speed of the node's class for the
// task's profile; an unknown class counts as speed 1.
func TestReplayScriptDividesByTheNodesSpeed(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for class, want := range map[string]float64{"cpu-heavy": 10, "memory-intensive": 6.25, "io-bound": 10, "unknown": 10} {
		cmd := exec.Command(sh, "-c", replayScript+`echo "$s"`)
		cmd.Env = append(os.Environ(),
			EnvReplaySeconds+"=10", EnvReplayNodeClass+"="+class,
			EnvReplaySpeeds+"="+(&Replay{Catalog: catalog.Default()}).speeds(graph.KindMemory))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v: %s", class, err, out)
		}
		got, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		if err != nil || got != want {
			t.Errorf("class %s: %q s, want %v", class, out, want)
		}
	}
}

// ReplaySeconds gives what the script computes, for every class and
// profile of the default catalog and odd speed tables.
func TestReplaySecondsMatchesTheScript(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal("no sh")
	}
	cat := catalog.Default()
	var tables []string
	for _, k := range graph.Kinds {
		tables = append(tables, (&Replay{Catalog: cat}).speeds(k))
	}
	tables = append(tables, "cpu-heavy=0 io-bound=-2", "cpu-heavy=x", "", "cpu-heavy=3 cpu-heavy=0.7")
	classes := append(cat.Names(), "unknown")
	for _, table := range tables {
		for _, class := range classes {
			task := &graph.Task{Env: map[string]string{EnvReplaySeconds: "7.777", EnvReplaySpeeds: table}}
			want, ok := ReplaySeconds(task, class)
			if !ok {
				t.Fatalf("table %q: not a replay task", table)
			}
			cmd := exec.Command(sh, "-c", replayScript+`echo "$s"`)
			cmd.Env = append(os.Environ(), EnvReplaySeconds+"=7.777", EnvReplayNodeClass+"="+class, EnvReplaySpeeds+"="+table)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			got, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
			if err != nil || got != want {
				t.Errorf("table %q, class %s: script %q, ReplaySeconds %v", table, class, out, want)
			}
		}
	}
	for _, secs := range []string{"", "NaN", "-1", "+Inf", "x"} {
		if _, ok := ReplaySeconds(&graph.Task{Env: map[string]string{EnvReplaySeconds: secs}}, "cpu-heavy"); ok {
			t.Errorf("replay seconds %q reported ok", secs)
		}
	}
}

// Work "write" writes each output with its bytes times the time scale.
func TestReplayWriteSizesOutputs(t *testing.T) {
	res := replayImport(t, WorkWrite)
	prep := res.Graph.Tasks[0]
	if got := prep.Env[EnvReplayWrite]; got != "out/data=4" { // 400 B x 0.01
		t.Fatalf("write list %q, want out/data=4", got)
	}
	dir := t.TempDir()
	cmd := exec.Command("/bin/sh", prep.Args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), EnvReplaySeconds+"=0", EnvReplaySpeeds+"=", EnvReplayNodeClass+"=x", EnvReplayWrite+"=out/data=4 out/b=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for name, size := range map[string]int64{"data": 4, "b": 0} {
		st, err := os.Stat(filepath.Join(dir, "out", name))
		if err != nil || st.Size() != size {
			t.Errorf("out/%s: %v, want %d bytes", name, err, size)
		}
	}
}

// Nomad interpolates "${...}" and "%{...}" in task config at run time.
func TestReplayScriptsHoldNoInterpolation(t *testing.T) {
	for work, body := range replayWork {
		if script := replayScript + body; strings.Contains(script, "${") || strings.Contains(script, "%{") {
			t.Errorf("work %s: script holds an interpolation sequence:\n%s", work, script)
		}
	}
}

func TestReplayRejects(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "tiny-nextflow.json"))
	if err != nil {
		t.Fatal(err)
	}
	none := regexp.MustCompile(`"runtimeInSeconds": [0-9.]+`).ReplaceAll(data, []byte(`"runtimeInSeconds": 0`))
	_, err = Parse(none, "no-runtimes.json", Options{Replay: &Replay{Catalog: catalog.Default()}})
	if !errors.Is(err, ErrNoRuntimes) || !strings.Contains(err.Error(), "no-runtimes.json") {
		t.Errorf("trace without runtimes: %v, want ErrNoRuntimes naming the file", err)
	}
	if _, err := Parse(none, "x.json", Options{}); err != nil {
		t.Errorf("the same trace without -replay: %v, want it imported", err)
	}
	_, err = Parse(data, "x.json", Options{Replay: &Replay{Catalog: catalog.Default(), Work: "dance"}})
	if err == nil || !strings.Contains(err.Error(), `"dance"`) {
		t.Errorf("unknown work: %v", err)
	}
}

// Work "cpu" spins for its time and exits 0 (timeout's 124 is success).
func TestReplayCPUWorkExitsCleanly(t *testing.T) {
	res := replayImport(t, WorkCPU)
	cmd := exec.Command("/bin/sh", res.Graph.Tasks[0].Args...)
	cmd.Env = append(os.Environ(), EnvReplaySeconds+"=0.05", EnvReplaySpeeds+"=", EnvReplayNodeClass+"=x")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}
