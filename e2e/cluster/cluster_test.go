package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
)

// The tests in this file share one cluster (Shared). TestMain closes it
// after the tests and checks that Close left nothing behind: no agent
// process, no process of the run (the task TestLongTaskRuns leaves
// running), no mount, no cgroup and no run directory.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := closeSharedAndCheck(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: close shared cluster: %v\n", err)
		code = max(code, 1)
	}
	os.Exit(code)
}

func closeSharedAndCheck() error {
	shared.mu.Lock()
	c := shared.c
	shared.mu.Unlock()
	if c == nil {
		return CloseShared()
	}
	var pids []int
	for _, a := range c.agents() {
		pids = append(pids, a.pid())
	}
	if err := CloseShared(); err != nil {
		return err
	}
	var errs []error
	for _, pid := range pids {
		if pid != 0 && syscall.Kill(pid, 0) == nil {
			errs = append(errs, fmt.Errorf("agent pid %d still running", pid))
		}
	}
	if left := leftoverPids(c.Dir()); len(left) > 0 {
		errs = append(errs, fmt.Errorf("processes of the run still running: %v", left))
	}
	if mounts, err := mountsUnder("/proc/self/mountinfo", c.Dir()); err != nil || len(mounts) > 0 {
		errs = append(errs, fmt.Errorf("mounts left under the run dir: %v %v", mounts, err))
	}
	for _, cl := range c.classes {
		if left, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", c.cgroupParent(cl.Name))); len(left) > 0 {
			errs = append(errs, fmt.Errorf("cgroups left: %v", left))
		}
	}
	if _, err := os.Stat(c.Dir()); !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("run dir %s still there (%v)", c.Dir(), err))
	}
	return errors.Join(errs...)
}

// testTimeout bounds each wait for a job in these tests.
const testTimeout = 60 * time.Second

func TestNodesHaveTheirClasses(t *testing.T) {
	c := Shared(t)
	stubs, _, err := c.Client().Nodes().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, cl := range DefaultClasses() {
		want[cl.Name] = true
	}
	if len(stubs) != len(want) {
		t.Fatalf("%d nodes, want %d", len(stubs), len(want))
	}
	for _, s := range stubs {
		if !want[s.NodeClass] || s.Status != api.NodeStatusReady || s.NodePool != "default" {
			t.Errorf("node %s: class %q, status %q, pool %q", s.Name, s.NodeClass, s.Status, s.NodePool)
		}
		if c.Nodes()[s.NodeClass] != s.ID {
			t.Errorf("Nodes()[%q] = %q, want %q", s.NodeClass, c.Nodes()[s.NodeClass], s.ID)
		}
		if c.ShardDriver() && !driverHealthy(s, ShardDriver) {
			t.Errorf("node %s: shard driver %+v, want detected and healthy", s.Name, s.Drivers[ShardDriver])
		}
	}
}

