package nomadjob

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/catalog"
	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/sdk"
)

func TestJobsOnePerDistinctJob(t *testing.T) {
	jobs, err := Jobs(testPlan(), testGraph(t), testCatalog(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, *j.ID)
	}
	want := []string{"demo-prep", "demo-train", "demo-serve", "demo-big", "demo-crunch", "demo-plain", "demo-map"}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("job IDs = %v, want %v", ids, want)
	}
}

func TestJobLevelFields(t *testing.T) {
	j := buildJobs(t, Options{})["demo-train"]
	if *j.Name != "demo-train" || *j.Type != "batch" || *j.Priority != 70 || *j.Region != "global" || *j.Namespace != "default" {
		t.Errorf("job fields: name %s type %s priority %d region %s namespace %s", *j.Name, *j.Type, *j.Priority, *j.Region, *j.Namespace)
	}
	if !reflect.DeepEqual(j.Datacenters, []string{"dc1"}) {
		t.Errorf("datacenters = %v, want the plan's [dc1]", j.Datacenters)
	}
	wantMeta := map[string]string{
		sdk.MetaGraph: "demo", sdk.MetaRun: "r-20250101", sdk.MetaShard: "train", sdk.MetaSignature: "train",
		sdk.MetaClass: "gpu", sdk.MetaUpstream: "prep",
		sdk.MetaPredictedRuntime: "0", sdk.MetaPredictedMemory: "30000",
		sdk.MetaInputBytes: "1073741824", sdk.MetaOutputBytes: "0",
	}
	g, _ := only(t, j)
	if !reflect.DeepEqual(j.Meta, wantMeta) || !reflect.DeepEqual(g.Meta, wantMeta) {
		t.Errorf("meta: job %v group %v, want %v on both", j.Meta, g.Meta, wantMeta)
	}
	if *g.Name != "train" || *g.Count != 1 {
		t.Errorf("group %s count %d, want train 1", *g.Name, *g.Count)
	}
}

func TestNodeClassConstraint(t *testing.T) {
	g, _ := only(t, buildJobs(t, Options{})["demo-prep"])
	want := []*api.Constraint{
		{LTarget: "${node.class}", Operand: "=", RTarget: "cpu"},
		{LTarget: "${attr.kernel.name}", Operand: "=", RTarget: "linux"},
	}
	if !reflect.DeepEqual(g.Constraints, want) {
		t.Errorf("constraints = %s, want %s", fmtConstraints(g.Constraints), fmtConstraints(want))
	}
	svc, _ := only(t, buildJobs(t, Options{})["demo-serve"])
	if c := svc.Constraints[1]; c.Operand != "distinct_hosts" || c.LTarget != "" || c.RTarget != "true" {
		t.Errorf("distinct_hosts constraint = %s", fmtConstraints(svc.Constraints))
	}
}

func TestNodePool(t *testing.T) {
	jobs := buildJobs(t, Options{})
	big := jobs["demo-big"]
	if big.NodePool == nil || *big.NodePool != "highmem" {
		t.Errorf("node_pool = %v, want highmem", big.NodePool)
	}
	if g, _ := only(t, big); len(g.Constraints) != 0 {
		t.Errorf("class without node_class: constraints = %s, want none", fmtConstraints(g.Constraints))
	}
	if !reflect.DeepEqual(big.Datacenters, []string{"dc2"}) {
		t.Errorf("datacenters = %v, want the class's [dc2]", big.Datacenters)
	}
	if jobs["demo-prep"].NodePool != nil {
		t.Errorf("class without node_pool: node_pool = %q, want unset", *jobs["demo-prep"].NodePool)
	}
}

