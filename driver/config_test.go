package driver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/helper/pluginutils/hclutils"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
)

// validationConfig is what the plugin loader passes: no agent config.
func validationConfig(t *testing.T) *base.Config {
	return &base.Config{PluginConfig: encodeConfig(t, &Config{CompressionLevel: 3, DataDir: t.TempDir()})}
}

// agentConfig is what the client passes once it uses the plugin.
func agentConfig(t *testing.T) *base.Config {
	c := validationConfig(t)
	c.AgentConfig = &base.AgentConfig{Driver: &base.ClientDriverConfig{}}
	return c
}

func encodeConfig(t *testing.T, c *Config) []byte {
	t.Helper()
	var raw []byte
	if err := base.MsgPackEncode(&raw, c); err != nil {
		t.Fatal(err)
	}
	return raw
}

// emittedConfig returns the shard task config of a job file written by
// `shardwise plan -driver shard -out` (testdata), in the {"Config": ...}
// form hclutils parses.
func emittedConfig(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		Job struct {
			TaskGroups []struct {
				Tasks []struct {
					Driver string
					Config json.RawMessage
				}
			}
		}
	}
	if err := json.Unmarshal(b, &job); err != nil {
		t.Fatal(err)
	}
	task := job.Job.TaskGroups[0].Tasks[0]
	if task.Driver != PluginName {
		t.Fatalf("%s: driver %q", name, task.Driver)
	}
	return `{"Config": ` + string(task.Config) + `}`
}

// The task config schema accepts what translator/nomadjob emits, through
// the same JSON -> hclspec -> msgpack path as the Nomad client.
func TestTaskConfigSchemaAcceptsEmittedJobs(t *testing.T) {
	t.Run("split", func(t *testing.T) {
		var tc TaskConfig
		hclutils.NewConfigParser(taskConfigSpec).ParseJson(t, emittedConfig(t, "ml-pipeline-r-test-s001-features.json"), &tc)
		if tc.Command != "/bin/sh" || len(tc.Args) != 2 || tc.Graph != "ml-pipeline" || tc.Run != "r-test" || tc.Shard != "" {
			t.Errorf("config = %+v", tc)
		}
		if len(tc.Shards) != 8 || len(tc.Split) != 1 || tc.Split[0].Count != 8 || tc.Split[0].Task != "features" || len(tc.Split[0].Bytes) != 8 {
			t.Errorf("split = %+v shards %v", tc.Split, tc.Shards)
		}
		if len(tc.Inputs) != 8 || tc.Inputs[0].Bytes != 8388608 || tc.Inputs[0].Path != "in/ingest-raw" || tc.Inputs[0].Stream {
			t.Errorf("inputs = %+v", tc.Inputs)
		}
		// Allocation 3 runs piece s004-features: its one input, its output.
		cfg := &drivers.TaskConfig{Env: map[string]string{envAllocIndex: "3"}}
		spec, err := tc.channels(cfg)
		if err != nil || spec.Shard != "s004-features" || len(spec.Inputs) != 1 || spec.Inputs[0].ID != "c003" ||
			len(spec.Outputs) != 1 || spec.Outputs[0].Path != "out/features" {
			t.Errorf("alloc 3 channels = %+v, %v", spec, err)
		}
	})
	t.Run("fused", func(t *testing.T) {
		var tc TaskConfig
		hclutils.NewConfigParser(taskConfigSpec).ParseJson(t, emittedConfig(t, "nightly-etl-r-test-s003-join.json"), &tc)
		if tc.Shard != "s003-join" || len(tc.Tasks) != 2 || tc.Tasks[0].Name != "join" || tc.Tasks[1].Name != "aggregate" ||
			!strings.HasPrefix(tc.Args[1], "set -e\n") {
			t.Errorf("config = %+v", tc)
		}
		if len(tc.Outputs) != 2 || tc.Outputs[0].Name != "daily" || tc.Outputs[0].FromTask != "aggregate" ||
			tc.Outputs[0].FromPath != "out/daily" {
			t.Errorf("outputs = %+v", tc.Outputs)
		}
		if err := tc.validate(); err != nil {
			t.Error(err)
		}
	})
	t.Run("service with env and a plain dependency", func(t *testing.T) {
		var tc TaskConfig
		hclutils.NewConfigParser(taskConfigSpec).ParseJson(t, emittedConfig(t, "ml-pipeline-r-test-s011-serve.json"), &tc)
		if !reflect.DeepEqual(tc.Tasks[0].Env, map[string]string{"MODEL": "resnet-lite"}) || len(tc.Inputs) != 2 ||
			tc.Inputs[1].Name != "" || tc.Inputs[1].Path != "" || len(tc.Outputs) != 0 {
			t.Errorf("config = %+v", tc)
		}
	})
}

