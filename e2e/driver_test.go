package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// The tests in this file run the shard driver plugin (.bin/plugins/
// nomad-driver-shard, `make driver`) in a real Nomad v1.6.1 agent that
// loads it from its plugin_dir, with a Consul dev agent for its health.

// freePorts comes from run_acl_test.go.

// driverTimeout bounds each wait on the agents.
const driverTimeout = 2 * time.Minute

// shardAgent is one Nomad agent (server and client) with the shard
// driver, and the Consul agent it uses.
type shardAgent struct {
	t       *testing.T
	bin     string // nomad
	dir     string
	config  string
	nomad   *exec.Cmd
	client  *api.Client
	logPath string
}

// startShardAgent starts Consul and a Nomad agent loading the shard
// driver. dev runs `nomad agent -dev` (state in memory); otherwise the
// agent keeps its state in dir, so that it can be killed and restarted.
func startShardAgent(t *testing.T, dev bool) *shardAgent {
	t.Helper()
	nomadBin := agentBin(t, "nomad")
	consulBin := agentBin(t, "consul")
	plugin := agentBin(t, filepath.Join("plugins", "nomad-driver-shard"))
	dir, err := os.MkdirTemp("", "shard-driver-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	a := &shardAgent{t: t, bin: nomadBin, dir: dir, config: filepath.Join(dir, "agent.hcl"), logPath: filepath.Join(dir, "nomad.log")}

	ports := freePorts(t, 9)
	consulHTTP := ports[0]
	startConsul(t, consulBin, dir, ports[0:5])
	t.Cleanup(a.cleanup) // before Consul's: Nomad stops first
	pluginDir := filepath.Join(dir, "plugins")
	if err := os.MkdirAll(pluginDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(plugin, filepath.Join(pluginDir, "nomad-driver-shard")); err != nil {
		t.Fatal(err)
	}
	cfg := agentHCL(dir, pluginDir, ports[5:8], ports[8], consulHTTP, dev)
	if err := os.WriteFile(a.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	a.client, err = api.NewClient(&api.Config{Address: fmt.Sprintf("http://127.0.0.1:%d", ports[5])})
	if err != nil {
		t.Fatal(err)
	}
	a.start(dev)
	return a
}

// agentHCL is the Nomad agent config: loopback ports, the plugin dir and
// the shard driver's plugin block.
func agentHCL(dir, pluginDir string, nomadPorts []int, channelPort, consulHTTP int, dev bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "bind_addr = \"127.0.0.1\"\nplugin_dir = %q\n", pluginDir)
	fmt.Fprintf(&b, "ports {\n  http = %d\n  rpc = %d\n  serf = %d\n}\n", nomadPorts[0], nomadPorts[1], nomadPorts[2])
	b.WriteString("advertise {\n  http = \"127.0.0.1\"\n  rpc = \"127.0.0.1\"\n  serf = \"127.0.0.1\"\n}\n")
	fmt.Fprintf(&b, "consul {\n  address = \"127.0.0.1:%d\"\n}\n", consulHTTP)
	if !dev {
		fmt.Fprintf(&b, "data_dir = %q\n", filepath.Join(dir, "data"))
		b.WriteString("server {\n  enabled = true\n  bootstrap_expect = 1\n}\n")
	}
	b.WriteString("client {\n  enabled = true\n  network_interface = \"lo\"\n}\n")
	fmt.Fprintf(&b, `plugin "nomad-driver-shard" {
  config {
    bind_addr = "127.0.0.1"
    port      = %d
    data_dir  = %q
    consul {
      address = "127.0.0.1:%d"
    }
  }
}
`, channelPort, filepath.Join(dir, "shard-data"), consulHTTP)
	return b.String()
}

// startConsul runs a Consul dev agent until the test ends, on ports
// http, serf_lan, serf_wan and server (ports[0:4]).
func startConsul(t *testing.T, bin, dir string, ports []int) {
	t.Helper()
	cfg := fmt.Sprintf("ports {\n  http = %d\n  serf_lan = %d\n  serf_wan = %d\n  server = %d\n  dns = -1\n  grpc = -1\n}\n",
		ports[0], ports[1], ports[2], ports[3])
	path := filepath.Join(dir, "consul.hcl")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "consul.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "agent", "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1", "-config-file", path)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
		log.Close()
	})
}

