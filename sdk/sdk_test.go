package sdk

import (
	"fmt"
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

// The tag survives Nomad's DisplayMessage (%q of the exit message) and is
// found among other words; a message without it names nobody.
func TestParseUpstreamGone(t *testing.T) {
	tag := UpstreamGoneTag("s000-gen", "5e3c1a2b-0000-4000-8000-000000000001")
	msg := "fetch inputs: input s000-gen/data (channel c000): upstream gone: ...; run the producer s000-gen again " + tag
	display := fmt.Sprintf("Exit Code: 70, Exit Message: %q", msg+"; "+UpstreamGoneTag("s001-b", "a2")+" "+tag)
	want := []UpstreamGone{{Shard: "s000-gen", Alloc: "5e3c1a2b-0000-4000-8000-000000000001"}, {Shard: "s001-b", Alloc: "a2"}}
	if got := ParseUpstreamGone(display); !reflect.DeepEqual(got, want) {
		t.Errorf("ParseUpstreamGone = %v, want %v", got, want)
	}
	for _, m := range []string{"", "upstream gone: run the producer s000-gen again", UpstreamGoneMarker + " shard=]"} {
		if got := ParseUpstreamGone(m); got != nil {
			t.Errorf("ParseUpstreamGone(%q) = %v, want nil", m, got)
		}
	}
}