func TestChannelResolution(t *testing.T) {
	tc := TaskConfig{
		Command: "x", Shards: []string{"a", "b"},
		Inputs: []ChannelConfig{{ID: "c1", From: "up", To: "a", Path: "in/x"}, {ID: "c2", From: "up", To: "b", Path: "in/x", Stream: true}},
		Outputs: []ChannelConfig{
			{ID: "c3", From: "b", To: "down", Name: "res", FromPath: "data/res.bin"},
			{ID: "c4", From: "b", To: "down2", Name: "res"},
			{ID: "c5", From: "b", To: "down3"},
		},
	}
	spec, err := tc.channels(&drivers.TaskConfig{Env: map[string]string{envAllocIndex: "1", envRunSecret: "s3"}})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Shard != "b" || spec.RunSecret != "s3" || len(spec.Inputs) != 1 || spec.Inputs[0].ID != "c2" {
		t.Errorf("spec = %+v", spec)
	}
	paths := []string{spec.Outputs[0].Path, spec.Outputs[1].Path, spec.Outputs[2].Path}
	if !reflect.DeepEqual(paths, []string{"data/res.bin", "out/res", ""}) {
		t.Errorf("output paths = %q", paths)
	}
	if in := spec.streamingInputs(); len(in.Inputs) != 1 || in.Outputs != nil || spec.streamsOutputs() {
		t.Errorf("streaming inputs = %+v", in)
	}

	for name, env := range map[string]map[string]string{
		"no index":     {},
		"out of range": {envAllocIndex: "2"},
		"not a number": {envAllocIndex: "x"},
	} {
		if _, err := tc.channels(&drivers.TaskConfig{Env: env}); err == nil {
			t.Errorf("%s: resolved a shard", name)
		}
	}
	noShard := TaskConfig{Command: "x", Inputs: tc.Inputs}
	if _, err := noShard.channels(&drivers.TaskConfig{}); err == nil || !strings.Contains(err.Error(), "shard") {
		t.Errorf("channels without a shard: %v", err)
	}
}