func TestDeviceBlock(t *testing.T) {
	_, task := only(t, buildJobs(t, Options{})["demo-train"])
	devs := task.Resources.Devices
	if len(devs) != 1 {
		t.Fatalf("devices = %d, want 1", len(devs))
	}
	d := devs[0]
	if d.Name != "nvidia/gpu" || d.Count == nil || *d.Count != 2 {
		t.Errorf("device %s count %v, want nvidia/gpu count 2", d.Name, d.Count)
	}
	want := []*api.Constraint{{LTarget: "${device.attr.memory}", Operand: ">=", RTarget: "16 GiB"}}
	if !reflect.DeepEqual(d.Constraints, want) {
		t.Errorf("device constraints = %s, want the catalog's %s only", fmtConstraints(d.Constraints), fmtConstraints(want))
	}

	// A class whose device carries no memory constraint gets one from the
	// shard's GPU memory.
	cat := testCatalog()
	cat.Class("gpu").Placement.Device.Constraints = nil
	jobs, err := Jobs(testPlan(), testGraph(t), cat, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, task = only(t, jobs[1])
	want = []*api.Constraint{{LTarget: "${device.attr.memory}", Operand: ">=", RTarget: "20480 MiB"}}
	if got := task.Resources.Devices[0].Constraints; !reflect.DeepEqual(got, want) {
		t.Errorf("derived device constraints = %s, want %s", fmtConstraints(got), fmtConstraints(want))
	}

	_, cpuTask := only(t, buildJobs(t, Options{})["demo-prep"])
	if len(cpuTask.Resources.Devices) != 0 {
		t.Errorf("shard without GPUs has a device block")
	}
}

// TestEphemeralDiskNomadAccepts checks the disk sizes Nomad's validation
// rules allow: above the log storage, never below the default.
func TestEphemeralDiskNomadAccepts(t *testing.T) {
	for _, c := range []struct{ need, want int64 }{{1, 300}, {8, 300}, {200, 300}, {201, 301}, {4096, 4196}} {
		if got := *ephemeralDisk(c.need).SizeMB; int64(got) != c.want {
			t.Errorf("ephemeralDisk(%d MiB) = %d MiB, want %d", c.need, got, c.want)
		}
	}
	if ephemeralDisk(0) != nil {
		t.Error("no disk need should leave Nomad's default")
	}
}

func TestResources(t *testing.T) {
	jobs := buildJobs(t, Options{})
	g, task := only(t, jobs["demo-prep"])
	r := task.Resources
	if *r.CPU != 1201 || r.Cores != nil || *r.MemoryMB != 512 {
		t.Errorf("cpu %v cores %v memory %v, want 1201 MHz (rounded up), no cores, 512 MiB", *r.CPU, r.Cores, *r.MemoryMB)
	}
	if *g.EphemeralDisk.SizeMB != 2048+100 {
		t.Errorf("ephemeral_disk size = %d, want 2148 (2048 MiB of data + 100 MiB of logs)", *g.EphemeralDisk.SizeMB)
	}
	_, crunch := only(t, jobs["demo-crunch"])
	if crunch.Resources.CPU != nil || *crunch.Resources.Cores != 4 {
		t.Errorf("whole-core shard: cpu %v cores %v, want cores 4 and no cpu", crunch.Resources.CPU, crunch.Resources.Cores)
	}
	pg, plain := only(t, jobs["demo-plain"])
	if *plain.Resources.CPU != 100 || *plain.Resources.MemoryMB != 300 || pg.EphemeralDisk != nil {
		t.Errorf("no prediction: cpu %d memory %d disk %v, want Nomad defaults 100, 300, unset", *plain.Resources.CPU, *plain.Resources.MemoryMB, pg.EphemeralDisk)
	}
}

func TestMemoryMaxOnlyWithOversubscribe(t *testing.T) {
	cases := []struct {
		name          string
		class         string
		memory, asked int64
		factor        float64
		want          int // 0: no memory_max
		wantErr       string
	}{
		{name: "oversubscribe default factor", class: "mem", memory: 1000, want: 1500},
		{name: "oversubscribe custom factor", class: "mem", memory: 1000, factor: 2, want: 2000},
		{name: "capped at instance memory", class: "mem", memory: 50000, want: 65536},
		{name: "shard's own memory_max", class: "mem", memory: 1000, asked: 1200, want: 1200},
		{name: "instance too small to oversubscribe", class: "mem", memory: 65536},
		{name: "no oversubscription", class: "cpu", memory: 1000},
		{name: "memory_max equal to memory is fine", class: "cpu", memory: 1000, asked: 1000},
		{name: "memory_max without oversubscription", class: "cpu", memory: 1000, asked: 2000, wantErr: "does not allow memory oversubscription"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := testPlan()
			s := shard("x", c.class, "plain")
			s.Resources.MemoryMiB.Value = float64(c.memory)
			s.Resources.MemoryMaxMiB = c.asked
			p.Shards, p.Channels = []*plan.Shard{s}, nil
			jobs, err := Jobs(p, testGraph(t), testCatalog(), Options{MemoryMaxFactor: c.factor})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "shard x") {
					t.Fatalf("err = %v, want one naming shard x and containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, task := only(t, jobs[0])
			got := 0
			if mm := task.Resources.MemoryMaxMB; mm != nil {
				got = *mm
			}
			if got != c.want {
				t.Errorf("memory_max = %d, want %d (0 = unset)", got, c.want)
			}
		})
	}
}

func TestSplitCount(t *testing.T) {
	j := buildJobs(t, Options{})["demo-map"]
	g, task := only(t, j)
	if *g.Count != 4 || *g.Name != "map" || task.Name != "map" {
		t.Errorf("group %s count %d task %s, want map 4 map", *g.Name, *g.Count, task.Name)
	}
	if *task.Resources.MemoryMB != 603 {
		t.Errorf("memory = %d, want the largest piece's 603", *task.Resources.MemoryMB)
	}
	want := map[string]string{
		EnvSplitTask:   "map",
		EnvSplitIndex:  "${NOMAD_ALLOC_INDEX}",
		EnvSplitCount:  "4",
		EnvSplitShards: "map-0,map-1,map-2,map-3",
		EnvSplitBytes:  "1000,1010,1020,1030",
	}
	for k, v := range want {
		if task.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, task.Env[k], v)
		}
	}
	for _, k := range []string{EnvSplitItems, EnvShard} {
		if v, ok := task.Env[k]; ok {
			t.Errorf("env %s = %q, want unset", k, v)
		}
	}
	if j.Meta[sdk.MetaShard] != "map-0,map-1,map-2,map-3" || j.Meta[sdk.MetaSplitTask] != "map" || j.Meta[sdk.MetaUpstream] != "prep" {
		t.Errorf("meta = %v", j.Meta)
	}
	// Prediction meta: one element per allocation index, like shardwise_shard.
	if j.Meta[sdk.MetaPredictedMemory] != "603,602,601,600" || j.Meta[sdk.MetaInputBytes] != "1000,1010,1020,1030" ||
		j.Meta[sdk.MetaOutputBytes] != "0,0,0,0" || j.Meta[sdk.MetaPredictedRuntime] != "0,0,0,0" {
		t.Errorf("prediction meta = %v", j.Meta)
	}
	if !reflect.DeepEqual(task.Config["args"], []string{"--piece", "${NOMAD_ALLOC_INDEX}"}) {
		t.Errorf("args = %v", task.Config["args"])
	}
}

