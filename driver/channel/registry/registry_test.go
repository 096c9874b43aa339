package registry

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/shardwise/shardwise/driver/channel/internal/consultest"
)

func newRegistry(t *testing.T, opts Options) *Registry {
	t.Helper()
	agent := consultest.Start(t)
	r, err := New(agent.Config(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// listen returns a loopback listener standing in for a channel server.
func listen(t *testing.T) (net.Listener, int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln, ln.Addr().(*net.TCPAddr).Port
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestRegistry runs against one real dev agent: registration and meta,
// blocking discovery, state changes, deregistration, the health check and
// the run secret.
func TestRegistry(t *testing.T) {
	r := newRegistry(t, Options{CheckInterval: time.Second, CheckTimeout: time.Second})
	t.Run("wait blocks until registered", func(t *testing.T) { testWaitBlocks(t, r) })
	t.Run("meta round trip and states", func(t *testing.T) { testMetaAndStates(t, r) })
	t.Run("deregister", func(t *testing.T) { testDeregister(t, r) })
	t.Run("critical check hides the channel", func(t *testing.T) { testCriticalCheck(t, r) })
	t.Run("run secret is shared", func(t *testing.T) { testRunSecret(t, r) })
}

func testWaitBlocks(t *testing.T, r *Registry) {
	ctx := testCtx(t)
	_, port := listen(t)
	waiting := make(chan struct{})
	got := make(chan Channel, 1)
	errc := make(chan error, 1)
	go func() {
		c, err := r.Wait(ctx, "run-w", "a->b", func(c Channel) bool { return c.State == StateReady },
			func() { close(waiting) })
		got <- c
		errc <- err
	}()
	<-waiting // the first query found nothing: Wait is blocking in Consul now
	want := Channel{Graph: "g", Run: "run-w", Shard: "a", Channel: "a->b", To: "b", State: StateReady,
		Format: "file", Size: 42, SHA256: "abc", Address: "127.0.0.1", Port: port}
	if err := r.Register(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	c := <-got
	c.Node = ""
	if c != want {
		t.Fatalf("got %+v, want %+v", c, want)
	}
}

func testMetaAndStates(t *testing.T, r *Registry) {
	ctx := testCtx(t)
	_, port := listen(t)
	c := Channel{Run: "run-s", Channel: "s1", State: StateStreaming, Format: "stream", Size: -1, Address: "127.0.0.1", Port: port}
	if err := r.Register(ctx, c); err != nil {
		t.Fatal(err)
	}
	streamingSeen := make(chan struct{})
	done := make(chan Channel, 1)
	go func() {
		got, _ := r.Wait(ctx, "run-s", "s1", func(c Channel) bool { return c.State == StateReady },
			func() { close(streamingSeen) })
		done <- got
	}()
	<-streamingSeen
	c.State, c.Size, c.SHA256 = StateReady, 10, "ff"
	if err := r.Register(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := <-done; got.State != StateReady || got.Size != 10 || got.SHA256 != "ff" {
		t.Fatalf("got %+v after update", got)
	}
	// Other runs' channels of the same ID are not confused with this one.
	if _, err := r.Lookup(ctx, "run-other", "s1", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lookup of another run: %v", err)
	}
}

func testDeregister(t *testing.T, r *Registry) {
	ctx := testCtx(t)
	_, port := listen(t)
	c := Channel{Run: "run-d", Channel: "x", State: StateReady, Address: "127.0.0.1", Port: port}
	if err := r.Register(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lookup(ctx, "run-d", "x", nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Deregister(ctx, "run-d", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lookup(ctx, "run-d", "x", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after deregister: %v", err)
	}
	if err := r.Deregister(ctx, "run-d", "x"); err != nil {
		t.Fatalf("second deregister: %v", err)
	}
}

// testCriticalCheck: once the channel server stops, the TCP check fails
// and discovery (passing only) no longer returns the channel. The wait is
// a blocking query on the instance's health, not a sleep.
func testCriticalCheck(t *testing.T, r *Registry) {
	ctx := testCtx(t)
	ln, port := listen(t)
	c := Channel{Run: "run-c", Channel: "x", State: StateReady, Address: "127.0.0.1", Port: port}
	if err := r.Register(ctx, c); err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if err := r.WaitGone(ctx, "run-c", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lookup(ctx, "run-c", "x", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("critical channel still found: %v", err)
	}
	r.Deregister(ctx, "run-c", "x")
}

func testRunSecret(t *testing.T, r *Registry) {
	ctx := testCtx(t)
	secrets := make(chan string, 4)
	for range 4 {
		go func() {
			s, err := r.RunSecret(ctx, "run-k")
			if err != nil {
				t.Error(err)
			}
			secrets <- s
		}()
	}
	first := <-secrets
	for range 3 {
		if s := <-secrets; s != first || len(s) != 64 {
			t.Fatalf("secrets differ or malformed: %q vs %q", s, first)
		}
	}
	if err := r.DeleteRunSecret(ctx, "run-k"); err != nil {
		t.Fatal(err)
	}
	again, err := r.RunSecret(ctx, "run-k")
	if err != nil || again == first {
		t.Fatalf("after delete: %q, %v", again, err)
	}
}

func TestServiceIDIsSafeAndDistinct(t *testing.T) {
	a, b := ServiceID("run 1", "a->b"), ServiceID("run_1", "a->b")
	if a == b {
		t.Fatal("distinct channels share a service ID")
	}
	for _, r := range a {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			t.Fatalf("unsafe rune %q in %s", r, a)
		}
	}
}
