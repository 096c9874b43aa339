package nomadjob

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/sdk"
)

// longChain returns a graph of n chained tasks and a plan fusing them all
// into one shard.
func longChain(t *testing.T, n int) (*graph.Graph, *plan.Plan) {
	t.Helper()
	g := graph.New("chain")
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("step%05d", i)
		tk := &graph.Task{Name: names[i], Command: "true", Args: []string{"{{ not a template }}", "${HOME}"}}
		if i > 0 {
			tk.DependsOn = []string{names[i-1]}
		}
		if err := g.AddTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	s := shard("all", "cpu", names...)
	s.Signature = strings.Join(names, "+")
	s.Job = "chain-all"
	return g, &plan.Plan{Schema: plan.SchemaVersion, Graph: "chain", Run: "r1", Shards: []*plan.Shard{s}}
}

// execStrings returns what the client passes to exec: the driver config's
// command and args and the task's environment (to which Nomad adds the
// job's and group's meta).
func execStrings(tk *api.Task) []string {
	out := []string{fmt.Sprint(tk.Config["command"])}
	if args, ok := tk.Config["args"].([]string); ok {
		out = append(out, args...)
	}
	for k, v := range tk.Env {
		out = append(out, k+"="+v)
	}
	return out
}

// TestLongFusedScriptShipsAsFile fuses a 20,000-task chain (a script of
// about 800 KB, over Linux's 128 KiB limit for one exec argument) and
// checks for every driver that no argument or environment string exceeds
// MaxInline, and that the script and the task list reach the task as files
// through template blocks, verbatim.
func TestLongFusedScriptShipsAsFile(t *testing.T) {
	g, p := longChain(t, 20_000)
	tasks := make([]*graph.Task, len(g.Tasks))
	copy(tasks, g.Tasks)
	script, err := Script(tasks, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(script) < 128<<10 {
		t.Fatalf("script is %d bytes, want a test over the exec limit", len(script))
	}
	for _, driver := range []string{sdk.DriverRawExec, sdk.DriverExec, sdk.DriverShard} {
		t.Run(driver, func(t *testing.T) {
			jobs, err := Jobs(p, g, testCatalog(), Options{Driver: driver})
			if err != nil {
				t.Fatal(err)
			}
			_, tk := only(t, jobs[0])
			total := 0
			strs := execStrings(tk)
			for _, m := range []map[string]string{jobs[0].Meta, jobs[0].TaskGroups[0].Meta} {
				for k, v := range m {
					strs = append(strs, "NOMAD_META_"+k+"="+v)
				}
			}
			for _, s := range strs {
				total += len(s) + 1
				if len(s) > MaxInline {
					t.Errorf("exec string of %d bytes (%.40q...), want at most %d", len(s), s, MaxInline)
				}
			}
			if total > 256<<10 {
				t.Errorf("exec strings total %d bytes", total)
			}
			if got := tk.Config["args"]; fmt.Sprint(got) != "[${NOMAD_TASK_DIR}/"+ScriptFile+"]" {
				t.Errorf("args = %v, want the script file", got)
			}
			if tk.Env[EnvTasksFile] != "${NOMAD_TASK_DIR}/"+TasksFile || tk.Env[EnvTasks] != "" {
				t.Errorf("env %s = %q, %s = %.20q, want the file instead of the list", EnvTasksFile, tk.Env[EnvTasksFile], EnvTasks, tk.Env[EnvTasks])
			}
			files := map[string]*api.Template{}
			for _, tm := range tk.Templates {
				files[*tm.DestPath] = tm
				if strings.Contains(*tm.EmbeddedTmpl, *tm.LeftDelim) || strings.Contains(*tm.EmbeddedTmpl, *tm.RightDelim) {
					t.Errorf("%s: data holds its delimiters %s %s", *tm.DestPath, *tm.LeftDelim, *tm.RightDelim)
				}
			}
			if tm := files["local/"+ScriptFile]; tm == nil || *tm.EmbeddedTmpl != script {
				t.Errorf("no template writes the script verbatim to local/%s", ScriptFile)
			}
			if tm := files["local/"+TasksFile]; tm == nil || !strings.HasPrefix(*tm.EmbeddedTmpl, "step00000,step00001,") {
				t.Errorf("no template writes the task list to local/%s", TasksFile)
			}
		})
	}
}

// TestShortFusedScriptStaysInline keeps a small fused shard's script in
// its args, readable in the job, and its task list in SHARDWISE_TASKS.
func TestShortFusedScriptStaysInline(t *testing.T) {
	g, p := longChain(t, 3)
	jobs, err := Jobs(p, g, testCatalog(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, tk := only(t, jobs[0])
	args, _ := tk.Config["args"].([]string)
	if len(args) != 2 || args[0] != "-c" || !strings.Contains(args[1], "step00002") || len(tk.Templates) != 0 {
		t.Errorf("args = %q, templates %d: want -c SCRIPT and none", args, len(tk.Templates))
	}
	if tk.Env[EnvTasks] != "step00000,step00001,step00002" {
		t.Errorf("%s = %q", EnvTasks, tk.Env[EnvTasks])
	}
}

// TestMetaSignatureOf keeps short signatures and shortens long ones to a
// form that still tells them apart.
func TestMetaSignatureOf(t *testing.T) {
	if got := MetaSignatureOf("a+b"); got != "a+b" {
		t.Errorf("short signature became %q", got)
	}
	long := strings.Repeat("step+", 10_000) + "last"
	got := MetaSignatureOf(long)
	if len(got) > 100 || !strings.HasPrefix(got, "step+...+last (10001 tasks, sha256:") {
		t.Errorf("long signature became %q", got)
	}
	if other := MetaSignatureOf("x" + long); other == got || len(other) > 100 {
		t.Errorf("two long signatures share %q", got)
	}
}

// TestTemplateDelimsAvoidData picks delimiters the data does not hold.
func TestTemplateDelimsAvoidData(t *testing.T) {
	l, r := templateDelims("a [[shardwise b shardwise1]] c [[shardwise2")
	if l != "[[shardwise3" || r != "shardwise3]]" {
		t.Errorf("delims %q %q", l, r)
	}
}
