package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// loneServerConfig is a one-process Nomad server (not in dev mode: its state
// is on disk and survives a restart) on ports of its own.
const loneServerConfig = `
data_dir  = %q
bind_addr = "127.0.0.1"
ports {
  http = %d
  rpc  = %d
  serf = %d
}
advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}
server {
  enabled          = true
  bootstrap_expect = 1
}
acl {
  enabled = %t
}
`

// Server is a lone Nomad server agent for tests of what lives on the
// servers alone (variables, ACLs); it runs no allocations.
type Server struct {
	bin, dir, cfg, addr string
	cmd                 *exec.Cmd
	exited              chan error
	log                 *os.File
	// Token is the management token when ACLs are enabled (bootstrapped
	// at the first start), else empty.
	Token string
}

// StartServer starts a Nomad server from DefaultBinDir (skipping t when
// it is missing, failing it under CI),
// with ACLs enabled when acl is set (and bootstrapped: Token), and waits
// until it has a leader. t's cleanup stops it.
func StartServer(t testing.TB, acl bool) *Server {
	t.Helper()
	bin := filepath.Join(DefaultBinDir(), "nomad")
	if !isExecutable(bin) {
		msg := fmt.Sprintf("%s missing (run `make agents`)", bin)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var pp portPicker
	var ports [3]int
	for i := range ports {
		p, err := pp.tcpUDP()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	pp.release()
	dir := t.TempDir()
	s := &Server{bin: bin, dir: dir, cfg: filepath.Join(dir, "server.hcl"),
		addr: fmt.Sprintf("http://127.0.0.1:%d", ports[0])}
	conf := fmt.Sprintf(loneServerConfig, filepath.Join(dir, "data"), ports[0], ports[1], ports[2], acl)
	if err := os.WriteFile(s.cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop() })
	s.start(t)
	if acl {
		c := s.Client(t, "")
		tok, _, err := c.ACLTokens().Bootstrap(nil)
		if err != nil {
			t.Fatalf("bootstrap ACLs: %v", err)
		}
		s.Token = tok.SecretID
	}
	return s
}

// Addr is the server's HTTP address.
func (s *Server) Addr() string { return s.addr }

// Client returns a client of the server with token (none when empty).
func (s *Server) Client(t testing.TB, token string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: s.addr, SecretID: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Restart stops the server gracefully and starts it again on the same
// data directory and ports.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.stop()
	s.start(t)
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	log, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s.log = log
	s.cmd = exec.Command(s.bin, "agent", "-config", s.cfg)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start Nomad server: %v", err)
	}
	s.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, ch chan error) { ch <- cmd.Wait() }(s.cmd, s.exited)
	s.waitLeader(t)
}

// waitLeader waits until the server has a leader, failing t with its log
// if it exits or takes over a minute.
func (s *Server) waitLeader(t testing.TB) {
	t.Helper()
	c := s.Client(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if leader, err := c.Status().Leader(); err == nil && leader != "" {
			return
		}
		select {
		case err := <-s.exited:
			logText, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
			t.Fatalf("Nomad server exited: %v\n%s", err, logText)
		case <-ctx.Done():
			logText, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
			t.Fatalf("Nomad server at %s has no leader after a minute\n%s", s.addr, logText)
		case <-tick.C:
		}
	}
}

// stop interrupts the server and waits up to 10 s before killing it.
func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
	s.log.Close()
}