func TestServiceVsBatch(t *testing.T) {
	jobs := buildJobs(t, Options{})
	sg, _ := only(t, jobs["demo-serve"])
	if *jobs["demo-serve"].Type != "service" {
		t.Errorf("type = %s, want service", *jobs["demo-serve"].Type)
	}
	if *sg.RestartPolicy.Mode != "delay" || *sg.ReschedulePolicy.Unlimited != true || *sg.ReschedulePolicy.DelayFunction != "exponential" {
		t.Errorf("service restart %+v reschedule %+v: want mode delay, unlimited exponential rescheduling", sg.RestartPolicy, sg.ReschedulePolicy)
	}
	bg, _ := only(t, jobs["demo-prep"])
	rp := bg.RestartPolicy
	if *jobs["demo-prep"].Type != "batch" || *rp.Mode != "fail" || *rp.Attempts != 2 || *rp.Interval != 10*time.Minute {
		t.Errorf("batch restart = %d in %s mode %s, want 2 in 10m mode fail", *rp.Attempts, *rp.Interval, *rp.Mode)
	}
	if rs := bg.ReschedulePolicy; *rs.Unlimited || *rs.Attempts != 1 {
		t.Errorf("batch reschedule unlimited %v attempts %d, want limited to 1", *rs.Unlimited, *rs.Attempts)
	}
}

func TestFusedScriptQuoting(t *testing.T) {
	_, task := only(t, buildJobs(t, Options{})["demo-prep"])
	if task.Config["command"] != "/bin/sh" {
		t.Fatalf("command = %v, want /bin/sh", task.Config["command"])
	}
	args := task.Config["args"].([]string)
	if len(args) != 2 || args[0] != "-c" {
		t.Fatalf("args = %q, want -c SCRIPT", args)
	}
	wantScript := "set -e\n" + timesPrologue +
		"# task \"fetch\"\n" +
		"curl -fsSL -o in.bin 'https://example.com/in?a=1&b=${x}'\n" +
		"_sw_t 1\n" +
		"# task \"prep\"\n" +
		`MODE=slow python3 prep.py 'it'\''s "quoted" $HOME' '' 'a b' '%{x}' '$(id)'` + "\n" +
		"_sw_t 2\n"
	if args[1] != wantScript {
		t.Errorf("script:\n%s\nwant:\n%s", args[1], wantScript)
	}
	if task.Env["MODE"] != "fast" || task.Env["lib.path"] != "/opt/lib" || task.Env[EnvTasks] != "fetch,prep" || task.Env[EnvShard] != "prep" {
		t.Errorf("env = %v", task.Env)
	}
}

