// Package consultest starts a real Consul dev agent for tests: the binary
// .bin/consul of the repository (or consul on PATH), on free loopback
// ports, stopped at the end of the test. Without a binary the test is
// skipped, unless the CI environment variable is set, when it fails.
package consultest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// Agent is a running dev agent.
type Agent struct {
	// HTTPAddr is the agent's HTTP API, host:port.
	HTTPAddr string

	bin  string
	args []string
	stop func() // stops the running process
}

// Config returns a Consul client config for the agent.
func (a *Agent) Config() *api.Config {
	cfg := api.DefaultNonPooledConfig()
	cfg.Address = a.HTTPAddr
	cfg.Token = ""
	return cfg
}

// Start starts a dev agent (Connect enabled, with the built-in CA) and
// waits, by reading its log, until it has elected itself leader and synced
// its node; it stops the agent when t ends. extra is appended to the
// agent's command line (e.g. "-hcl", "connect { enabled = false }").
func Start(t testing.TB, extra ...string) *Agent {
	t.Helper()
	bin := binary()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("consul binary not found (.bin/consul or PATH) and CI is set")
		}
		t.Skip("consul binary not found (.bin/consul or PATH); run make agents")
	}
	ports := freePorts(t, 4)
	args := []string{"agent", "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-node", "channel-test", "-log-level", "info",
		"-http-port", strconv.Itoa(ports[0]), "-serf-lan-port", strconv.Itoa(ports[1]),
		"-serf-wan-port", strconv.Itoa(ports[2]), "-server-port", strconv.Itoa(ports[3]),
		"-dns-port", "-1", "-grpc-port", "-1"}
	a := &Agent{HTTPAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])), bin: bin, args: append(args, extra...)}
	a.run(t)
	t.Cleanup(func() { a.stop() })
	return a
}

// Restart stops the agent and starts it again on the same ports. A dev
// agent keeps nothing: registrations, KV and the Connect CA are new.
func (a *Agent) Restart(t testing.TB) {
	t.Helper()
	a.stop()
	a.run(t)
}

func (a *Agent) run(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, a.bin, a.args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start consul: %v", err)
	}
	a.stop = func() {
		cancel()
		cmd.Wait()
	}
	if err := waitReady(out, 60*time.Second); err != nil {
		t.Fatalf("consul dev agent: %v", err)
	}
}

// waitReady reads the agent's log until it synced its node info, then
// keeps draining it in the background.
func waitReady(out io.Reader, limit time.Duration) error {
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var tail []string
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			if !signalled {
				tail = append(tail, line)
				if strings.Contains(line, "Synced node info") {
					ready <- nil
					signalled = true
				}
			}
		}
		if !signalled {
			ready <- fmt.Errorf("exited before it was ready:\n%s", strings.Join(tail, "\n"))
		}
	}()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case err := <-ready:
		return err
	case <-t.C:
		return fmt.Errorf("not ready after %v", limit)
	}
}

// binary finds .bin/consul above this package, or consul on PATH.
func binary() string {
	_, file, _, _ := runtime.Caller(0)
	for dir := filepath.Dir(file); ; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, ".bin", "consul")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	p, _ := exec.LookPath("consul")
	return p
}

// freePorts returns n loopback TCP ports that were free a moment ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}