// start runs the Nomad agent and waits until the shard driver is healthy
// on its node.
func (a *shardAgent) start(dev bool) {
	a.t.Helper()
	args := []string{"agent", "-config", a.config}
	if dev {
		args = append(args, "-dev")
	}
	log, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		a.t.Fatal(err)
	}
	a.nomad = exec.Command(a.bin, args...)
	a.nomad.Stdout, a.nomad.Stderr = log, log
	a.nomad.Env = append(os.Environ(), "NOMAD_ADDR=", "CONSUL_HTTP_ADDR=")
	if err := a.nomad.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.waitFor("the shard driver to be healthy", func() (bool, error) {
		nodes, _, err := a.client.Nodes().List(nil)
		if err != nil || len(nodes) == 0 {
			return false, nil
		}
		node, _, err := a.client.Nodes().Info(nodes[0].ID, nil)
		if err != nil {
			return false, nil
		}
		d := node.Drivers["shard"]
		return node.Status == "ready" && d != nil && d.Healthy, nil
	})
}

// kill9 kills the Nomad agent with SIGKILL and reaps it.
func (a *shardAgent) kill9() {
	a.t.Helper()
	if err := a.nomad.Process.Kill(); err != nil {
		a.t.Fatal(err)
	}
	_ = a.nomad.Wait()
}

// cleanup stops the agent, kills what it left in its dir (executors,
// tasks, an orphaned plugin) and unmounts its tmpfs mounts.
func (a *shardAgent) cleanup() {
	if a.nomad != nil && a.nomad.ProcessState == nil {
		_ = a.nomad.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = a.nomad.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = a.nomad.Process.Kill()
			<-done
		}
	}
	for _, pid := range pidsMentioning(a.dir) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, m := range mountsBelow(a.dir) {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
	if a.t.Failed() {
		if b, err := os.ReadFile(a.logPath); err == nil {
			a.t.Logf("nomad log (last 4000 bytes):\n%s", tailBytes(b, 4000))
		}
	}
}