// TestScriptRunsWithSh runs generated scripts with the real shell: every
// argument arrives byte for byte, per-command env applies to its command
// only, and set -e stops at the first failure.
func TestScriptRunsWithSh(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	weird := []string{awkward, "", "a  b", "*", "~", "\\n", "x'y'z", "$(false)", "`false`", "new\nline", "-e", "A=b"}
	tasks := []*graph.Task{
		{Name: "one", Command: "printf", Args: append([]string{"[%s]\n"}, weird...)},
		{Name: "two", Command: "sh", Args: []string{"-c", `printf '%s\n' "$MODE"`}},
		{Name: "fail", Command: "false"},
		{Name: "never", Command: "echo", Args: []string{"unreachable"}},
	}
	script, err := Script(tasks, []map[string]string{nil, {"MODE": awkward}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sh, "-c", script).Output()
	if err == nil {
		t.Errorf("script succeeded; set -e should make it fail at task fail")
	}
	var want strings.Builder
	for _, w := range weird {
		want.WriteString("[" + w + "]\n")
	}
	want.WriteString(awkward + "\n")
	if string(out) != want.String() {
		t.Errorf("output:\n%q\nwant:\n%q", out, want.String())
	}
}

// TestScriptRecordsTaskTimes runs timed scripts with the real shell and
// NOMAD_ALLOC_DIR set: a script that completes leaves one boundary per
// task plus one in sdk.TaskTimesFile, which sdk.ParseTaskTimes reads
// (a task sleeping 0.3 s took at least that); a failing task keeps the
// script's output and exit status (7) and leaves a file that does not
// parse; an allocation directory the script cannot write changes
// nothing either.
func TestScriptRecordsTaskTimes(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	run := func(dir string, tasks ...*graph.Task) (stdout, stderr string, code int) {
		t.Helper()
		script, err := Script(tasks, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(script, "_sw_t 0") {
			t.Fatalf("script of %d tasks is not timed:\n%s", len(tasks), script)
		}
		var o, e strings.Builder
		cmd := exec.Command(sh, "-c", script)
		cmd.Env = append(os.Environ(), "NOMAD_ALLOC_DIR="+dir)
		cmd.Stdout, cmd.Stderr = &o, &e
		err = cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}
	dir := t.TempDir()
	file := filepath.Join(dir, sdk.TaskTimesFile)
	// A stale file from an earlier attempt is replaced.
	if err := os.WriteFile(file, []byte("0 1\n1 2\n2 3\n3 4\n4 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(dir,
		&graph.Task{Name: "a", Command: "echo", Args: []string{"one"}},
		&graph.Task{Name: "b", Command: "sleep", Args: []string{"0.3"}},
		&graph.Task{Name: "c", Command: "echo", Args: []string{"three"}})
	if out != "one\nthree\n" || errOut != "" || code != 0 {
		t.Fatalf("stdout %q stderr %q exit %d, want the tasks' output and exit 0", out, errOut, code)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	secs, err := sdk.ParseTaskTimes(data, 3)
	if err != nil {
		t.Fatalf("%v in:\n%s", err, data)
	}
	if secs[1] < 0.3 || secs[0] < 0 || secs[2] < 0 {
		t.Errorf("task times %v s, want the sleeping task's at least 0.3 s", secs)
	}

	out, errOut, code = run(dir,
		&graph.Task{Name: "a", Command: "echo", Args: []string{"one"}},
		&graph.Task{Name: "b", Command: "sh", Args: []string{"-c", "echo bad >&2; exit 7"}},
		&graph.Task{Name: "c", Command: "echo", Args: []string{"never"}})
	if out != "one\n" || errOut != "bad\n" || code != 7 {
		t.Errorf("failing script: stdout %q stderr %q exit %d, want \"one\" \"bad\" and exit 7", out, errOut, code)
	}
	data, _ = os.ReadFile(file)
	if _, err := sdk.ParseTaskTimes(data, 3); err == nil {
		t.Errorf("times of a script stopped at its second task parse:\n%s", data)
	}

	out, errOut, code = run(filepath.Join(dir, "missing", "dir"),
		&graph.Task{Name: "a", Command: "echo", Args: []string{"one"}},
		&graph.Task{Name: "b", Command: "echo", Args: []string{"two"}})
	if out != "one\ntwo\n" || errOut != "" || code != 0 {
		t.Errorf("unwritable alloc dir: stdout %q stderr %q exit %d, want the tasks' output and exit 0", out, errOut, code)
	}
}

// TestScriptTimesOnlyFusedShards: one task (a split piece, a task with
// env overrides) and chains over sdk.MaxTimedTasks run untimed.
func TestScriptTimesOnlyFusedShards(t *testing.T) {
	mk := func(n int) []*graph.Task {
		out := make([]*graph.Task, n)
		for i := range out {
			out[i] = &graph.Task{Name: fmt.Sprintf("t%d", i), Command: "true"}
		}
		return out
	}
	for n, want := range map[int]bool{1: false, 2: true, sdk.MaxTimedTasks: true, sdk.MaxTimedTasks + 1: false} {
		script, err := Script(mk(n), []map[string]string{{"A": "b"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(script, "_sw_t"); got != want {
			t.Errorf("%d tasks: timed %v, want %v", n, got, want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	cases := map[string]string{
		"plain":     "plain",
		"a/b.c-d_e": "a/b.c-d_e",
		"":          "''",
		awkward:     `'it'\''s "quoted" $HOME'`,
		"a b":       "'a b'",
		"*":         "'*'",
	}
	for in, want := range cases {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
	if got := quoteCommand("A=b"); got != "'A=b'" {
		t.Errorf("quoteCommand(A=b) = %s, want it quoted so sh does not read an assignment", got)
	}
}

func TestSingleTaskRunsDirectly(t *testing.T) {
	_, task := only(t, buildJobs(t, Options{Driver: "exec"})["demo-train"])
	want := map[string]any{"command": "/opt/bin/train", "args": []string{"--epochs", "3"}}
	if task.Driver != "exec" || !reflect.DeepEqual(task.Config, want) {
		t.Errorf("driver %s config %v, want exec %v", task.Driver, task.Config, want)
	}
	_, plain := only(t, buildJobs(t, Options{})["demo-plain"])
	if _, ok := plain.Config["args"]; ok || plain.Driver != "raw_exec" {
		t.Errorf("no-arg task: driver %s config %v, want raw_exec and no args", plain.Driver, plain.Config)
	}
}

func TestArtifacts(t *testing.T) {
	_, task := only(t, buildJobs(t, Options{})["demo-prep"])
	want := []*api.TaskArtifact{{
		GetterSource:  new("https://example.com/tool.tgz"),
		RelativeDest:  new("local/tool"),
		GetterOptions: map[string]string{"checksum": "sha256:abcd"},
	}}
	if !reflect.DeepEqual(task.Artifacts, want) {
		t.Errorf("artifacts = %+v, want %+v", task.Artifacts, want)
	}
}

func TestShardDriverConfig(t *testing.T) {
	jobs := buildJobs(t, Options{Driver: "shard"})
	_, task := only(t, jobs["demo-prep"])
	c := task.Config
	if task.Driver != "shard" || c["command"] != "/bin/sh" || c["graph"] != "demo" || c["run"] != "r-20250101" || c["shard"] != "prep" {
		t.Errorf("config = %v", c)
	}
	tasks := c["tasks"].([]any)
	if len(tasks) != 2 {
		t.Fatalf("tasks = %v", tasks)
	}
	wantPrep := map[string]any{"name": "prep", "command": "python3",
		"args": []string{"prep.py", awkward, "", "a b", "%{x}", "$(id)"},
		"env":  map[string]string{"MODE": "slow", "lib.path": "/opt/lib"}}
	if !reflect.DeepEqual(tasks[1], wantPrep) {
		t.Errorf("tasks[1] = %v, want %v", tasks[1], wantPrep)
	}
	outs := c["outputs"].([]any)
	wantOut := map[string]any{"id": "c1", "name": "features", "from": "prep", "from_task": "prep",
		"from_path": "build/features.parquet", "to": "train", "to_task": "train", "path": "data/features",
		"bytes": int64(1 << 30), "stream": false}
	if len(outs) != 2 || !reflect.DeepEqual(outs[0], wantOut) {
		t.Errorf("outputs = %v, want first %v", outs, wantOut)
	}
	if _, ok := c["inputs"]; ok {
		t.Errorf("prep has no inputs, config has %v", c["inputs"])
	}

	_, mt := only(t, jobs["demo-map"])
	split := mt.Config["split"].([]any)[0].(map[string]any)
	if split["count"] != int64(4) || !reflect.DeepEqual(split["bytes"], []int64{1000, 1010, 1020, 1030}) {
		t.Errorf("split = %v", split)
	}
	if in := mt.Config["inputs"].([]any); len(in) != 1 || in[0].(map[string]any)["stream"] != true {
		t.Errorf("inputs = %v, want the streamed channel c2", in)
	} else if _, ok := in[0].(map[string]any)["from_path"]; ok {
		t.Errorf("plain dependency c2 has a from_path: %v", in[0])
	}
	// The consumer's job describes the channel as the producer's does.
	_, tt := only(t, jobs["demo-train"])
	if in := tt.Config["inputs"].([]any); len(in) != 1 || in[0].(map[string]any)["from_path"] != "build/features.parquet" {
		t.Errorf("train inputs = %v, want c1 with from_path build/features.parquet", in)
	}
	if _, ok := mt.Config["shard"]; ok || !reflect.DeepEqual(mt.Config["shards"], []string{"map-0", "map-1", "map-2", "map-3"}) {
		t.Errorf("split job: shard %v shards %v", mt.Config["shard"], mt.Config["shards"])
	}
}

func TestDriverFromPlan(t *testing.T) {
	p := testPlan()
	p.Driver = "exec"
	jobs, err := Jobs(p, testGraph(t), testCatalog(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, task := only(t, jobs[0]); task.Driver != "exec" {
		t.Errorf("driver = %s, want the plan's exec", task.Driver)
	}
	if _, err := Jobs(p, testGraph(t), testCatalog(), Options{Driver: "docker"}); err == nil || !strings.Contains(err.Error(), `unknown driver "docker"`) {
		t.Errorf("err = %v, want unknown driver", err)
	}
}

func TestValidationErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*plan.Plan, *graph.Graph, *catalog.Catalog)
		want   []string
	}{
		{"missing class", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Shards[1].Class = "tpu" },
			[]string{"shard train", `class "tpu" is not in the catalog`}},
		{"unknown task", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Shards[0].Tasks[1] = "ghost" },
			[]string{"shard prep", `unknown task "ghost"`}},
		{"no tasks", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Shards[0].Tasks = nil },
			[]string{"shard prep", "no tasks"}},
		{"gpus without device", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Shards[0].Resources.GPUs = 1 },
			[]string{"shard prep", "class cpu has no device"}},
		{"more gpus than an instance", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Shards[1].Resources.GPUs = 8 },
			[]string{"shard train", "has 4"}},
		{"bad type", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Shards[0].Type = "system" },
			[]string{"shard prep", `type "system"`}},
		{"nan cpu", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Shards[0].Resources.CPU.Value = math.NaN() },
			[]string{"shard prep", "cpu_mhz NaN"}},
		{"negative memory", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Shards[0].Resources.MemoryMiB.Value = -1 },
			[]string{"shard prep", "memory_mib -1"}},
		{"empty command", func(_ *plan.Plan, g *graph.Graph, _ *catalog.Catalog) { g.Task("train").Command = "" },
			[]string{"shard train", "task train: empty command"}},
		{"reserved env", func(_ *plan.Plan, g *graph.Graph, _ *catalog.Catalog) {
			g.Task("train").Env = map[string]string{"SHARDWISE_RUN": "x"}
		}, []string{"shard train", "reserved"}},
		{"conflicting env not a shell name", func(_ *plan.Plan, g *graph.Graph, _ *catalog.Catalog) {
			g.Task("fetch").Env["a.b"] = "1"
			g.Task("prep").Env["a.b"] = "2"
		}, []string{"shard prep", `env "a.b"`}},
		{"duplicate shard", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Shards[2].ID = "train" },
			[]string{"shard train", "duplicate shard id"}},
		{"bad job id", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Shards[0].Job = "a/b" },
			[]string{"shard prep", `job id "a/b"`}},
		{"unsplit shards share a job", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Shards[1].Job = "demo-prep" },
			[]string{"shard prep", "not a split piece"}},
		{"missing split piece", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Shards = p.Shards[:len(p.Shards)-1] },
			[]string{"job demo-map", "count 4 but the plan has 3 pieces"}},
		{"repeated split index", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Shards[len(p.Shards)-1].Split.Index = 1 },
			[]string{"job demo-map", "split piece index 1"}},
		{"split pieces on different classes", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Shards[len(p.Shards)-1].Class = "mem" },
			[]string{"shard map-0", `class "mem" differs`}},
		{"channel to unknown shard", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Channels[0].To = "nowhere" },
			[]string{"channel c1", `unknown shard "nowhere"`}},
		{"priority", func(p *plan.Plan, _ *graph.Graph, _ *catalog.Catalog) { p.Priority = 101 },
			[]string{"priority 101"}},
		{"constraint target", func(_ *plan.Plan, _ *graph.Graph, c *catalog.Catalog) {
			c.Class("gpu").Placement.Constraints = []catalog.Constraint{{Attribute: "${node.node_pool}", Operator: "=", Value: "x"}}
		}, []string{"shard train", `class gpu: constraint attribute: "${node.node_pool}" is not an interpolation Nomad resolves`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, g, cat := testPlan(), testGraph(t), testCatalog()
			c.mutate(p, g, cat)
			jobs, err := Jobs(p, g, cat, Options{})
			if err == nil {
				t.Fatalf("Jobs succeeded with %d jobs, want an error", len(jobs))
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if jobs != nil {
				t.Errorf("Jobs returned %d jobs with its error, want none", len(jobs))
			}
		})
	}
}

