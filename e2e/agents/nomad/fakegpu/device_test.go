package main

import (
	"context"
	"testing"
	"time"

	log "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/base"
)

func configured(t *testing.T, c Config) *fakeGPU {
	t.Helper()
	var buf []byte
	if err := base.MsgPackEncode(&buf, c); err != nil {
		t.Fatal(err)
	}
	g := newFakeGPU(log.NewNullLogger())
	if err := g.SetConfig(&base.Config{PluginConfig: buf}); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestFingerprintReportsConfiguredGPUs(t *testing.T) {
	g := configured(t, Config{Name: "fake-a100", Count: 2, MemoryMiB: 40960})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := g.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp := <-ch
	if resp.Error != nil || len(resp.Devices) != 1 {
		t.Fatalf("fingerprint = %+v", resp)
	}
	grp := resp.Devices[0]
	if err := grp.Validate(); err != nil {
		t.Fatal(err)
	}
	if grp.Vendor != "nvidia" || grp.Type != "gpu" || grp.Name != "fake-a100" || len(grp.Devices) != 2 {
		t.Fatalf("group = %+v", grp)
	}
	if mem, ok := grp.Attributes["memory"].GetInt(); !ok || mem != 40960 || grp.Attributes["memory"].Unit != "MiB" {
		t.Fatalf("memory attribute = %#v", grp.Attributes["memory"])
	}
	cancel()
	if _, open := <-ch; open {
		t.Fatal("fingerprint stream still open after cancel")
	}
}

func TestReserveSetsVisibleDevices(t *testing.T) {
	g := configured(t, Config{Name: "x", Count: 2, MemoryMiB: 1})
	r, err := g.Reserve([]string{deviceID("x", 1), deviceID("x", 0)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Envs["NVIDIA_VISIBLE_DEVICES"], "GPU-x-0,GPU-x-1"; got != want {
		t.Fatalf("NVIDIA_VISIBLE_DEVICES = %q, want %q", got, want)
	}
	if _, err := g.Reserve([]string{"GPU-other-0"}); err == nil {
		t.Fatal("Reserve of an unknown device succeeded")
	}
}

func TestSetConfigRejectsBadValues(t *testing.T) {
	for _, c := range []Config{{Name: "", Count: 1, MemoryMiB: 1}, {Name: "x", Count: -1, MemoryMiB: 1}, {Name: "x", Count: 1}} {
		var buf []byte
		if err := base.MsgPackEncode(&buf, c); err != nil {
			t.Fatal(err)
		}
		if err := newFakeGPU(log.NewNullLogger()).SetConfig(&base.Config{PluginConfig: buf}); err == nil {
			t.Errorf("SetConfig(%+v) succeeded", c)
		}
	}
}

func TestStatsReportsEveryDevice(t *testing.T) {
	g := configured(t, Config{Name: "x", Count: 3, MemoryMiB: 8})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := g.Stats(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	resp := <-ch
	if len(resp.Groups) != 1 || len(resp.Groups[0].InstanceStats) != 3 {
		t.Fatalf("stats = %+v", resp)
	}
}
