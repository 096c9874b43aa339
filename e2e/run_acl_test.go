package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// aclAgentConfig is a one-process Nomad agent (server and client) with
// ACLs enabled and its own ports, for the bad-token test: the shared
// cluster runs without ACLs, where Nomad ignores tokens.
const aclAgentConfig = `
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
  enabled = true
}
`

// startACLAgent starts a server-only Nomad agent with ACLs enabled and
// returns its HTTP address once it answers; t's cleanup stops it.
func startACLAgent(t *testing.T) string {
	t.Helper()
	bin := agentBin(t, "nomad")
	dir := t.TempDir()
	ports := freePorts(t, 3)
	cfg := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, aclAgentConfig, filepath.Join(dir, "data"), ports[0], ports[1], ports[2]), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "agent", "-config", cfg)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ACL agent: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		log.Close()
	})
	addr := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	waitAgent(t, addr, exited, filepath.Join(dir, "agent.log"))
	return addr
}

// waitAgent waits until the agent at addr has a leader, failing t with
// its log if it exits or takes over a minute.
func waitAgent(t *testing.T, addr string, exited <-chan error, logPath string) {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if leader, err := c.Status().Leader(); err == nil && leader != "" {
			return
		}
		select {
		case err := <-exited:
			logText, _ := os.ReadFile(logPath)
			t.Fatalf("ACL agent exited: %v\n%s", err, logText)
		case <-ctx.Done():
			logText, _ := os.ReadFile(logPath)
			t.Fatalf("ACL agent at %s has no leader after a minute\n%s", addr, logText)
		case <-tick.C:
		}
	}
}

// freePorts returns n TCP ports free on 127.0.0.1 at the time of asking.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

// TestRunBadToken runs against an agent with ACLs enabled, with an
// unknown token from -token and from NOMAD_TOKEN, and without a token:
// each gives exit status 1 and an error saying the agent refused the
// token, without a stack trace.
func TestRunBadToken(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Nomad agent")
	}
	addr := startACLAgent(t)
	graph := fixture("failing.hcl")
	cases := []struct {
		name string
		env  []string
		args []string
	}{
		{"unknown -token", nil, []string{"run", "-address", addr, "-token", "00000000-0000-0000-0000-000000000000", graph}},
		{"unknown NOMAD_TOKEN", []string{"NOMAD_ADDR=" + addr, "NOMAD_TOKEN=11111111-1111-1111-1111-111111111111"}, []string{"status", "somerun"}},
		{"no token", []string{"NOMAD_ADDR=" + addr}, []string{"stop", "somerun"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := cli(t, append([]string{"NOMAD_ADDR=", "NOMAD_TOKEN="}, tc.env...), tc.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			want := "the Nomad agent at " + addr + " refused the request: the ACL token (-token or NOMAD_TOKEN)"
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errOut)
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
				t.Errorf("stderr holds a stack trace:\n%s", errOut)
			}
		})
	}
}
