package adapter

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/shardwise/shardwise/driver"
	"github.com/shardwise/shardwise/driver/channel"
)

func TestSpecCopiesEveryField(t *testing.T) {
	in := driver.TaskChannels{Graph: "g", Run: "r", Shard: "s", Job: "j", AllocID: "a", Task: "t", Recovered: true,
		Inputs:  []driver.InputChannel{{ID: "i", From: "f", FromTask: "ft", Name: "n", ToTask: "tt", Path: "in/x", Bytes: 9, Stream: true}},
		Outputs: []driver.OutputChannel{{ID: "o", FromTask: "ft", Name: "n", To: "c", ToTask: "tt", Path: "out/n", Bytes: 7, Stream: true}}}
	want := channel.TaskChannels{Graph: "g", Run: "r", Shard: "s", Job: "j", AllocID: "a", Task: "t", Recovered: true,
		Inputs:  []channel.InputChannel{{ID: "i", From: "f", FromTask: "ft", Name: "n", ToTask: "tt", Path: "in/x", Bytes: 9, Stream: true}},
		Outputs: []channel.OutputChannel{{ID: "o", FromTask: "ft", Name: "n", To: "c", ToTask: "tt", Path: "out/n", Bytes: 7, Stream: true}}}
	if got := Spec(in); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestConfigMapsPluginConfig(t *testing.T) {
	c, err := Config(&driver.Config{BindAddr: "10.0.0.1", Port: 4660, AdvertiseAddr: "node1", CompressionLevel: 3,
		DataDir: "/var/lib/shard", Consul: driver.ConsulConfig{Address: "127.0.0.1:8501", Token: "tok"},
		ChannelSecret: "cluster-secret", InsecureChannels: true,
		Retention: "48h", ConsumedRetention: "90m", GoneAfter: "5m"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.BindAddr != "10.0.0.1" || c.Port != 4660 || c.AdvertiseAddr != "node1" || c.CompressionLevel != 3 ||
		c.DataDir != filepath.Join("/var/lib/shard", "channels") || c.Consul.Address != "127.0.0.1:8501" || c.Consul.Token != "tok" ||
		c.Secret != "cluster-secret" || !c.InsecureChannels ||
		c.Retention != 48*time.Hour || c.ConsumedRetention != 90*time.Minute || c.GoneAfter != 5*time.Minute {
		t.Fatalf("config %+v", c)
	}
	if _, err := Config(&driver.Config{DataDir: "/d", GoneAfter: "soon"}, nil); err == nil {
		t.Fatal("gone_after \"soon\" accepted")
	}
}

// Without channel_secret the manager's secret stays empty: run secrets
// then come from Consul KV.
func TestConfigWithoutSecretFallsBackToKV(t *testing.T) {
	c, err := Config(&driver.Config{DataDir: "/d"}, nil)
	if err != nil || c.Secret != "" || c.InsecureChannels || c.Retention != 0 || c.GoneAfter != 0 {
		t.Fatalf("secret %q insecure %v retention %v gone_after %v (%v), want empty, TLS and the manager's defaults",
			c.Secret, c.InsecureChannels, c.Retention, c.GoneAfter, err)
	}
}
