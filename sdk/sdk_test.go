package sdk

import (
	"reflect"
	"testing"
)

// TestMetaKeys pins the meta keys: jobs already submitted and history
// already recorded carry these names, so renaming one is a breaking change.
func TestMetaKeys(t *testing.T) {
	for got, want := range map[string]string{
		MetaGraph: "shardwise_graph", MetaRun: "shardwise_run", MetaShard: "shardwise_shard",
		MetaSignature: "shardwise_signature", MetaClass: "shardwise_class", MetaUpstream: "shardwise_upstream",
		MetaSplitTask: "shardwise_split_task", MetaPredictedRuntime: "shardwise_predicted_runtime_seconds",
		MetaPredictedMemory: "shardwise_predicted_memory_mib", MetaInputBytes: "shardwise_input_bytes",
		MetaOutputBytes: "shardwise_output_bytes", MetaAttempt: "shardwise_attempt",
	} {
		if got != want {
			t.Errorf("meta key %q, want %q", got, want)
		}
	}
}

func TestDrivers(t *testing.T) {
	if got := Drivers(); !reflect.DeepEqual(got, []string{"raw_exec", "exec", "shard"}) {
		t.Errorf("Drivers() = %v", got)
	}
	for _, d := range []string{"raw_exec", "exec", "shard"} {
		if err := CheckDriver(d); err != nil {
			t.Errorf("CheckDriver(%q): %v", d, err)
		}
	}
	for _, d := range []string{"", "docker", "Shard"} {
		if err := CheckDriver(d); err == nil || ValidDriver(d) {
			t.Errorf("CheckDriver(%q) accepted it", d)
		}
	}
	for _, c := range []struct{ flag, graph, want string }{
		{"", "", "raw_exec"}, {"", "exec", "exec"}, {"shard", "exec", "shard"},
	} {
		if got := PickDriver(c.flag, c.graph); got != c.want {
			t.Errorf("PickDriver(%q, %q) = %q, want %q", c.flag, c.graph, got, c.want)
		}
	}
}

// TestTaskConfigMapOmitsEmpty: optional keys appear only when set, and a
// split job carries split instead of shard.
func TestTaskConfigMapOmitsEmpty(t *testing.T) {
	c := TaskConfig{Command: "/bin/true", Tasks: []TaskSpec{{Name: "a", Command: "/bin/true"}}, Graph: "g", Run: "r", Shard: "s0", Shards: []string{"s0"},
		Inputs: []ChannelConfig{{ID: "c0", From: "s1", To: "s0", Bytes: 5}}}
	m := c.Map()
	want := map[string]any{
		"command": "/bin/true", "tasks": []any{map[string]any{"name": "a", "command": "/bin/true"}},
		"inputs": []any{map[string]any{"id": "c0", "from": "s1", "to": "s0", "bytes": int64(5), "stream": false}},
		"graph":  "g", "run": "r", "shard": "s0", "shards": []string{"s0"},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Map() = %#v\nwant %#v", m, want)
	}
	c.Split = []SplitConfig{{Task: "a", Count: 1, Bytes: []int64{5}, Items: []int64{1}}}
	m = c.Map()
	if _, ok := m["shard"]; ok || m["split"] == nil {
		t.Errorf("split job: %#v", m)
	}
}