// Every client loads the shard driver with its own channel port and the
// cluster's secret; the plugin link sits next to fakegpu on the GPU node.
func TestShardDriverOnEveryClient(t *testing.T) {
	c := Shared(t)
	if !c.ShardDriver() {
		t.Skip("the shard driver plugin is not built (make driver)")
	}
	ports := map[string]bool{}
	for _, cl := range c.Classes() {
		addr := c.ChannelAddr(cl.Name)
		if addr == "" || ports[addr] {
			t.Errorf("class %s: channel address %q (empty or shared)", cl.Name, addr)
		}
		ports[addr] = true
		cfg, err := os.ReadFile(c.dir.config(cl.Name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(cfg), fmt.Sprintf("channel_secret    = %q", c.ChannelSecret())) ||
			!strings.Contains(string(cfg), "port              = "+strings.TrimPrefix(addr, "127.0.0.1:")) {
			t.Errorf("class %s: agent config lacks the channel secret or port:\n%s", cl.Name, cfg)
		}
		links, _ := filepath.Glob(filepath.Join(c.dir.plugins(cl.Name), "*"))
		want := 1
		if cl.GPUs > 0 {
			want = 2
		}
		if len(links) != want {
			t.Errorf("class %s: plugin dir holds %v, want %d plugins", cl.Name, links, want)
		}
	}
	if len(c.ChannelSecret()) != 64 {
		t.Errorf("channel secret %q, want 32 random bytes in hex", c.ChannelSecret())
	}
}

func TestGPUNodeReportsFakeGPUs(t *testing.T) {
	c := Shared(t)
	node, _, err := c.Client().Nodes().Info(c.Nodes()["gpu-accelerated"], nil)
	if err != nil {
		t.Fatal(err)
	}
	var gpus *api.NodeDeviceResource
	for _, g := range node.NodeResources.Devices {
		if g.Vendor == "nvidia" && g.Type == "gpu" {
			gpus = g
		}
	}
	if gpus == nil {
		t.Fatalf("no nvidia/gpu device group on %s: %+v", node.Name, node.NodeResources.Devices)
	}
	mem := gpus.Attributes["memory"]
	if len(gpus.Instances) != 2 || mem == nil || mem.IntVal == nil || *mem.IntVal < 40*1024 || mem.Unit != "MiB" {
		t.Fatalf("nvidia/gpu group: %d instances, memory %v", len(gpus.Instances), mem)
	}
	if gpus.Attributes["driver_version"] == nil {
		t.Error("no driver_version attribute")
	}
}

func TestRawExecRunsOnEveryClass(t *testing.T) {
	c := Shared(t)
	jobs := map[string]string{} // class -> job ID
	for _, cl := range c.Classes() {
		job := shellJob("raw-"+cl.Name, cl.Name, "echo hello from $NOMAD_ALLOC_ID")
		register(t, c, job)
		jobs[cl.Name] = *job.ID
	}
	for class, id := range jobs {
		alloc := waitAlloc(t, c, id, api.AllocClientStatusComplete)
		if alloc.NodeID != c.Nodes()[class] {
			t.Errorf("job %s ran on node %s, want %s (%s)", id, alloc.NodeID, c.Nodes()[class], class)
		}
	}
}

func TestGPUJobGetsADevice(t *testing.T) {
	c := Shared(t)
	job := shellJob("gpu", "", `echo "$NVIDIA_VISIBLE_DEVICES"`)
	job.TaskGroups[0].Tasks[0].Resources.Devices = []*api.RequestedDevice{gpuRequest("40 GiB")}
	register(t, c, job)
	alloc := waitAlloc(t, c, *job.ID, api.AllocClientStatusComplete)
	if alloc.NodeID != c.Nodes()["gpu-accelerated"] {
		t.Fatalf("GPU job placed on %s, want the gpu-accelerated node %s", alloc.NodeID, c.Nodes()["gpu-accelerated"])
	}
	devs := alloc.AllocatedResources.Tasks["t"].Devices
	if len(devs) != 1 || len(devs[0].DeviceIDs) != 1 || devs[0].Vendor != "nvidia" || devs[0].Type != "gpu" {
		t.Fatalf("allocated devices = %+v, want one nvidia/gpu", devs)
	}
	out := taskStdout(t, c, alloc)
	if strings.TrimSpace(out) != devs[0].DeviceIDs[0] {
		t.Errorf("task saw NVIDIA_VISIBLE_DEVICES=%q, want %q", strings.TrimSpace(out), devs[0].DeviceIDs[0])
	}
}

func TestGPUJobNeedingMoreMemoryIsNotPlaced(t *testing.T) {
	c := Shared(t)
	job := shellJob("gpu-too-big", "", "true")
	job.TaskGroups[0].Tasks[0].Resources.Devices = []*api.RequestedDevice{gpuRequest("160 GiB")}
	resp, _, err := c.Client().Jobs().Register(job, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deregister(c, *job.ID) })
	eval := waitEval(t, c, resp.EvalID)
	if len(eval.FailedTGAllocs) == 0 {
		t.Fatalf("evaluation %s placed a job asking for a 160 GiB GPU", eval.ID)
	}
}

func TestClientRestartKeepsNode(t *testing.T) {
	c := Shared(t)
	const class = "io-bound"
	before := c.Nodes()[class]
	if err := c.StopClient(class); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.StartClient(ctx, class); err != nil {
		t.Fatal(err)
	}
	if after := c.Nodes()[class]; after != before {
		t.Fatalf("node ID changed across restart: %s -> %s", before, after)
	}
}

// TestLongTaskRuns leaves a task running on purpose: TestMain checks that
// Close kills it (raw_exec tasks outlive their client).
func TestLongTaskRuns(t *testing.T) {
	c := Shared(t)
	job := shellJob("long", "low-latency", "sleep 600")
	if _, _, err := c.Client().Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	waitAlloc(t, c, *job.ID, api.AllocClientStatusRunning)
}