func TestNilInputs(t *testing.T) {
	if _, err := Jobs(nil, testGraph(t), testCatalog(), Options{}); err == nil {
		t.Error("nil plan accepted")
	}
	if _, err := Jobs(testPlan(), testGraph(t), testCatalog(), Options{MemoryMaxFactor: 0.5}); err == nil {
		t.Error("memory_max factor 0.5 accepted")
	}
}

func fmtConstraints(cs []*api.Constraint) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.LTarget+" "+c.Operand+" "+c.RTarget)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// A consumer of a split task's output gets one path per piece inside its
// input path, named after the piece index: the pieces never share, or
// overwrite, one file.
func TestSplitProducerInputPaths(t *testing.T) {
	p := testPlan()
	for i := 3; i >= 0; i-- { // channels out of index order: the name follows the piece, not the order
		p.Channels = append(p.Channels, &plan.Channel{ID: fmt.Sprintf("cp%d", i), From: fmt.Sprintf("map-%d", i), To: "train",
			FromTask: "map", Output: "parts", ToTask: "train", Path: "in/parts", Bytes: 10, BytesSource: plan.BytesDeclared})
	}
	jobs, err := Jobs(p, testGraph(t), testCatalog(), Options{Driver: "shard"})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*api.Job{}
	for _, j := range jobs {
		byID[*j.ID] = j
	}
	got := map[string]string{}
	_, tt := only(t, byID["demo-train"])
	for _, in := range tt.Config["inputs"].([]any) {
		m := in.(map[string]any)
		got[m["from"].(string)] = fmt.Sprint(m["path"])
	}
	want := map[string]string{"prep": "data/features",
		"map-0": "in/parts/0", "map-1": "in/parts/1", "map-2": "in/parts/2", "map-3": "in/parts/3"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("train input paths = %v, want %v", got, want)
	}
	// The producer's job describes each channel as the consumer's does.
	_, mt := only(t, byID["demo-map"])
	for _, out := range mt.Config["outputs"].([]any) {
		m := out.(map[string]any)
		if w, ok := want[m["from"].(string)]; ok && m["to"] == "train" && m["path"] != w {
			t.Errorf("map output %v: path %v, want %s", m["id"], m["path"], w)
		}
	}
}