// waitFor polls cond every 200 ms until it holds, failing after
// driverTimeout.
func (a *shardAgent) waitFor(what string, cond func() (bool, error)) {
	a.t.Helper()
	deadline := time.Now().Add(driverTimeout)
	for {
		ok, err := cond()
		if err != nil {
			a.t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runShardJob registers batch job id: one shard task running script, no
// restarts or reschedules.
func (a *shardAgent) runShardJob(id, script string) {
	a.t.Helper()
	job := api.NewBatchJob(id, id, "global", 50)
	job.Datacenters = []string{"*"}
	task := api.NewTask("main", "shard")
	task.Config = map[string]any{
		"command": "/bin/sh",
		"args":    []string{"-c", script},
		"tasks":   []map[string]any{{"name": "main", "command": "/bin/sh", "args": []string{"-c", script}}},
		"graph":   "e2e",
		"run":     "r1",
		"shard":   "s000-main",
		"shards":  []string{"s000-main"},
	}
	task.Resources = &api.Resources{CPU: new(100), MemoryMB: new(64)}
	group := api.NewTaskGroup("main", 1).AddTask(task)
	group.RestartPolicy = &api.RestartPolicy{Attempts: new(0), Mode: new("fail")}
	group.ReschedulePolicy = &api.ReschedulePolicy{Attempts: new(0), Unlimited: new(false)}
	job.AddTaskGroup(group)
	if _, _, err := a.client.Jobs().Register(job, nil); err != nil {
		a.t.Fatalf("register %s: %v", id, err)
	}
}

// alloc waits for the job's one allocation and returns it once cond holds.
func (a *shardAgent) alloc(jobID, what string, cond func(*api.Allocation) bool) *api.Allocation {
	a.t.Helper()
	var found *api.Allocation
	a.waitFor(what, func() (bool, error) {
		stubs, _, err := a.client.Jobs().Allocations(jobID, true, nil)
		if err != nil || len(stubs) == 0 {
			return false, nil
		}
		al, _, err := a.client.Allocations().Info(stubs[0].ID, nil)
		if err != nil {
			return false, nil
		}
		found = al
		return cond(al), nil
	})
	return found
}

// terminated returns the exit code of the task's Terminated event.
func terminated(t *testing.T, al *api.Allocation) int {
	t.Helper()
	st := al.TaskStates["main"]
	for _, ev := range st.Events {
		if ev.Type == api.TaskTerminated {
			return ev.ExitCode
		}
	}
	t.Fatalf("no Terminated event: %+v", st.Events)
	return -1
}

func TestShardDriverRunsJobsInNomad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real agents")
	}
	a := startShardAgent(t, true)

	a.runShardJob("shard-ok", `test "$PWD/local" = "$NOMAD_TASK_DIR" && echo done > local/out`)
	al := a.alloc("shard-ok", "shard-ok to complete", func(al *api.Allocation) bool { return al.ClientStatus == "complete" || al.ClientStatus == "failed" })
	if al.ClientStatus != "complete" || terminated(t, al) != 0 {
		t.Fatalf("shard-ok: status %s, events %+v", al.ClientStatus, al.TaskStates["main"].Events)
	}

	a.runShardJob("shard-exit3", "exit 3")
	al = a.alloc("shard-exit3", "shard-exit3 to fail", func(al *api.Allocation) bool { return al.ClientStatus == "failed" })
	if code := terminated(t, al); code != 3 {
		t.Errorf("shard-exit3: exit code %d, want 3", code)
	}
}

// Killing the Nomad client with SIGKILL while a shard runs, then starting
// it again: the new plugin recovers the task from its handle, the command
// is never started twice and its exit is reported.
func TestShardDriverRecoversAfterClientKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real agents")
	}
	a := startShardAgent(t, false)
	a.runShardJob("shard-recover", `echo $$ >> pids; while [ ! -f go ]; do sleep 0.1; done; exit 0`)
	al := a.alloc("shard-recover", "the task to run", func(al *api.Allocation) bool {
		st := al.TaskStates["main"]
		return st != nil && st.State == "running"
	})
	taskDir := filepath.Join(a.dir, "data", "alloc", al.ID, "main")
	pidsFile := filepath.Join(taskDir, "pids")
	a.waitFor("the command to start", func() (bool, error) { _, err := os.Stat(pidsFile); return err == nil, nil })

	a.kill9()
	a.start(false)
	// The killed client's plugin notices and exits: one plugin remains.
	a.waitFor("one shard plugin process", func() (bool, error) { return len(pluginPids(a.dir)) == 1, nil })
	if err := os.WriteFile(filepath.Join(taskDir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	al = a.alloc("shard-recover", "the recovered task to complete", func(al *api.Allocation) bool {
		return al.ClientStatus == "complete" || al.ClientStatus == "failed"
	})
	st := al.TaskStates["main"]
	if al.ClientStatus != "complete" || st.Restarts != 0 {
		t.Errorf("status %s, restarts %d, events %+v", al.ClientStatus, st.Restarts, st.Events)
	}
	b, err := os.ReadFile(pidsFile)
	if err != nil {
		t.Fatal(err)
	}
	if pids := strings.Fields(string(b)); len(pids) != 1 {
		t.Errorf("the command started %d times (%v), want once", len(pids), pids)
	}
}

// pidsMentioning lists the processes whose command line contains dir.
func pidsMentioning(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// pluginPids lists the shard driver plugin processes started from dir's
// plugin_dir (not their executors, which run "<plugin> executor ...").
func pluginPids(dir string) []int {
	var out []int
	for _, pid := range pidsMentioning(dir) {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if err == nil && len(args) == 1 && strings.HasSuffix(args[0], "nomad-driver-shard") {
			out = append(out, pid)
		}
	}
	return out
}

// mountsBelow lists mount points under dir, deepest first.
func mountsBelow(dir string) []string {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 1 && strings.HasPrefix(fields[1], dir+"/") {
			out = append([]string{fields[1]}, out...)
		}
	}
	return out
}

// tailBytes returns the last n bytes of b.
func tailBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
