package feedback

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// testAgent is one real Nomad agent (server and client in one process,
// persistent data dir) that a test can stop and start again on the same
// ports and data dir.
type testAgent struct {
	bin, dir, cgroup string
	http             int
	cmd              *exec.Cmd
	exited           chan struct{}
	client           *api.Client
}

var shared struct {
	once  sync.Once
	agent *testAgent
	err   error
}

// nomadBin finds the Nomad binary: $SHARDWISE_BIN/nomad, else the repo's
// .bin/nomad.
func nomadBin() string {
	if d := os.Getenv("SHARDWISE_BIN"); d != "" {
		return filepath.Join(d, "nomad")
	}
	p, _ := filepath.Abs(filepath.Join("..", ".bin", "nomad"))
	return p
}

// requireAgent returns the package's shared agent, starting it on first
// use. It skips t when the Nomad binary is missing, unless CI is set.
func requireAgent(t *testing.T) *testAgent {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a Nomad agent; skipped with -short")
	}
	bin := nomadBin()
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("nomad binary missing (run `make agents`): %v", err)
		}
		t.Skipf("nomad binary missing (run `make agents`): %v", err)
	}
	shared.once.Do(func() { shared.agent, shared.err = startAgent(bin) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.agent
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.agent != nil {
		if err := shared.agent.close(); err != nil {
			fmt.Fprintln(os.Stderr, "agent cleanup:", err)
		}
	}
	os.Exit(code)
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// chrootEnv maps the exec driver's chroot to just what the OOM test's
// shell needs (dash as /bin/sh, its libraries and the user database), so
// that building a task directory takes milliseconds rather than copying
// /usr.
func chrootEnv() string {
	files := map[string]string{"/usr/bin/dash": "/bin/sh", "/etc/passwd": "/etc/passwd", "/etc/group": "/etc/group"}
	out, _ := exec.Command("ldd", "/usr/bin/dash").Output()
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "/") {
			files[f] = f
		}
	}
	var lines []string
	for src, dst := range files {
		// Copy the file itself: a symlink would point outside the chroot.
		if real, err := filepath.EvalSymlinks(src); err == nil {
			src = real
		}
		lines = append(lines, fmt.Sprintf("    %q = %q", src, dst))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func startAgent(bin string) (*testAgent, error) {
	dir, err := os.MkdirTemp("", "sw-feedback-")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	a := &testAgent{bin: bin, dir: dir, cgroup: "sw-feedback-" + filepath.Base(dir), http: ports[0]}
	config := fmt.Sprintf(`data_dir = %q
bind_addr = "127.0.0.1"
ports { http = %d rpc = %d serf = %d }
advertise { http = "127.0.0.1" rpc = "127.0.0.1" serf = "127.0.0.1" }
server { enabled = true bootstrap_expect = 1 }
client {
  enabled = true
  network_interface = "lo"
  node_class = "feedback-test"
  cgroup_parent = %q
  chroot_env {
%s
  }
}
plugin "raw_exec" { config { enabled = true } }
`, filepath.Join(dir, "data"), ports[0], ports[1], ports[2], a.cgroup, chrootEnv())
	if err := os.WriteFile(filepath.Join(dir, "agent.hcl"), []byte(config), 0o644); err != nil {
		return nil, err
	}
	if a.client, err = api.NewClient(&api.Config{Address: fmt.Sprintf("http://127.0.0.1:%d", a.http)}); err != nil {
		return nil, err
	}
	if err := a.start(); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

// start runs the agent and waits (blocking queries, 2 minutes at most)
// until its node is ready.
func (a *testAgent) start() error {
	logf, err := os.OpenFile(filepath.Join(a.dir, "agent.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	a.cmd = exec.Command(a.bin, "agent", "-config", filepath.Join(a.dir, "agent.hcl"))
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	if err := a.cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	a.exited = make(chan struct{})
	go func() { a.cmd.Wait(); logf.Close(); close(a.exited) }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return a.waitReady(ctx)
}

// waitReady blocks on /v1/nodes until a node is ready with raw_exec and
// exec healthy. Before the HTTP server listens it retries every 100 ms.
func (a *testAgent) waitReady(ctx context.Context) error {
	var index uint64
	for ctx.Err() == nil {
		select {
		case <-a.exited:
			return fmt.Errorf("nomad agent exited:\n%s", a.logTail())
		default:
		}
		nodes, qm, err := a.client.Nodes().List((&api.QueryOptions{WaitIndex: index, WaitTime: 5 * time.Second}).WithContext(ctx))
		if err != nil {
			sleepCtx(ctx, 100*time.Millisecond) // the agent is not listening yet
			continue
		}
		index = qm.LastIndex
		for _, n := range nodes {
			if n.Status == api.NodeStatusReady && healthy(n, "raw_exec") && healthy(n, "exec") {
				return nil
			}
		}
	}
	return fmt.Errorf("nomad agent not ready: %w\n%s", ctx.Err(), a.logTail())
}

func healthy(n *api.NodeListStub, driver string) bool {
	d := n.Drivers[driver]
	return d != nil && d.Detected && d.Healthy
}

// stop sends SIGINT and waits for the agent to exit (killing it after
// 30 s). Tasks keep running: the client is not in dev mode.
func (a *testAgent) stop() error {
	if a.cmd == nil || a.cmd.Process == nil {
		return nil
	}
	select {
	case <-a.exited:
		return nil
	default:
	}
	a.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-a.exited:
	case <-time.After(30 * time.Second):
		a.cmd.Process.Kill()
		<-a.exited
	}
	return nil
}

func (a *testAgent) logTail() string {
	b, _ := os.ReadFile(filepath.Join(a.dir, "agent.log"))
	lines := strings.Split(string(b), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

// close stops the agent, unmounts what the client mounted under its data
// dir, removes its cgroups and the directory.
func (a *testAgent) close() error {
	a.stop()
	mounts, _ := os.ReadFile("/proc/self/mounts")
	var under []string
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], a.dir+"/") {
			under = append(under, f[1])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(under)))
	for _, m := range under {
		syscall.Unmount(m, syscall.MNT_DETACH)
	}
	cgroups, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", a.cgroup))
	for _, c := range cgroups {
		removeTree(c)
	}
	return os.RemoveAll(a.dir)
}

// removeTree rmdirs a cgroup directory tree, deepest first.
func removeTree(root string) {
	var dirs []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		syscall.Rmdir(dirs[i])
	}
}
