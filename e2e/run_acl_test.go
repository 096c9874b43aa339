package e2e

import (
	"net"
	"strings"
	"testing"

	"github.com/shardwise/shardwise/e2e/cluster"
)

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
	addr := cluster.StartServer(t, true).Addr()
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