func TestPieceName(t *testing.T) {
	for _, c := range []struct {
		index, count int
		want         string
	}{{0, 2, "0"}, {7, 8, "7"}, {0, 10, "0"}, {9, 10, "9"}, {0, 11, "00"}, {3, 12, "03"}, {11, 12, "11"}, {42, 101, "042"}} {
		if got := PieceName(c.index, c.count); got != c.want {
			t.Errorf("PieceName(%d, %d) = %q, want %q", c.index, c.count, got, c.want)
		}
	}
}

// TestJobsSameOnEveryCore builds the jobs of a 1,000-shard plan (many
// chunks of the parallel build) on one core and on four, with the raw_exec
// driver and with the shard driver (whose builder caches split pieces),
// and checks them deep-equal; and that with two shards the catalog lacks,
// the error names the first in job order on any number of cores.
func TestJobsSameOnEveryCore(t *testing.T) {
	p, g := synthetic(t, 1000)
	build := func(procs int, opts Options) ([]*api.Job, error) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		return Jobs(p, g, testCatalog(), opts)
	}
	for _, opts := range []Options{{}, {Driver: sdk.DriverShard}} {
		one, err := build(1, opts)
		if err != nil {
			t.Fatal(err)
		}
		four, err := build(4, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(one) != 1000 || !reflect.DeepEqual(one, four) {
			t.Errorf("driver %q: %d jobs on one core, %d on four, or not the same", opts.Driver, len(one), len(four))
		}
	}
	p.Shards[700].Class, p.Shards[300].Class = "tpu", "tpu"
	for _, procs := range []int{1, 4} {
		if _, err := build(procs, Options{}); err == nil || !strings.Contains(err.Error(), "shard s300") {
			t.Errorf("%d cores: error %v, want shard s300's", procs, err)
		}
	}
}

