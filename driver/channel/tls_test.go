package channel

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	hclog "github.com/hashicorp/go-hclog"
	"github.com/shardwise/shardwise/driver/channel/connect"
	"github.com/shardwise/shardwise/driver/channel/internal/consultest"
	"github.com/shardwise/shardwise/driver/channel/registry"
	"github.com/shardwise/shardwise/internal/testutil"
)

// connectEnv is a real Consul dev agent (Connect with its built-in CA)
// whose intentions let only the channel service pull from itself.
type connectEnv struct {
	agent  *consultest.Agent
	client *api.Client
}

func startConnect(t testing.TB) *connectEnv {
	t.Helper()
	agent := consultest.Start(t)
	client, err := api.NewClient(agent.Config())
	if err != nil {
		t.Fatal(err)
	}
	if err := registry.DenyAllButChannels(context.Background(), client); err != nil {
		t.Fatal(err)
	}
	return &connectEnv{agent: agent, client: client}
}

// identity returns the Connect identity of service from the agent.
func (e *connectEnv) identity(t testing.TB, service string) *connect.Identity {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := connect.Start(ctx, e.client, service, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(id.Close)
	return id
}

// tlsServer starts a channel server presenting service's identity, with
// the intentions check of the channel service.
func (e *connectEnv) tlsServer(t testing.TB, service string) *testServer {
	return startServer(t, e.serverConfig(t, service))
}

// serverConfig is the TLS part of a server config for service.
func (e *connectEnv) serverConfig(t testing.TB, service string) ServerConfig {
	id := e.identity(t, service)
	return ServerConfig{TLS: id.ServerConfig(), Authorize: connect.Authorizer(e.client, registry.ServiceName)}
}

// sniffer is a TCP proxy that records every byte crossing it, both ways:
// what a capture of the loopback traffic would show.
type sniffer struct {
	addr string
	mu   sync.Mutex
	seen bytes.Buffer
}

func startSniffer(t *testing.T, upstream string) *sniffer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &sniffer{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			go s.pipe(u, c)
			go s.pipe(c, u)
		}
	}()
	return s
}

func (s *sniffer) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			s.mu.Lock()
			s.seen.Write(buf[:n])
			s.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (s *sniffer) contains(marker []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Contains(s.seen.Bytes(), marker)
}

func (s *sniffer) bytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen.Len()
}

// markerData is 3 MiB of text with a known marker string repeated in it.
func markerData(marker string) []byte {
	var b bytes.Buffer
	for b.Len() < 3<<20 {
		b.WriteString("row " + marker + " payload value=42\n")
	}
	return b.Bytes()
}

// The channel over mutual TLS with Connect identities: the bytes arrive
// whole, and a capture of the connection shows no plaintext of the data.
// The same transfer without TLS shows it (so the capture can see it).
func TestTLSChannelHidesData(t *testing.T) {
	env := startConnect(t)
	const marker = "SHARDWISE-MARKER-7f3a9c"
	data := markerData(marker)
	for _, tc := range []struct {
		name    string
		secure  bool
		visible bool
	}{{"mtls", true, false}, {"plaintext", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			var ts *testServer
			req := Request{}
			if tc.secure {
				ts = env.tlsServer(t, registry.ServiceName)
			} else {
				ts = startServer(t, ServerConfig{})
			}
			ts.publish(t, "c", data)
			snf := startSniffer(t, ts.addr)
			req = request(t, snf.addr, "c")
			req.NoCompression = true
			if tc.secure {
				req.TLS = env.identity(t, registry.ServiceName).ClientConfig(registry.ServiceName)
			}
			dest := filepath.Join(t.TempDir(), "out")
			if _, err := FetchFile(context.Background(), req, dest, nil); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(dest)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("fetched %d bytes (err %v), want %d equal bytes", len(got), err, len(data))
			}
			if snf.bytes() < len(data) {
				t.Fatalf("the capture saw %d bytes, fewer than the %d sent", snf.bytes(), len(data))
			}
			if snf.contains([]byte(marker)) != tc.visible {
				t.Fatalf("marker visible in the capture: %v, want %v", !tc.visible, tc.visible)
			}
		})
	}
}

