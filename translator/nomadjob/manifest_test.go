package nomadjob

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/planner/graph"
	"github.com/shardwise/shardwise/planner/plan"
	"github.com/shardwise/shardwise/sdk"
)

// A fused shard's job names its tasks in run order with their signatures
// and input bytes (sdk.MetaTasks) for the feedback service: a task's
// declared input size, else its edges' declared sizes, else the plan's
// channel carrying an undeclared edge from another shard. Other jobs carry
// no manifest.
func TestTaskManifestMeta(t *testing.T) {
	g := graph.New("m")
	for _, tk := range []*graph.Task{
		{Name: "up", Command: "true"},
		{Name: "a", Signature: "sa", Command: "true", SharedInputBytes: 100},
		{Name: "b", Signature: "sb", Command: "true"},
		{Name: "c", Signature: "sa", Command: "true", InputBytes: 9000},
	} {
		if err := g.AddTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []*graph.Edge{
		{From: "up", To: "a", Bytes: -1}, // sized by the plan's channel: 5000
		{From: "up", To: "b", Bytes: 700},
		{From: "a", To: "b", Bytes: 300},
		{From: "b", To: "c", Bytes: -1}, // declared by c's input size
	} {
		if err := g.AddEdge(e); err != nil {
			t.Fatal(err)
		}
	}
	up := shard("up", "cpu", "up")
	fused := shard("abc", "cpu", "a", "b", "c")
	fused.Signature, fused.Upstream = "sa+sb+sa", []string{"up"}
	p := &plan.Plan{Schema: plan.SchemaVersion, Graph: "m", Run: "r", Shards: []*plan.Shard{up, fused},
		Channels: []*plan.Channel{
			{ID: "c0", From: "up", To: "abc", FromTask: "up", ToTask: "a", Bytes: 5000},
			{ID: "c1", From: "up", To: "abc", FromTask: "up", ToTask: "b", Bytes: 700},
		}}
	jobs, err := Jobs(p, g, testCatalog(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := jobs[0].Meta[sdk.MetaTasks]; ok {
		t.Errorf("one-task job carries %s = %s", sdk.MetaTasks, v)
	}
	grp, _ := only(t, jobs[1])
	if jobs[1].Meta[sdk.MetaTasks] != grp.Meta[sdk.MetaTasks] {
		t.Errorf("job and group manifests differ")
	}
	m, err := sdk.ParseTaskManifest(jobs[1].Meta[sdk.MetaTasks])
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.TaskManifest{
		{Task: "a", Signature: "sa", InputBytes: 5000, SharedInputBytes: 100},
		{Task: "b", Signature: "sb", InputBytes: 1000},
		{Task: "c", Signature: "sa", InputBytes: 9000},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("manifest %+v, want %+v", m, want)
	}
	// A split job's pieces carry none.
	for _, j := range buildJobs(t, Options{}) {
		if _, ok := j.Meta[sdk.MetaTasks]; ok != (*j.ID == "demo-prep") {
			t.Errorf("job %s: manifest %v, want one on the fused demo-prep only", *j.ID, ok)
		}
	}
}

// Two tasks of a fused shard reading one upstream output of undeclared
// size at one path get one channel (attachChannels drops the repeat), yet
// each task's manifest input bytes count that output: the second reader's
// were 0.
func TestTaskManifestSharedUndeclaredInput(t *testing.T) {
	g := graph.New("m")
	for _, tk := range []*graph.Task{
		{Name: "up", Command: "true"},
		{Name: "a", Signature: "sa", Command: "true"},
		{Name: "b", Signature: "sb", Command: "true"},
	} {
		if err := g.AddTask(tk); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []*graph.Edge{
		{From: "up", To: "a", Output: "o", Bytes: -1},
		{From: "up", To: "b", Output: "o", Bytes: -1},
		{From: "a", To: "b", Bytes: 300},
	} {
		if err := g.AddEdge(e); err != nil {
			t.Fatal(err)
		}
	}
	up := shard("up", "cpu", "up")
	fused := shard("ab", "cpu", "a", "b")
	fused.Signature, fused.Upstream = "sa+sb", []string{"up"}
	p := &plan.Plan{Schema: plan.SchemaVersion, Graph: "m", Run: "r", Shards: []*plan.Shard{up, fused},
		Channels: []*plan.Channel{
			{ID: "c0", From: "up", To: "ab", FromTask: "up", Output: "o", ToTask: "a", Path: "in/up-o", Bytes: 5000},
			{ID: "c1", From: "up", To: "ab", FromTask: "up", Output: "o", ToTask: "b", Path: "in/up-o", Bytes: 5000},
		}}
	jobs, err := Jobs(p, g, testCatalog(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := sdk.ParseTaskManifest(jobs[1].Meta[sdk.MetaTasks])
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.TaskManifest{{Task: "a", Signature: "sa", InputBytes: 5000}, {Task: "b", Signature: "sb", InputBytes: 5300}}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("manifest %+v, want %+v", m, want)
	}
}

// A manifest over MaxInline is left out (Nomad exports meta to the task's
// environment, twice: as given and upper-cased, and Linux refuses an
// environment string over 128 KiB): 64 tasks of 600-byte signatures make
// about 40 KiB. One just under the limit is kept.
func TestTaskManifestSizeLimit(t *testing.T) {
	for _, tc := range []struct {
		sigBytes int
		want     bool
	}{{600, false}, {400, true}} {
		g := graph.New("m")
		var names []string
		for k := range sdk.MaxTimedTasks {
			name := "t" + strconv.Itoa(k)
			sig := name + "-" + strings.Repeat("s", tc.sigBytes)
			if err := g.AddTask(&graph.Task{Name: name, Signature: sig, Command: "true"}); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		}
		s := shard("big", "cpu", names...)
		p := &plan.Plan{Schema: plan.SchemaVersion, Graph: "m", Run: "r", Shards: []*plan.Shard{s}}
		jobs, err := Jobs(p, g, testCatalog(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		v, ok := jobs[0].Meta[sdk.MetaTasks]
		if ok != tc.want || len(v) > MaxInline {
			t.Errorf("%d-byte signatures: manifest of %d bytes present %v, want %v (limit %d)", tc.sigBytes, len(v), ok, tc.want, MaxInline)
		}
		if ok {
			if m, err := sdk.ParseTaskManifest(v); err != nil || len(m) != sdk.MaxTimedTasks {
				t.Errorf("manifest of %d tasks, %v", len(m), err)
			}
		}
	}
}