// TestSharedInputDeliveredOnce: two tasks of one shard (a join region,
// planner/plan/region.go, or a batch) read the same output of the same
// upstream shard at the same path, as two channels of the plan. The
// shard driver refuses inputs at one path (they would race on one .part
// file), and one copy serves both tasks, so the job carries the first
// channel once, as input and on the producer's side.
func TestSharedInputDeliveredOnce(t *testing.T) {
	join := shard("join", "cpu", "big", "train")
	join.Upstream = []string{"prep"}
	fused := shard("prep", "cpu", "fetch", "prep")
	p := &plan.Plan{
		Schema: plan.SchemaVersion, Graph: "demo", Run: "r1", Datacenters: []string{"dc1"},
		Shards: []*plan.Shard{fused, join},
		Channels: []*plan.Channel{
			{ID: "c1", From: "prep", To: "join", FromTask: "prep", Output: "features", ToTask: "big", Path: "in/prep-features", Bytes: 10, BytesSource: plan.BytesDeclared},
			{ID: "c2", From: "prep", To: "join", FromTask: "prep", Output: "features", ToTask: "train", Path: "in/prep-features", Bytes: 10, BytesSource: plan.BytesDeclared},
			{ID: "c3", From: "prep", To: "join", FromTask: "prep", Output: "features", ToTask: "train", Path: "in/other", Bytes: 10, BytesSource: plan.BytesDeclared},
		},
	}
	jobs, err := Jobs(p, testGraph(t), testCatalog(), Options{Driver: "shard"})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(j *api.Job, key string) []string {
		_, task := only(t, j)
		var out []string
		for _, c := range task.Config[key].([]any) {
			out = append(out, c.(map[string]any)["id"].(string))
		}
		return out
	}
	byID := map[string]*api.Job{}
	for _, j := range jobs {
		byID[*j.ID] = j
	}
	if got := ids(byID["demo-join"], "inputs"); !slices.Equal(got, []string{"c1", "c3"}) {
		t.Errorf("join inputs %v, want [c1 c3]", got)
	}
	if got := ids(byID["demo-prep"], "outputs"); !slices.Equal(got, []string{"c1", "c3"}) {
		t.Errorf("prep outputs %v, want [c1 c3]", got)
	}
}