// Peers that are not the channel service are refused and logged: a client
// with a leaf of another service (intentions deny it), a client without a
// certificate, a TLS 1.2 client, and a server of another service (the
// consumer refuses it). A plaintext client gets nothing either.
func TestTLSRefusesOtherIdentities(t *testing.T) {
	env := startConnect(t)
	ts := env.tlsServer(t, registry.ServiceName)
	ts.publish(t, "c", []byte("secret bytes"))
	channelID := env.identity(t, registry.ServiceName)
	intruder := env.identity(t, "intruder")

	noCert := channelID.ClientConfig(registry.ServiceName)
	noCert.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &tls.Certificate{}, nil }
	tls12 := channelID.ClientConfig(registry.ServiceName)
	tls12.MinVersion, tls12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12

	for _, tc := range []struct {
		name    string
		tls     *tls.Config
		wantErr error
		logged  string
	}{
		{"other service", intruder.ClientConfig(registry.ServiceName), ErrRefused, "intruder -> " + registry.ServiceName},
		{"no certificate", noCert, ErrUpstreamGone, "refused channel peer: TLS"},
		{"TLS 1.2", tls12, ErrUpstreamGone, "unsupported versions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := request(t, ts.addr, "c")
			req.TLS = tc.tls
			dest := filepath.Join(t.TempDir(), "out")
			_, err := FetchFile(context.Background(), req, dest, nil)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if _, serr := os.Stat(dest); serr == nil {
				t.Fatal("destination created")
			}
			waitLog(t, ts, tc.logged)
		})
	}

	t.Run("plaintext client", func(t *testing.T) {
		req := request(t, ts.addr, "c")
		req.Retry = RetryPolicy{Attempts: 1}
		_, err := FetchFile(context.Background(), req, filepath.Join(t.TempDir(), "out"), nil)
		if err == nil {
			t.Fatal("plaintext fetch from a TLS server succeeded")
		}
		waitLog(t, ts, "refused channel peer: TLS")
	})

	t.Run("server of another service", func(t *testing.T) {
		impostor := env.tlsServer(t, "intruder")
		impostor.publish(t, "c", []byte("bytes"))
		req := request(t, impostor.addr, "c")
		req.TLS = channelID.ClientConfig(registry.ServiceName)
		_, err := FetchFile(context.Background(), req, filepath.Join(t.TempDir(), "out"), nil)
		if !errors.Is(err, ErrServerAuth) || !strings.Contains(err.Error(), "intruder") {
			t.Fatalf("err = %v, want ErrServerAuth naming the intruder", err)
		}
	})
}

// waitLog waits up to 5 s for text in the server's log (the server logs
// after the client saw the refusal).
func waitLog(t *testing.T, ts *testServer, text string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(ts.log.String(), text) {
			return
		}
	}
	t.Fatalf("server log lacks %q:\n%s", text, ts.log.String())
}

// Where Consul has no Connect the manager refuses to start, naming
// insecure_channels; with insecure_channels it starts and says so at
// error level.
func TestManagerWithoutConnect(t *testing.T) {
	agent := consultest.Start(t, "-hcl", "connect { enabled = false }")
	var logBuf testutil.SyncBuffer
	cfg := Config{BindAddr: "127.0.0.1", DataDir: t.TempDir(), Consul: agent.Config(),
		Logger: hclog.New(&hclog.LoggerOptions{Output: &logBuf, Level: hclog.Info})}
	if m, err := NewManager(cfg); err == nil {
		m.Close()
		t.Fatal("manager started without Connect and without insecure_channels")
	} else if !strings.Contains(err.Error(), "insecure_channels") || !errors.Is(err, connect.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable naming insecure_channels", err)
	}
	cfg.InsecureChannels = true
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !strings.Contains(logBuf.String(), "[ERROR]") || !strings.Contains(logBuf.String(), "INSECURE CHANNELS") {
		t.Fatalf("no loud insecure warning in the log:\n%s", logBuf.String())
	}
}

// When Consul rotates its CA (here: the built-in CA told to use another
// key type, which makes a new root), the identity picks up the new roots
// and a leaf signed by the new root without a restart, and channel
// connections keep working.
func TestIdentityFollowsCARotation(t *testing.T) {
	env := startConnect(t)
	server := env.identity(t, registry.ServiceName)
	client := env.identity(t, registry.ServiceName)
	before := server.Leaf()
	cfg := &api.CAConfig{Provider: "consul", Config: map[string]any{"PrivateKeyType": "rsa", "PrivateKeyBits": 2048}}
	if _, err := env.client.Connect().CASetConfig(cfg, nil); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		s, c := server.Leaf(), client.Leaf()
		if !bytes.Equal(s.AuthorityKeyId, before.AuthorityKeyId) && bytes.Equal(s.AuthorityKeyId, c.AuthorityKeyId) {
			t.Logf("leaf serial %x (issuer key %x) rotated to %x (issuer key %x)",
				before.SerialNumber, before.AuthorityKeyId, s.SerialNumber, s.AuthorityKeyId)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leaf not re-signed by a new root within 60 s (issuer key %x)", s.AuthorityKeyId)
		}
	}
	ts := startServer(t, ServerConfig{TLS: server.ServerConfig(), Authorize: connect.Authorizer(env.client, registry.ServiceName)})
	data := randomBytes(1<<20, 61)
	ts.publish(t, "c", data)
	req := request(t, ts.addr, "c")
	req.TLS = client.ClientConfig(registry.ServiceName)
	dest := filepath.Join(t.TempDir(), "out")
	if _, err := FetchFile(context.Background(), req, dest, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, data) {
		t.Fatal("bytes differ after the rotation")
	}
}
