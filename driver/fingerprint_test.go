package driver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
)

// fakeConsul answers /v1/status/leader with leader (a JSON string).
func fakeConsul(t *testing.T, leader string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/status/leader" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(leader))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// firstFingerprint configures a driver for Consul at addr and returns its
// first fingerprint.
func firstFingerprint(t *testing.T, addr string) *drivers.Fingerprint {
	t.Helper()
	td := newTestDriver(t, nil)
	raw := encodeConfig(t, &Config{CompressionLevel: 3, DataDir: t.TempDir(), Consul: ConsulConfig{Address: addr}})
	if err := td.SetConfig(&base.Config{PluginConfig: raw, AgentConfig: &base.AgentConfig{Driver: &base.ClientDriverConfig{}}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := td.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fp := <-ch
	if fp == nil {
		t.Fatal("fingerprint channel closed")
	}
	return fp
}

func TestFingerprintHealthyWithConsul(t *testing.T) {
	srv := fakeConsul(t, `"127.0.0.1:8300"`)
	fp := firstFingerprint(t, srv.Listener.Addr().String())
	if fp.Health != drivers.HealthStateHealthy {
		t.Fatalf("health = %s (%s)", fp.Health, fp.HealthDescription)
	}
	if v, ok := fp.Attributes["driver.shard.consul"].GetBool(); !ok || !v {
		t.Errorf("attributes = %v", fp.Attributes)
	}
	if v, ok := fp.Attributes["driver.shard"].GetBool(); !ok || !v {
		t.Errorf("attributes = %v", fp.Attributes)
	}
}

func TestFingerprintUnhealthyWithoutConsul(t *testing.T) {
	srv := fakeConsul(t, "")
	addr := srv.Listener.Addr().String()
	srv.Close()
	fp := firstFingerprint(t, addr)
	if fp.Health != drivers.HealthStateUnhealthy || !strings.Contains(fp.HealthDescription, addr) {
		t.Errorf("health = %s (%s), want unhealthy naming %s", fp.Health, fp.HealthDescription, addr)
	}
	if v, ok := fp.Attributes["driver.shard.consul"].GetBool(); !ok || v {
		t.Errorf("attributes = %v", fp.Attributes)
	}
}

func TestFingerprintUnhealthyWithoutLeader(t *testing.T) {
	srv := fakeConsul(t, `""`)
	fp := firstFingerprint(t, srv.Listener.Addr().String())
	if fp.Health != drivers.HealthStateUnhealthy || !strings.Contains(fp.HealthDescription, "no leader") {
		t.Errorf("health = %s (%s)", fp.Health, fp.HealthDescription)
	}
}
