package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// agent is one Consul or Nomad agent process, restartable, logging to a
// file it appends to across restarts.
type agent struct {
	label   string // "consul", "nomad server", "nomad client cpu-heavy"
	bin     string
	args    []string
	env     []string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current process has exited
	err  error         // the current process's exit error, set before done closes
}

// start launches the process. It is an error to start a running agent.
func (a *agent) start() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd != nil && !isClosed(a.done) {
		return fmt.Errorf("%s: already running (pid %d)", a.label, a.cmd.Process.Pid)
	}
	logf, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: open log: %w", a.label, err)
	}
	defer logf.Close() // the child holds its own descriptor
	fmt.Fprintf(logf, "==> shardwise cluster: starting %s at %s: %s %s\n",
		a.label, time.Now().Format(time.RFC3339), a.bin, strings.Join(a.args, " "))
	cmd := exec.Command(a.bin, a.args...)
	cmd.Env = a.env
	cmd.Stdout, cmd.Stderr = logf, logf
	// A process group of its own keeps a terminal's Ctrl-C away from the
	// agents (Close stops them in order); Pdeathsig takes them down if
	// the harness itself dies without Close.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: start %s: %w", a.label, a.bin, err)
	}
	done := make(chan struct{})
	a.cmd, a.done, a.err = cmd, done, nil
	go func() {
		err := cmd.Wait()
		a.mu.Lock()
		a.err = err
		a.mu.Unlock()
		close(done)
	}()
	return nil
}

// exited reports whether the process has exited, and how.
func (a *agent) exited() (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd == nil {
		return true, errors.New("never started")
	}
	if !isClosed(a.done) {
		return false, nil
	}
	return true, a.err
}

// pid returns the current process's id, or 0 if it is not running.
func (a *agent) pid() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd == nil || isClosed(a.done) {
		return 0
	}
	return a.cmd.Process.Pid
}

// stop sends sig and waits up to grace for the process to exit, then
// kills it. Stopping an agent that is not running is a no-op.
func (a *agent) stop(sig syscall.Signal, grace time.Duration) error {
	a.mu.Lock()
	cmd, done := a.cmd, a.done
	a.mu.Unlock()
	if cmd == nil || isClosed(done) {
		return nil
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: signal %v: %w", a.label, sig, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(grace):
	}
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: kill after %s: %w", a.label, grace, err)
	}
	<-done
	return fmt.Errorf("%s: did not exit within %s of %v; killed", a.label, grace, sig)
}

// tail returns the last n lines of the agent's log (none if n <= 0).
func (a *agent) tail(n int) string {
	if n <= 0 {
		return ""
	}
	f, err := os.Open(a.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	ring := make([]string, n)
	lines := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		ring[lines%n] = sc.Text()
		lines++
	}
	var out []string
	for i := max(0, lines-n); i < lines; i++ {
		out = append(out, ring[i%n])
	}
	if err := sc.Err(); err != nil {
		out = append(out, fmt.Sprintf("(reading log: %v)", err))
	}
	return strings.Join(out, "\n")
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// agentEnv is the environment of every agent: the caller's, without
// variables that would point Nomad, Consul or their plugins at another
// cluster, plus CONSUL_HTTP_ADDR for plugins and the marker that Close
// uses to find processes the agents left behind.
func agentEnv(consulHTTP int, marker string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "NOMAD_") || strings.HasPrefix(kv, "CONSUL_") || strings.HasPrefix(kv, markerEnv+"=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		fmt.Sprintf("CONSUL_HTTP_ADDR=127.0.0.1:%d", consulHTTP),
		markerEnv+"="+marker,
	)
}