func TestTaskConfigValidation(t *testing.T) {
	cases := map[string]TaskConfig{
		"empty command":       {},
		"unnamed task":        {Command: "x", Tasks: []TaskSpec{{Command: "y"}}},
		"absolute input path": {Command: "x", Inputs: []ChannelConfig{{ID: "c1", Path: "/etc/passwd"}}},
		"escaping input path": {Command: "x", Inputs: []ChannelConfig{{ID: "c1", Path: "in/../../x"}}},
		"escaping from_path":  {Command: "x", Outputs: []ChannelConfig{{ID: "c1", FromPath: "../x"}}},
		// Two pieces of a split producer delivered to one path (the bug
		// translator/nomadjob's per-piece paths fix) race on one .part.
		"shared input path": {Command: "x", Inputs: []ChannelConfig{
			{ID: "c1", From: "p0", To: "t", Path: "in/features"}, {ID: "c2", From: "p1", To: "t", Path: "in/features/"}}},
		"input inside another": {Command: "x", Inputs: []ChannelConfig{
			{ID: "c1", From: "p0", To: "t", Path: "in/features"}, {ID: "c2", From: "p1", To: "t", Path: "in/features/1"}}},
	}
	// Per piece paths, and one path for two consuming pieces of a split job.
	ok := TaskConfig{Command: "x", Inputs: []ChannelConfig{
		{ID: "c1", From: "p0", To: "t", Path: "in/features/0"}, {ID: "c2", From: "p1", To: "t", Path: "in/features/1"},
		{ID: "c3", From: "p0", To: "u", Path: "in/features-0"}, {ID: "c4", From: "up", To: "v", Path: "in/x"}, {ID: "c5", From: "up", To: "w", Path: "in/x"}}}
	if err := ok.validate(); err != nil {
		t.Errorf("distinct paths refused: %v", err)
	}
	for name, tc := range cases {
		if err := tc.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPluginConfigSchema(t *testing.T) {
	var got Config
	hclutils.NewConfigParser(configSpec).ParseHCL(t, `config {
  bind_addr         = "10.0.0.5"
  port              = 0
  advertise_addr    = "node1.internal"
  compression_level = 7
  data_dir          = "/var/lib/nomad-driver-shard"
  channel_secret    = "s3cret"
  insecure_channels = true
  no_cgroups        = true
  pids_limit        = 256
  retention          = "48h"
  consumed_retention = "90m"
  gone_after         = "5m"
  consul {
    address              = "https://127.0.0.1:8501"
    token                = "t0k"
    ca_file              = "/etc/consul/ca.pem"
    cert_file            = "/etc/consul/cert.pem"
    key_file             = "/etc/consul/key.pem"
    tls_server_name      = "consul.internal"
    insecure_skip_verify = true
  }
}`, &got)
	want := Config{
		BindAddr: "10.0.0.5", Port: 0, AdvertiseAddr: "node1.internal", CompressionLevel: 7,
		DataDir: "/var/lib/nomad-driver-shard", ChannelSecret: "s3cret", InsecureChannels: true, NoCgroups: true, PidsLimit: 256,
		Retention: "48h", ConsumedRetention: "90m", GoneAfter: "5m",
		Consul: ConsulConfig{Address: "https://127.0.0.1:8501", Token: "t0k", CAFile: "/etc/consul/ca.pem",
			CertFile: "/etc/consul/cert.pem", KeyFile: "/etc/consul/key.pem", TLSServerName: "consul.internal", InsecureSkipVerify: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config =\n%+v\nwant\n%+v", got, want)
	}

	var defaults Config
	hclutils.NewConfigParser(configSpec).ParseHCL(t, `config {}`, &defaults)
	if defaults.BindAddr != "0.0.0.0" || defaults.Port != 4660 || defaults.CompressionLevel != 1 || defaults.NoCgroups {
		t.Errorf("defaults = %+v", defaults)
	}
}

func TestDecodeConfig(t *testing.T) {
	cfg, err := decodeConfig(nil)
	if err != nil || cfg.BindAddr != "0.0.0.0" || cfg.Port != 4660 || !filepath.IsAbs(cfg.DataDir) {
		t.Fatalf("defaults = %+v, %v", cfg, err)
	}
	bad := map[string]Config{
		"port":               {Port: 70000, CompressionLevel: 3},
		"compression":        {CompressionLevel: 23},
		"data_dir":           {CompressionLevel: 3, DataDir: "relative/dir"},
		"pids_limit":         {CompressionLevel: 3, PidsLimit: -1},
		"gone_after":         {CompressionLevel: 3, GoneAfter: "2 minutes"},
		"retention":          {CompressionLevel: 3, Retention: "-1h"},
		"consumed_retention": {CompressionLevel: 3, Retention: "1h", ConsumedRetention: "2h"},
	}
	for name, c := range bad {
		if _, err := decodeConfig(encodeConfig(t, &c)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestConsulAPIConfig(t *testing.T) {
	t.Setenv("CONSUL_HTTP_ADDR", "10.1.1.1:8500")
	t.Setenv("CONSUL_HTTP_TOKEN", "from-env")
	if c := (ConsulConfig{}).APIConfig(); c.Address != "10.1.1.1:8500" || c.Token != "from-env" {
		t.Errorf("environment defaults = %s %s", c.Address, c.Token)
	}
	c := ConsulConfig{Address: "127.0.0.1:8501", Token: "cfg", CAFile: "ca", CertFile: "cert", KeyFile: "key",
		TLSServerName: "consul.internal", InsecureSkipVerify: true}.APIConfig()
	if c.Address != "127.0.0.1:8501" || c.Token != "cfg" || c.TLSConfig.CAFile != "ca" || c.TLSConfig.CertFile != "cert" ||
		c.TLSConfig.KeyFile != "key" || c.TLSConfig.Address != "consul.internal" || !c.TLSConfig.InsecureSkipVerify {
		t.Errorf("api config = %+v", c)
	}
}

// TestConfigDefaultsAgree: an agent's empty plugin block (configSpec's
// defaults) and a driver that has not been configured (decodeConfig(nil))
// get every documented default, the same ones.
func TestConfigDefaultsAgree(t *testing.T) {
	want := Config{BindAddr: "0.0.0.0", Port: 4660, CompressionLevel: 1, NoCgroups: false,
		DataDir: filepath.Join(os.TempDir(), "nomad-driver-shard")}
	var spec Config
	hclutils.NewConfigParser(configSpec).ParseHCL(t, `config {}`, &spec)
	raw := encodeConfig(t, &spec)
	fromSpec, err := decodeConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	unset, err := decodeConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]*Config{"empty plugin block": fromSpec, "decodeConfig(nil)": unset, "defaultConfig": defaultConfig()} {
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("%s: defaults =\n%+v\nwant\n%+v", name, *got, want)
		}
	}
}