// TestScriptHandsOutputsToLaterTasks: inside one shard (a fused chain, a
// join region) no channel carries data between tasks, so the script
// links each input from an earlier task of the shard to the producer's
// output: j reads p's out/y at its input path in/p-y (in a folder the
// script makes) and k at out/y itself (no link); run with the real
// shell in a task directory.
func TestScriptHandsOutputsToLaterTasks(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	tasks := []*graph.Task{
		{Name: "p", Command: "sh", Args: []string{"-c", "mkdir -p out && echo from-p > out/y"},
			Outputs: []graph.Output{{Name: "y", Path: "out/y"}}},
		{Name: "j", Command: "cat", Args: []string{"in/p-y"},
			Inputs: []graph.Input{{Task: "p", Output: "y", Path: "in/p-y"}, {Task: "elsewhere", Output: "z", Path: "in/z"}}},
		{Name: "k", Command: "cat", Args: []string{"out/y"},
			Inputs: []graph.Input{{Task: "p", Output: "y", Path: "out/y"}}},
	}
	script, err := Script(tasks, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, "-c", script)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "from-p\nfrom-p\n" {
		t.Errorf("script output %q (%v), want from-p twice\n%s", out, err, script)
	}
	if strings.Contains(script, "in/z") || strings.Count(script, "ln -sfn") != 1 {
		t.Errorf("script links other than in/p-y:\n%s", script)
	}
}

// TestScriptLinkKeepsEnvOverride: a fused task whose env differs from the
// others' runs with its own (K=V before its command) even when the script
// first links one of its inputs from an earlier task: the override went
// to the link's mkdir, and the task ran without it.
func TestScriptLinkKeepsEnvOverride(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	tasks := []*graph.Task{
		{Name: "p", Command: "sh", Args: []string{"-c", "mkdir -p out && echo from-p > out/y"},
			Outputs: []graph.Output{{Name: "y", Path: "out/y"}}},
		{Name: "j", Command: "sh", Args: []string{"-c", `echo "x=$X" && cat in/p-y`},
			Inputs: []graph.Input{{Task: "p", Output: "y", Path: "in/p-y"}}},
	}
	script, err := Script(tasks, []map[string]string{nil, {"X": "mine"}})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, "-c", script)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "x=mine\nfrom-p\n" {
		t.Errorf("script output %q (%v), want x=mine then from-p\n%s", out, err, script)
	}
}