// shellJob is a batch job running sh -c script with raw_exec, constrained
// to class unless class is empty.
func shellJob(id, class, script string) *api.Job {
	job := api.NewBatchJob(id, id, "global", 50)
	job.Datacenters = []string{"dc1"}
	task := api.NewTask("t", "raw_exec").
		SetConfig("command", "/bin/sh").
		SetConfig("args", []string{"-c", script}).
		Require(&api.Resources{CPU: ptr(100), MemoryMB: ptr(32)})
	tg := api.NewTaskGroup("g", 1).AddTask(task)
	tg.RestartPolicy = &api.RestartPolicy{Attempts: ptr(0), Mode: ptr("fail")}
	tg.ReschedulePolicy = &api.ReschedulePolicy{Attempts: ptr(0), Unlimited: ptr(false)}
	if class != "" {
		tg.Constrain(api.NewConstraint("${node.class}", "=", class))
	}
	return job.AddTaskGroup(tg)
}

// gpuRequest asks for one nvidia/gpu with at least minMemory.
func gpuRequest(minMemory string) *api.RequestedDevice {
	return &api.RequestedDevice{
		Name:        "nvidia/gpu",
		Count:       ptr(uint64(1)),
		Constraints: []*api.Constraint{api.NewConstraint("${device.attr.memory}", ">=", minMemory)},
	}
}

func ptr[T any](v T) *T { return &v }

func register(t *testing.T, c *Cluster, job *api.Job) {
	t.Helper()
	if _, _, err := c.Client().Jobs().Register(job, nil); err != nil {
		t.Fatalf("register %s: %v", *job.ID, err)
	}
	t.Cleanup(func() { deregister(c, *job.ID) })
}

func deregister(c *Cluster, id string) {
	_, _, _ = c.Client().Jobs().Deregister(id, true, nil) // best effort: the cluster goes at the end
}

// waitAlloc polls the job's allocations until one reaches status; a failed
// or lost allocation fails the test at once, with its task events.
func waitAlloc(t *testing.T, c *Cluster, jobID, status string) *api.Allocation {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		stubs, _, err := c.Client().Jobs().Allocations(jobID, true, nil)
		if err != nil {
			t.Fatalf("allocations of %s: %v", jobID, err)
		}
		for _, s := range stubs {
			switch s.ClientStatus {
			case status:
				alloc, _, err := c.Client().Allocations().Info(s.ID, nil)
				if err != nil {
					t.Fatalf("allocation %s: %v", s.ID, err)
				}
				return alloc
			case api.AllocClientStatusFailed, api.AllocClientStatusLost:
				t.Fatalf("allocation %s of %s is %s: %s", s.ID, jobID, s.ClientStatus, taskEvents(s))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: no allocation %s after %s (%d allocations)", jobID, status, testTimeout, len(stubs))
		}
		time.Sleep(pollEvery)
	}
}

func taskEvents(s *api.AllocationListStub) string {
	var out []string
	for task, st := range s.TaskStates {
		for _, e := range st.Events {
			out = append(out, fmt.Sprintf("%s: %s %s", task, e.Type, e.DisplayMessage))
		}
	}
	return strings.Join(out, "; ")
}

// waitEval polls an evaluation until it is complete or blocked.
func waitEval(t *testing.T, c *Cluster, id string) *api.Evaluation {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		eval, _, err := c.Client().Evaluations().Info(id, nil)
		if err != nil {
			t.Fatalf("evaluation %s: %v", id, err)
		}
		if eval.Status == api.EvalStatusComplete || eval.Status == api.EvalStatusBlocked {
			return eval
		}
		if time.Now().After(deadline) {
			t.Fatalf("evaluation %s still %s after %s", id, eval.Status, testTimeout)
		}
		time.Sleep(pollEvery)
	}
}

// taskStdout returns the first stdout log file of task "t".
func taskStdout(t *testing.T, c *Cluster, alloc *api.Allocation) string {
	t.Helper()
	r, err := c.Client().AllocFS().Cat(alloc, "alloc/logs/t.stdout.0", nil)
	if err != nil {
		t.Fatalf("read stdout of %s: %v", alloc.ID, err)
	}
	defer r.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}
