package driver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// togglingConsul is a fake Consul whose leader answer can be switched
// off (no leader) and on; outageProbes counts the probes it answered
// without a leader.
type togglingConsul struct {
	srv          *httptest.Server
	down         atomic.Bool
	outageProbes atomic.Int64
}

func newTogglingConsul(t *testing.T) *togglingConsul {
	c := &togglingConsul{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.down.Load() {
			c.outageProbes.Add(1)
			_, _ = w.Write([]byte(`""`))
			return
		}
		_, _ = w.Write([]byte(`"127.0.0.1:8300"`))
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// fingerprints starts the fingerprint stream, at cadence c, of a driver
// configured for Consul at addr.
func fingerprints(t *testing.T, addr string, c fingerprintCadence) <-chan *drivers.Fingerprint {
	t.Helper()
	td := newTestDriver(t, nil)
	td.impl.cadence = c
	raw := encodeConfig(t, &Config{CompressionLevel: 3, DataDir: t.TempDir(), Consul: ConsulConfig{Address: addr}})
	if err := td.SetConfig(&base.Config{PluginConfig: raw, AgentConfig: &base.AgentConfig{Driver: &base.ClientDriverConfig{}}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := td.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// TestFingerprintRidesOutConsulBlip: a healthy driver whose Consul stops
// answering for less than flapGrace (as a restarting agent does) keeps
// reporting healthy; probes did hit the outage.
func TestFingerprintRidesOutConsulBlip(t *testing.T) {
	c := newTogglingConsul(t)
	ch := fingerprints(t, c.srv.Listener.Addr().String(), fingerprintCadence{period: 10 * time.Millisecond,
		unhealthy: 10 * time.Millisecond, grace: time.Hour, step: 10 * time.Millisecond})
	if fp := <-ch; fp.Health != drivers.HealthStateHealthy {
		t.Fatalf("first fingerprint %s (%s), want healthy", fp.Health, fp.HealthDescription)
	}
	c.down.Store(true)
	for c.outageProbes.Load() < 3 {
		select {
		case fp := <-ch:
			if fp.Health != drivers.HealthStateHealthy {
				t.Fatalf("fingerprint %s (%s) during a blip shorter than the grace, want healthy", fp.Health, fp.HealthDescription)
			}
		case <-time.After(10 * time.Millisecond):
		}
	}
	c.down.Store(false)
	if fp := <-ch; fp.Health != drivers.HealthStateHealthy {
		t.Fatalf("fingerprint after the blip %s (%s), want healthy", fp.Health, fp.HealthDescription)
	}
}

// TestFingerprintReportsOutageThenRecovery: an outage longer than the
// grace is reported unhealthy; a driver unhealthy from the start reports
// Consul's return at the unhealthy pace, not the healthy one (an hour
// here).
func TestFingerprintReportsOutageThenRecovery(t *testing.T) {
	c := newTogglingConsul(t)
	ch := fingerprints(t, c.srv.Listener.Addr().String(), fingerprintCadence{period: 10 * time.Millisecond,
		unhealthy: 10 * time.Millisecond, grace: 50 * time.Millisecond, step: 10 * time.Millisecond})
	if fp := <-ch; fp.Health != drivers.HealthStateHealthy {
		t.Fatalf("first fingerprint %s (%s), want healthy", fp.Health, fp.HealthDescription)
	}
	c.down.Store(true)
	if fp := <-ch; fp.Health != drivers.HealthStateUnhealthy || !strings.Contains(fp.HealthDescription, "no leader") {
		t.Fatalf("fingerprint in an outage past the grace %s (%s), want unhealthy with no leader", fp.Health, fp.HealthDescription)
	}

	down := newTogglingConsul(t)
	down.down.Store(true)
	ch = fingerprints(t, down.srv.Listener.Addr().String(), fingerprintCadence{period: time.Hour,
		unhealthy: 10 * time.Millisecond, grace: time.Hour, step: time.Hour})
	if fp := <-ch; fp.Health != drivers.HealthStateUnhealthy {
		t.Fatalf("first fingerprint without a leader %s, want unhealthy", fp.Health)
	}
	down.down.Store(false)
	for fp := range ch {
		if fp.Health == drivers.HealthStateHealthy {
			return
		}
	}
	t.Fatal("fingerprint stream ended before the driver was healthy again")
}
